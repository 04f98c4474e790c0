"""The configuration file (``BRIDGE_CONFIG``, see ``bridge.example.toml``), read once per process.

:class:`ConfigSource` reads the file and parses its TOML once, with one line locator; one
parser per section (:mod:`bridge.config.accounts`, :mod:`~bridge.config.marks`,
:mod:`~bridge.config.automation`, :mod:`~bridge.config.crm`) appends every problem as
``file:line: …``; :class:`ConfigError` is the one error type. :meth:`bridge.settings.Settings.from_env`
is the one caller in production: it resolves the accounts (the ``[[accounts]]`` section needs
the environment for their secrets), then builds the :class:`BridgeConfig` of the other
sections against them, so a web or worker process with a broken file stops at start-up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from bridge.config.automation import parse_automation
from bridge.config.automation_model import AutomationConfig
from bridge.config.crm import parse_crm
from bridge.config.marks import parse_marks
from bridge.config.source import ConfigError, ConfigSource
from bridge.friends.config import CrmConfig
from bridge.triage.marks import MarkSet, default_marks

__all__ = ["BridgeConfig", "ConfigError", "ConfigSource", "parse_config", "read_config"]


@dataclass(frozen=True)
class BridgeConfig:
    """The sections of the configuration file besides ``[[accounts]]`` (those are in ``Settings.accounts``).

    The defaults are a deployment without a file: the built-in marks, no automation (always
    open, the default SLA), no 友だち情報 fields, 定型文 or admins.
    """

    path: str | None = None
    marks: MarkSet = field(default_factory=default_marks)
    automation: AutomationConfig = field(default_factory=AutomationConfig)
    crm: CrmConfig = field(default_factory=CrmConfig)

    @classmethod
    def of(cls, src: ConfigSource, accounts: Iterable[str], problems: list[str]) -> "BridgeConfig":
        """The sections of ``src`` for the deployment's account keys; problems are appended to ``problems``."""
        keys = list(accounts)
        before = len(problems)
        marks = parse_marks(src, problems)
        automation = parse_automation(src, keys, marks, problems)
        crm = parse_crm(src, keys, problems)
        if len(problems) > before or marks is None:
            return cls(src.name or None)  # never used: the caller raises
        return cls(src.name or None, marks, automation, crm)


def parse_config(text: str, source: str = "<config>", accounts: Iterable[str] = ("default",)) -> BridgeConfig:
    """The :class:`BridgeConfig` of a TOML text whose deployment serves ``accounts`` (keys), e.g. in tests
    and tools; raises :class:`ConfigError` listing every problem as ``source:line: …``."""
    return _checked(ConfigSource.parse(text, source), accounts)


def read_config(path: str, accounts: Iterable[str] = ("default",)) -> BridgeConfig:
    """Like :func:`parse_config` for the file at ``path``."""
    return _checked(ConfigSource.read(path), accounts)


def _checked(src: ConfigSource, accounts: Iterable[str]) -> BridgeConfig:
    problems: list[str] = []
    config = BridgeConfig.of(src, accounts, problems)
    if problems:
        raise ConfigError(problems)
    return config
