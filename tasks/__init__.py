"""The insurance domain: records and the service-task handlers the diagrams call."""

from __future__ import annotations

from engine.registry import HandlerRegistry


def register_handlers(registry: HandlerRegistry) -> None:
    """Add InsureFlow's insurance handlers to the registry (filled by the processes work)."""
