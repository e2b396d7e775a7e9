"""Fixture for the load tier: the app synthesized once into a private folder."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
