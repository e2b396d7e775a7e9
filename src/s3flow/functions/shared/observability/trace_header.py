"""The X-Ray trace header (``Root=1-...;Parent=<16 hex>;Sampled=1``), read in one place.

Lambda sets it in ``_X_AMZN_TRACE_ID`` for each invocation; records keep it in
``xrayTraceId`` and events carry it as ``TraceHeader``:
https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
"""

from __future__ import annotations

from dataclasses import dataclass


def trace_root(header: str | None) -> str | None:
    """The trace id (``1-...``) of a header, or of a bare id; None when there is none."""
    for part in (header or "").split(";"):
        name, _, value = part.partition("=")
        if name.strip() == "Root" and value.strip():
            return value.strip()
    bare = (header or "").strip()
    return bare if bare.startswith("1-") and "=" not in bare else None


@dataclass(frozen=True)
class TraceHeader:
    root: str
    parent: str | None
    sampled: bool

    @classmethod
    def parse(cls, value: str | None) -> TraceHeader | None:
        if not value:
            return None
        fields = dict(part.split("=", 1) for part in value.split(";") if "=" in part)
        root = fields.get("Root", "")
        pieces = root.split("-")
        if len(pieces) != 3 or pieces[0] != "1" or len(pieces[1]) != 8 or len(pieces[2]) != 24:
            return None
        try:
            int(pieces[1] + pieces[2], 16)
            parent = fields.get("Parent")
            if parent is not None:
                int(parent, 16)
        except ValueError:
            return None
        if parent is not None and len(parent) != 16:
            return None
        return cls(root=root, parent=parent, sampled=fields.get("Sampled") == "1")

    @property
    def trace_id(self) -> int:
        _, epoch, unique = self.root.split("-")
        return int(epoch + unique, 16)
