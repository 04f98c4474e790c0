"""The configuration file as read once: its text, its TOML data, one line locator, one error type.

tomllib does not report where a valid value is, so :class:`Locator` scans the raw text for
section headers and ``key =`` lines; good enough for error messages (it understands the
usual one-key-per-line layout). Every problem names ``file:line``.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """The configuration (environment or file) is invalid; ``errors`` lists every problem.

    Problems found in the file read ``file:line: what is wrong``.
    """

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(self.errors))

    @property
    def problems(self) -> list[str]:
        return self.errors


class Locator:
    """Line numbers of the section headers, ``[[array]]`` entries and keys of a TOML text.

    Sections are named as written, without quotes or spaces (``hours.shibuya``); the i-th
    entry of an array of tables ``[[name]]`` is the section ``name#i``; keys before any header
    belong to the section ``""``.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
    _ASSIGN = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_+\-]+)\s*=")

    def __init__(self, text: str):
        self.headers: dict[str, int] = {}
        self.keys: dict[tuple[str, str], int] = {}
        self.arrays: dict[str, list[int]] = {}
        section = ""
        for lineno, line in enumerate(text.splitlines(), start=1):
            h = self._HEADER.match(line)
            if h:
                section = h.group(2).replace('"', "").replace("'", "").replace(" ", "")
                if h.group(1) == "[[":
                    starts = self.arrays.setdefault(section, [])
                    starts.append(lineno)
                    section = f"{section}#{len(starts) - 1}"
                self.headers.setdefault(section, lineno)
                continue
            a = self._ASSIGN.match(line)
            if a:
                self.keys.setdefault((section, a.group(1).strip("\"'")), lineno)

    def line(self, section: str, key: str | None = None) -> int | None:
        """The line of ``key`` in ``section``, else of the section's header (None: not found)."""
        if key is not None and (section, key) in self.keys:
            return self.keys[(section, key)]
        return self.headers.get(section)

    def entry(self, array: str, index: int, key: str | None = None) -> int | None:
        """The line of ``key`` in the ``index``-th ``[[array]]`` entry, else of its header."""
        return self.line(f"{array}#{index}", key)


@dataclass(frozen=True)
class ConfigSource:
    """One configuration file: ``name`` (its path, shown in errors), its TOML ``data`` and a :class:`Locator`."""

    name: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    lines: Locator = field(default_factory=lambda: Locator(""))

    @classmethod
    def parse(cls, text: str, name: str = "<config>") -> "ConfigSource":
        """Raises :class:`ConfigError` when ``text`` is not valid TOML (naming the line)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{name}: not valid TOML: {exc}"]) from None
        return cls(name, data, Locator(text))

    @classmethod
    def read(cls, path: str) -> "ConfigSource":
        """The file at ``path`` (UTF-8, a BOM allowed); :class:`ConfigError` when unreadable or not TOML."""
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise ConfigError([f"BRIDGE_CONFIG: {path} cannot be read ({exc.strerror or exc})"]) from None
        return cls.parse(raw.decode("utf-8-sig", errors="replace"), path)

    def at(self, line: int | None, unknown: str = "") -> str:
        """``file:line`` for an error message (``file`` alone, or ``file:?``, without a line)."""
        if line:
            return f"{self.name}:{line}"
        return f"{self.name}:{unknown}" if unknown else self.name
