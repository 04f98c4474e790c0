"""The media archive (bridge.archive.media): content-addressed, deduplicated, local dir and S3 over HTTP."""
from __future__ import annotations

import io
import os

import pytest

from bridge.archive.media import MediaArchive
from bridge.settings import Settings, SettingsError
from tests.conftest import run_log
from tests.s3server import CREDENTIALS, MotoServer


@pytest.fixture(scope="module")
def s3(request):
    """A bucket on moto's standalone server; the AWS credentials botocore reads while the module runs."""
    server = MotoServer(str(run_log("moto.log")))
    saved = {k: os.environ.get(k) for k in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    import boto3

    boto3.client("s3", endpoint_url=server.url, region_name="us-east-1").create_bucket(Bucket="lsb-archive")
    yield server
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


def _archives(tmp_path, s3=None):
    yield MediaArchive(str(tmp_path / "local"))
    if s3 is not None:
        yield MediaArchive("s3://lsb-archive/media", spool_dir=str(tmp_path / "spool"),
                           storage_options={"client_kwargs": {"endpoint_url": s3.url}})


def _round_trip(archive: MediaArchive) -> None:
    photo = os.urandom(2_500_000)   # larger than one read chunk
    ref = archive.put(io.BytesIO(photo), "image/jpeg", "receipt.jpg")
    assert ref["type"] == "image/jpeg" and ref["size"] == len(photo) and ref["name"] == "receipt.jpg"
    again = archive.put(photo, "image/jpeg")
    assert again["sha256"] == ref["sha256"]
    assert list(archive.walk()) == [ref["sha256"]]          # stored once
    with archive.open(ref["sha256"]) as f:
        assert f.read() == photo
    assert archive.size(ref["sha256"]) == len(photo)
    assert archive.delete(ref["sha256"]) and not archive.exists(ref["sha256"])
    assert list(archive.walk()) == []


def test_local_directory_stores_each_content_once(tmp_path):
    _round_trip(MediaArchive(str(tmp_path / "archive")))
    assert MediaArchive(str(tmp_path / "archive")).check() == ""


def test_s3_over_http_stores_each_content_once(tmp_path, s3):
    _round_trip(next(a for a in _archives(tmp_path, s3) if not a.local))


def test_spooled_media_wait_for_a_failing_store_and_catch_up(tmp_path, s3):
    archive = MediaArchive("s3://lsb-archive-missing/media", spool_dir=str(tmp_path / "spool"),
                           storage_options={"client_kwargs": {"endpoint_url": s3.url}})
    ref = archive.spool(b"voice message", "audio/m4a")
    result = archive.flush()
    assert result.moved == 0 and result.pending == 1 and result.error     # the bucket does not exist
    import boto3

    boto3.client("s3", endpoint_url=s3.url, region_name="us-east-1").create_bucket(Bucket="lsb-archive-missing")
    result = archive.flush()
    assert (result.moved, result.pending, result.error) == (1, 0, "")
    with archive.open(ref["sha256"]) as f:
        assert f.read() == b"voice message"


def test_archive_settings_are_checked_at_start(bridge_env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**bridge_env, "BRIDGE_ARCHIVE_DIR": str(blocker)})
    assert "BRIDGE_ARCHIVE_DIR" in str(err.value.problems)
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**bridge_env, "BRIDGE_ARCHIVE_URL": "nosuch://bucket/x"})
    assert "BRIDGE_ARCHIVE_URL" in str(err.value.problems)
    ok = Settings.from_env({**bridge_env, "BRIDGE_ARCHIVE_URL": "s3://bucket/prefix",
                            "BRIDGE_ARCHIVE_ENDPOINT": "http://127.0.0.1:9000"})
    assert MediaArchive.from_settings(ok).url == "s3://bucket/prefix"
