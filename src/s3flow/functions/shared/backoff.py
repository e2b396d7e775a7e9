"""Bounded exponential backoff with full jitter for our own retry loops."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """``attempts`` tries in all; between them sleep a random time up to base * 2**n, capped."""

    attempts: int = 4
    base_seconds: float = 0.05
    cap_seconds: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random

    def pause(self, retry_number: int) -> None:
        """Sleep before retry ``retry_number`` (0 for the first retry)."""
        ceiling = min(self.cap_seconds, self.base_seconds * (2**retry_number))
        self.sleep(ceiling * self.rng())
