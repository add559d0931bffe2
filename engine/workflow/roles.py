"""The diagram convention that ties lanes to roles."""

from __future__ import annotations


def lane_role(lane: str | None) -> str | None:
    """Lane "Claims clerk" → role `claims_clerk`; no lane → None."""
    if not lane or not lane.strip():
        return None
    return "_".join(lane.strip().lower().split())


def separate_from_ids(value: str | None) -> list[str]:
    """The task ids a `separateFrom` property names: one, or several separated by commas or spaces."""
    return [part for part in (value or "").replace(",", " ").split() if part]
