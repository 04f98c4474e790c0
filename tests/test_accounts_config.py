"""Start-up validation of the LINE accounts: every problem is named, with its file and line."""
from __future__ import annotations

import pytest

from bridge.settings import Settings, SettingsError

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "REDIS_URL": "redis://localhost:6379/0",
        "PUBLIC_BASE_URL": "https://bridge.example.jp"}
SINGLE = {"LINE_CHANNEL_SECRET": "sec", "LINE_CHANNEL_ACCESS_TOKEN": "tok", "SLACK_TRIAGE_CHANNEL": "C0TRIAGE"}


def write(tmp_path, text: str) -> str:
    path = tmp_path / "bridge.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems(env) -> list[str]:
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    return err.value.problems


def test_the_single_account_variables_define_the_default_account_as_before():
    settings = Settings.from_env({**BASE, **SINGLE})
    (account,) = settings.accounts
    assert (account.key, account.channel, account.secret, account.token, account.reply_token) == (
        "default", "C0TRIAGE", "sec", "tok", "bridge")
    assert "LINE_CHANNEL_SECRET is not set" in problems({**BASE})
    assert any("channel ID" in p for p in problems({**BASE, **SINGLE, "SLACK_TRIAGE_CHANNEL": "#triage"}))


def test_accounts_from_the_config_file_read_their_secrets_from_named_variables(tmp_path):
    config = write(tmp_path, """
[[accounts]]
key = "shibuya"
name = "渋谷店"
channel = "C0SHIBUYA"
secret_env = "SHIBUYA_SECRET"
token_env = "SHIBUYA_TOKEN"
forward = ["https://lstep.example/hook"]
reply_token = "other"
""")
    settings = Settings.from_env({**BASE, **SINGLE, "BRIDGE_CONFIG": config,
                                  "SHIBUYA_SECRET": "s2", "SHIBUYA_TOKEN": "t2"})
    assert [a.key for a in settings.accounts] == ["default", "shibuya"]
    shibuya = settings.account_set.require("shibuya")
    assert (shibuya.secret, shibuya.token, shibuya.forward, shibuya.uses_reply_tokens) == (
        "s2", "t2", ("https://lstep.example/hook",), False)
    assert "s2" not in repr(shibuya) and "t2" not in repr(shibuya)   # secrets never printed
    # Without the single-account variables the file alone defines the deployment.
    only = Settings.from_env({**BASE, "BRIDGE_CONFIG": config, "SHIBUYA_SECRET": "s2", "SHIBUYA_TOKEN": "t2"})
    assert [a.key for a in only.accounts] == ["shibuya"]


def test_every_account_problem_is_named_with_its_line(tmp_path):
    config = write(tmp_path, """
[[accounts]]
key = "Bad-Key"
channel = "triage"
secret_env = "MISSING_SECRET"
token_env = ""
reply_token = "sometimes"
forward = ["ftp://x"]

[[accounts]]
key = "twin"
channel = "C0TWIN"
secret_env = "SAME_SECRET"
token_env = "TWIN_TOKEN"

[[accounts]]
key = "twin"
channel = "C0TWIN"
secret_env = "OTHER_SECRET"
token_env = "TWIN_TOKEN2"

[[accounts]]
key = "copy"
channel = "C0COPY"
secret_env = "SAME_SECRET"
token_env = "COPY_TOKEN"
""")
    found = problems({**BASE, "BRIDGE_CONFIG": config, "SAME_SECRET": "x", "OTHER_SECRET": "y", "TWIN_TOKEN": "a",
                      "TWIN_TOKEN2": "b", "COPY_TOKEN": "c"})
    text = "\n".join(found)
    assert f"{config}:2: key must be" in text
    assert f"{config}:2: channel must be a Slack channel ID" in text
    assert "MISSING_SECRET (account 'Bad-Key') is not set" in text
    assert "token_env must name the environment variable" in text
    assert 'reply_token must be "bridge" or "other"' in text
    assert "forward URL must start with https://" in text
    assert "account 'twin' is defined twice" in text
    assert "same channel secret: they are the same LINE bot" in text
