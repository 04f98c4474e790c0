"""Print the Slack app manifest with this deployment's PUBLIC_BASE_URL filled in.

``PUBLIC_BASE_URL=https://bridge.example.jp python -m bridge.manifest > manifest.yml``
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[1] / "slack-app-manifest.yml"
PLACEHOLDER = "https://bridge.example.com"


def render(public_base_url: str) -> str:
    return MANIFEST.read_text(encoding="utf-8").replace(PLACEHOLDER, public_base_url.rstrip("/"))


def main() -> int:
    base = os.environ.get("PUBLIC_BASE_URL", "").strip()
    if not base.startswith(("https://", "http://")):
        print("PUBLIC_BASE_URL must be set to the bridge's public https URL", file=sys.stderr)
        return 2
    sys.stdout.write(render(base))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
