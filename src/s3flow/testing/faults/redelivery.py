"""Duplicate, out-of-order deliveries of what S3 already delivered, for a test to invoke."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class Redelivery:
    """Duplicate, out-of-order deliveries of the records S3 already delivered.

    ``rounds(records)``: ``copies`` rounds; each holds every record once, in a seeded
    shuffled order, packed ``per_event`` records to a Lambda event. Rounds may be delivered
    one at a time or all at once (copies of a record then run side by side).
    """

    seed: int
    copies: int = 2
    per_event: int = 3
    name: str = "redelivery"
    injected: int = 0
    cleared: bool = False

    def rounds(self, records: Iterable[Mapping[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        pool = [dict(record) for record in records]
        rng = random.Random(f"{self.seed}|{self.name}")
        for _ in range(self.copies):
            if self.cleared:
                return
            order = pool[:]
            rng.shuffle(order)
            self.injected += len(order)
            yield [
                {"Records": order[start : start + self.per_event]}
                for start in range(0, len(order), self.per_event)
            ]

    def clear(self) -> None:
        self.cleared = True
