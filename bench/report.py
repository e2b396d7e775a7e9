"""Tables printed to the terminal and written as Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # Markdown paragraphs under the table

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def text(self) -> str:
        widths = [
            max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
            for i, h in enumerate(self.headers)
        ]
        lines = [self.title, "  ".join(h.ljust(w) for h, w in zip(self.headers, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in self.rows]
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [f"| {' | '.join(self.headers)} |", f"|{'|'.join(' --- ' for _ in self.headers)}|"]
        lines += [f"| {' | '.join(c.replace('|', '/') for c in r)} |" for r in self.rows]
        return "\n".join(lines)


def ms(value: float) -> str:
    return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


def x(value: float) -> str:
    return f"{value:.2f}x"


def mb(value: float) -> str:
    return f"{value:,.1f} MB"


def usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:,.4f}"
