"""Block Kit validation (https://docs.slack.dev/reference/block-kit/blocks) and view payloads."""
from __future__ import annotations

from typing import Any

_BLOCK_TYPES = {
    "actions", "context", "divider", "file", "header", "image", "input", "markdown", "rich_text",
    "section", "video", "table", "context_actions", "call",
}
_ELEMENT_TYPES = {
    "button", "checkboxes", "datepicker", "datetimepicker", "email_text_input", "image",
    "multi_static_select", "multi_external_select", "multi_users_select", "multi_conversations_select",
    "multi_channels_select", "number_input", "overflow", "plain_text_input", "radio_buttons",
    "rich_text_input", "static_select", "external_select", "users_select", "conversations_select",
    "channels_select", "timepicker", "url_text_input", "file_input", "workflow_button",
}



# --------------------------------------------------------------------------------------------
# Block Kit validation (https://docs.slack.dev/reference/block-kit/blocks)
# --------------------------------------------------------------------------------------------
def _check_text_obj(obj: Any, ptr: str, errs: list[str], *, plain_only: bool = False,
                    max_len: int = 3000) -> None:
    if not isinstance(obj, dict):
        errs.append(f"must be an object [json-pointer:{ptr}]")
        return
    ttype = obj.get("type")
    if ttype not in ("plain_text", "mrkdwn"):
        errs.append(f"must be one of plain_text, mrkdwn [json-pointer:{ptr}/type]")
        return
    if plain_only and ttype != "plain_text":
        errs.append(f"must be plain_text [json-pointer:{ptr}/type]")
    text = obj.get("text")
    if not isinstance(text, str):
        errs.append(f"must be a string [json-pointer:{ptr}/text]")
    elif len(text) == 0:
        errs.append(f"must be more than 0 characters [json-pointer:{ptr}/text]")
    elif len(text) > max_len:
        errs.append(f"must be less than {max_len + 1} characters [json-pointer:{ptr}/text]")
    if ttype == "mrkdwn" and "emoji" in obj:
        # Only plain_text objects accept "emoji".
        errs.append(f"invalid additional property: emoji [json-pointer:{ptr}]")


def _check_element(el: Any, ptr: str, errs: list[str], action_ids: set[str]) -> None:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        errs.append(f"must provide an object with a type [json-pointer:{ptr}]")
        return
    etype = el["type"]
    if etype not in _ELEMENT_TYPES:
        errs.append(f"unsupported type: {etype} [json-pointer:{ptr}/type]")
        return
    aid = el.get("action_id")
    if aid is not None:
        if not isinstance(aid, str) or not aid or len(aid) > 255:
            errs.append(f"must be 1-255 characters [json-pointer:{ptr}/action_id]")
        elif aid in action_ids:
            errs.append(f"action_id must be unique [json-pointer:{ptr}/action_id]")
        else:
            action_ids.add(aid)
    if etype == "button":
        _check_text_obj(el.get("text"), f"{ptr}/text", errs, plain_only=True, max_len=75)
        if "value" in el and (not isinstance(el["value"], str) or len(el["value"]) > 2000):
            errs.append(f"must be a string of at most 2000 characters [json-pointer:{ptr}/value]")
        if "style" in el and el["style"] not in ("primary", "danger"):
            errs.append(f"must be one of primary, danger [json-pointer:{ptr}/style]")
    elif etype == "file_input":
        # https://docs.slack.dev/reference/block-kit/block-elements/file-input-element/
        filetypes = el.get("filetypes")
        if filetypes is not None and (not isinstance(filetypes, list)
                                      or not all(isinstance(f, str) and f for f in filetypes)):
            errs.append(f"must be an array of file extensions [json-pointer:{ptr}/filetypes]")
        max_files = el.get("max_files")
        if max_files is not None and (not isinstance(max_files, int) or isinstance(max_files, bool)
                                      or not 1 <= max_files <= 10):
            errs.append(f"must be an integer from 1 to 10 [json-pointer:{ptr}/max_files]")
    elif etype == "image":
        if not el.get("image_url") and not el.get("slack_file"):
            errs.append(f"must provide image_url or slack_file [json-pointer:{ptr}]")
        if not isinstance(el.get("alt_text"), str):
            errs.append(f"missing required field: alt_text [json-pointer:{ptr}]")
    elif etype in ("static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"):
        options = el.get("options")
        groups = el.get("option_groups")
        if not isinstance(options, list) and not isinstance(groups, list):
            errs.append(f"missing required field: options [json-pointer:{ptr}]")
        elif isinstance(options, list):
            if not options or len(options) > 100:
                errs.append(f"must provide 1-100 options [json-pointer:{ptr}/options]")
            for i, opt in enumerate(options):
                if not isinstance(opt, dict) or "value" not in opt:
                    errs.append(f"missing required field: value [json-pointer:{ptr}/options/{i}]")
                else:
                    _check_text_obj(opt.get("text"), f"{ptr}/options/{i}/text", errs, max_len=75)


def _check_slack_file(obj: Any, ptr: str, errs: list[str]) -> None:
    """An image's ``slack_file``: {"id": "F…"} or {"url": "…"} (exactly one)."""
    if obj is None:
        return
    if not isinstance(obj, dict) or len([k for k in ("id", "url") if isinstance(obj.get(k), str) and obj[k]]) != 1:
        errs.append(f"must provide exactly one of id, url [json-pointer:{ptr}]")


def _not_input_only(el: Any, ptr: str, errs: list[str]) -> None:
    # "The file input element must be used inside the input block"
    if isinstance(el, dict) and el.get("type") == "file_input":
        errs.append(f"file_input is only allowed in input blocks [json-pointer:{ptr}/type]")


def _validate_blocks(blocks: Any, *, max_blocks: int = 50, ptr: str = "/blocks") -> list[str]:
    """Return Slack-style error strings for a ``blocks`` array (empty list when valid)."""
    errs: list[str] = []
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{ptr}]"]
    if len(blocks) > max_blocks:
        errs.append(f"no more than {max_blocks} items allowed [json-pointer:{ptr}]")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        bp = f"{ptr}/{i}"
        if not isinstance(block, dict):
            errs.append(f"must be an object [json-pointer:{bp}]")
            continue
        btype = block.get("type")
        if btype not in _BLOCK_TYPES:
            errs.append(f"unsupported type: {btype} [json-pointer:{bp}/type]")
            continue
        bid = block.get("block_id")
        if bid is not None:
            if not isinstance(bid, str) or not bid or len(bid) > 255:
                errs.append(f"must be 1-255 characters [json-pointer:{bp}/block_id]")
            elif bid in block_ids:
                errs.append(f"duplicate block_id [json-pointer:{bp}/block_id]")
            else:
                block_ids.add(bid)
        if btype == "section":
            if "text" not in block and "fields" not in block and "expand" not in block:
                errs.append(f"must provide text or fields [json-pointer:{bp}]")
            if "text" in block:
                _check_text_obj(block["text"], f"{bp}/text", errs, max_len=3000)
            if "fields" in block:
                fields = block["fields"]
                if not isinstance(fields, list) or not fields or len(fields) > 10:
                    errs.append(f"must provide 1-10 fields [json-pointer:{bp}/fields]")
                else:
                    for j, f in enumerate(fields):
                        _check_text_obj(f, f"{bp}/fields/{j}", errs, max_len=2000)
            if "accessory" in block:
                _not_input_only(block["accessory"], f"{bp}/accessory", errs)
                _check_element(block["accessory"], f"{bp}/accessory", errs, action_ids)
        elif btype == "header":
            _check_text_obj(block.get("text"), f"{bp}/text", errs, plain_only=True, max_len=150)
        elif btype == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                errs.append(f"must provide image_url or slack_file [json-pointer:{bp}]")
            _check_slack_file(block.get("slack_file"), f"{bp}/slack_file", errs)
            if not isinstance(block.get("alt_text"), str):
                errs.append(f"missing required field: alt_text [json-pointer:{bp}]")
            elif len(block["alt_text"]) > 2000:
                errs.append(f"must be less than 2001 characters [json-pointer:{bp}/alt_text]")
            if "title" in block:  # https://docs.slack.dev/reference/block-kit/blocks/image-block
                _check_text_obj(block["title"], f"{bp}/title", errs, plain_only=True, max_len=2000)
        elif btype == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > 10:
                errs.append(f"must provide 1-10 elements [json-pointer:{bp}/elements]")
            else:
                for j, el in enumerate(elements):
                    if isinstance(el, dict) and el.get("type") == "image":
                        _check_element(el, f"{bp}/elements/{j}", errs, action_ids)
                    else:
                        _check_text_obj(el, f"{bp}/elements/{j}", errs)
        elif btype == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > 25:
                errs.append(f"must provide 1-25 elements [json-pointer:{bp}/elements]")
            else:
                for j, el in enumerate(elements):
                    _not_input_only(el, f"{bp}/elements/{j}", errs)
                    _check_element(el, f"{bp}/elements/{j}", errs, action_ids)
        elif btype == "input":
            _check_text_obj(block.get("label"), f"{bp}/label", errs, plain_only=True, max_len=2000)
            if "element" not in block:
                errs.append(f"missing required field: element [json-pointer:{bp}]")
            else:
                _check_element(block["element"], f"{bp}/element", errs, action_ids)
        elif btype == "rich_text":
            if not isinstance(block.get("elements"), list):
                errs.append(f"missing required field: elements [json-pointer:{bp}]")
        elif btype == "markdown":
            text = block.get("text")
            if not isinstance(text, str) or not text or len(text) > 12000:
                errs.append(f"must be 1-12000 characters [json-pointer:{bp}/text]")
    return errs


def _validate_view(view: Any, *, home: bool = False) -> list[str]:
    """Validate a view payload (https://docs.slack.dev/reference/views)."""
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errs: list[str] = []
    vtype = view.get("type")
    allowed = ("home",) if home else ("modal",)
    if vtype not in allowed:
        errs.append(f"must be one of {', '.join(allowed)} [json-pointer:/view/type]")
    if vtype == "modal":
        _check_text_obj(view.get("title"), "/view/title", errs, plain_only=True, max_len=24)
        for key in ("submit", "close"):
            if key in view:
                _check_text_obj(view[key], f"/view/{key}", errs, plain_only=True, max_len=24)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and "submit" not in view:
            # "submit" is required when an input block is within the blocks array.
            errs.append("must provide submit when blocks contain input [json-pointer:/view/submit]")
    errs.extend(_validate_blocks(view.get("blocks"), max_blocks=100, ptr="/view/blocks"))
    if len(str(view.get("private_metadata", ""))) > 3000:
        errs.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id", ""))) > 255:
        errs.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    return errs

