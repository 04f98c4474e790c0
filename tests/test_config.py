"""BRIDGE_CONFIG is read once at start-up: every section's problems are named together, each with its
file and line, by whatever starts first (web, worker, doctor)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from bridge.settings import Settings, SettingsError
from tests.conftest import ROOT

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "REDIS_URL": "redis://localhost:6379/0",
        "PUBLIC_BASE_URL": "https://bridge.example.jp", "LINE_CHANNEL_SECRET": "sec",
        "LINE_CHANNEL_ACCESS_TOKEN": "tok", "SLACK_TRIAGE_CHANNEL": "C0TRIAGE"}
SHIBUYA = {"SHIBUYA_SECRET": "s2", "SHIBUYA_TOKEN": "t2"}

BROKEN = """\
[[marks]]
key = "complaint"
ja = "クレーム"
state = "angry"

[hours]
mon = ["18:00-10:00"]

[[canned]]
key = "hours"
text = ""
"""


def write(tmp_path, text: str) -> str:
    path = tmp_path / "bridge.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def problems(env) -> list[str]:
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    return err.value.problems


def test_every_section_s_problems_are_named_at_once_with_their_lines(tmp_path):
    config = write(tmp_path, BROKEN)
    found = "\n".join(problems({**BASE, "BRIDGE_CONFIG": config, "BRIDGE_LANGUAGE": "fr"}))
    assert "BRIDGE_LANGUAGE must be one of ja, en" in found                      # the environment…
    assert f"{config}:4: [[marks]] #1 ('complaint'): unknown state 'angry'" in found  # …and every section of the file
    assert f"{config}:7: [hours] mon: bad range '18:00-10:00'" in found
    assert f"{config}:9: canned reply hours: `text` must be a non-empty string" in found


def test_a_syntax_error_is_named_once_with_its_line(tmp_path):
    config = write(tmp_path, '[[marks]]\nkey = "a"\nja = \n')
    found = problems({**BASE, "BRIDGE_CONFIG": config})
    assert [p for p in found if "not valid TOML" in p] == [p for p in found if p.startswith(config)]
    (syntax,) = [p for p in found if "not valid TOML" in p]
    assert syntax.startswith(f"{config}: not valid TOML") and "line 3" in syntax


def test_sections_name_the_accounts_of_the_file_and_of_the_environment(tmp_path):
    config = write(tmp_path, """\
        [[accounts]]
        key = "shibuya"
        channel = "C0SHIBUYA"
        secret_env = "SHIBUYA_SECRET"
        token_env = "SHIBUYA_TOKEN"

        [hours]
        mon = ["10:00-18:00"]

        [hours.shibuya]
        sat = ["10:00-15:00"]

        [[canned]]
        key = "map"
        text = "渋谷店への地図です"
        accounts = ["shibuya"]
    """)
    settings = Settings.from_env({**BASE, **SHIBUYA, "BRIDGE_CONFIG": config})
    assert [a.key for a in settings.accounts] == ["default", "shibuya"]
    hours = settings.config.automation.of("shibuya").hours
    assert hours.weekly[0] == ((600, 1080),) and hours.weekly[5] == ((600, 900),)   # Monday inherited, Saturday its own
    assert settings.config.automation.of("default").hours.weekly[5] == ()
    assert settings.config.crm.canned_of("shibuya") == {"map": "渋谷店への地図です"}
    assert settings.config.crm.canned_of("default") == {}
    # A section naming an account nobody defines is an error, with its line.
    found = "\n".join(problems({**BASE, "BRIDGE_CONFIG": config}))   # SHIBUYA_* not set: the entry is invalid…
    assert "environment variable SHIBUYA_SECRET (account 'shibuya') is not set" in found
    assert "no account has the key 'shibuya'" not in found              # …so its sections are not blamed for it
    wrong = write(tmp_path, '[hours.umeda]\nmon = ["10:00-18:00"]\n')
    assert f"{wrong}:1: [hours.umeda]: no account has the key 'umeda' (accounts: default)" in problems(
        {**BASE, "BRIDGE_CONFIG": wrong})


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SLACK_", "BRIDGE_", "REDIS_URL"))}
    return {**env, **BASE, "BRIDGE_LANGUAGE": "en", **extra}


def test_the_doctor_and_the_worker_stop_on_a_broken_file_naming_its_lines(tmp_path, redis_url):
    config = write(tmp_path, BROKEN)
    env = clean_env(BRIDGE_CONFIG=config, REDIS_URL=redis_url, PATH=os.path.dirname(sys.executable) + os.pathsep
                    + os.environ.get("PATH", ""))
    doctor = subprocess.run([sys.executable, "-m", "bridge.doctor"], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert doctor.returncode == 2, doctor.stdout + doctor.stderr
    assert doctor.stdout.startswith("✗ configuration error") and f"{config}:7: [hours] mon" in doctor.stdout
    worker = subprocess.run(["rq", "worker", "--worker-class", "bridge.worker.BridgeWorker", "--serializer", "json",
                             "--url", redis_url, "--burst", "lsbconfigtest"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert worker.returncode == 2, worker.stdout + worker.stderr
    assert "worker not started" in worker.stderr and f"{config}:4: [[marks]] #1" in worker.stderr
    assert worker.stderr.count(f"{config}:9: canned reply hours") == 1
