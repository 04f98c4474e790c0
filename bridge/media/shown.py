"""How a friend's uploaded files are shown in Slack: under the friend's name and icon, like their texts.

The files are uploaded without being shared (:meth:`bridge.slack.files.SlackFilesMixin.upload_unshared`),
then ONE message is posted with the friend's name and picture (``username``/``icon_url``, scope
``chat:write.customize``) that shows them:

* images Slack can show in Block Kit (png, jpeg, gif) as ``image`` blocks naming the file
  (``slack_file: {"id": "F…"}``): one image with what LINE says it is as its title, an imageSet
  with a line above its images (how many, or how many of how many arrived);
* anything else (videos, voice messages, files, other image types) by the file's permalink in the
  text: Slack attaches a file whose permalink a message carries.

Slack refuses a ``slack_file`` that is still being processed (``invalid_blocks``): the post is
tried again after 1, 2, 4, 8, 16 s (the relay job is retried, later messages of the chat wait);
after that the images are shown by their permalinks instead. Never a silent gap.
https://docs.slack.dev/reference/block-kit/composition-objects/slack-file-object
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from bridge.model import DeliveryFailed, Profile, RetryLater
from bridge.ports import SlackPort
from bridge.text import mrkdwn

BLOCK_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")  # what a slack_file image may be
MAX_IMAGE_BLOCKS = 49          # Slack allows 50 blocks; one is the imageSet's line
NOT_READY_TRIES = 5            # invalid_blocks answers before the images are shown by permalink
NOT_READY_DELAY = 1.0          # s, doubled each time


@dataclass(frozen=True)
class Shown:
    """Where: the conversation's channel and thread; who: the friend; what: the files and their words."""

    channel: str
    thread_ts: str
    sender: Profile
    file_ids: list[str]
    types: list[str]           # content types, as LINE gave them
    what: str                  # plain text (from the bridge's messages, may name a friend's file)
    caption: bool              # show ``what`` above the images (an imageSet)


def image_blocks(shown: Shown) -> list[dict] | None:
    """Blocks showing every file as an image, or None when one of them cannot be."""
    if not shown.file_ids or len(shown.file_ids) > MAX_IMAGE_BLOCKS \
            or any(t not in BLOCK_IMAGE_TYPES for t in shown.types):
        return None
    alt = shown.what.splitlines()[0][:1900] if shown.what else "image"
    if shown.caption or len(shown.file_ids) > 1:  # an imageSet: its line above the images
        line = mrkdwn.clip(mrkdwn.escape(shown.what)) if shown.what else ""
        blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": line}}] if line else []
        return blocks + [{"type": "image", "slack_file": {"id": fid}, "alt_text": alt} for fid in shown.file_ids]
    # one image: what LINE says it is (🖼️ 画像が送信されました) as its title, plain text
    return [{"type": "image", "slack_file": {"id": shown.file_ids[0]}, "alt_text": alt,
             "title": {"type": "plain_text", "text": alt, "emoji": True}}]


def link_target(url: str) -> str:
    """A URL as the target of a mrkdwn link: a permalink carries the file's name, which came from LINE."""
    return mrkdwn.escape(quote(url, safe=":/?#[]@!$&'()*+,;=%~"))


def post_shown(slack: SlackPort, post_key: str, shown: Shown, not_ready: int) -> str:
    """Post the message showing the files; its ts. ``not_ready``: how often Slack said they were not ready yet.

    :class:`RetryLater` (``not_ready`` to be counted by the caller, see :class:`NotReady`) while Slack
    is still processing images; :class:`DeliveryFailed` for anything else Slack refuses."""
    blocks = image_blocks(shown) if not_ready < NOT_READY_TRIES else None
    text = mrkdwn.escape(shown.what) or " "
    if blocks is None:  # shown by permalink: Slack attaches the files
        links = []
        for fid in shown.file_ids:
            info = slack.file_info(fid)
            links.append(f"<{link_target(str(info['permalink']))}|{mrkdwn.escape(str(info.get('name') or fid))}>")
        text = "\n".join([text, *links])
    try:
        return slack.post_once(post_key, shown.channel, text, blocks=blocks, thread_ts=shown.thread_ts or None,
                               username=shown.sender.display_name, icon_url=shown.sender.picture_url or None)
    except DeliveryFailed as exc:
        if blocks is not None and exc.reason == "invalid_blocks":
            raise NotReady(NOT_READY_DELAY * 2 ** not_ready) from exc
        raise


class NotReady(RetryLater):
    """Slack is still processing an uploaded image (its ``slack_file`` was refused): try again later."""

    def __init__(self, delay: float):
        super().__init__("Slack is still processing the uploaded image", delay=delay, throttled=True)
