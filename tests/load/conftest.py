"""The load tier: ``synthesized`` (the session's cloud assembly) comes from tests/conftest.py;
``load_run`` is imported from this folder (pytest puts it on the path)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
