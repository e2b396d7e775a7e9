"""The capacity model: for a rate of objects per second, which AWS limit binds first, what
raises it, what it costs, and a simulated day with a burst (docs/capacity.md).

``python -m bench capacity --rate N`` runs it alone with the work per object measured by the
last full benchmark; ``python -m bench`` runs it after measuring that work again.
"""

from __future__ import annotations

from bench import paths

CAPACITY_DOC = paths.PROJECT_ROOT / "docs" / "capacity.md"
CAPACITY_PNG = paths.PROJECT_ROOT / "docs" / "capacity-burst.png"
DEFAULT_RATE = 100.0

__all__ = ["CAPACITY_DOC", "CAPACITY_PNG", "DEFAULT_RATE"]
