"""The insurance domain: records and the service-task handlers the diagrams call."""

from __future__ import annotations

from engine.registry import HandlerRegistry

# Record classes kept in modules of their own register on the domain's metadata wherever the records are used
# (the migrations' environment, schema checks).
from . import beneficiaries as _beneficiaries  # noqa: F401
from . import claimant_notes as _claimant_notes  # noqa: F401
from . import office_records as _office_records  # noqa: F401
from . import payment_records as _payment_records  # noqa: F401
from . import termination_requests as _termination_requests  # noqa: F401

HANDLER_MODULES = (
    "tasks.handlers.customers",
    "tasks.handlers.underwriting",
    "tasks.handlers.sales",
    "tasks.handlers.sales_receipt",
    "tasks.handlers.claims",
    "tasks.handlers.claim_controls",
    "tasks.handlers.scheduling",
    "tasks.handlers.payout",
    "tasks.handlers.sales_controls",
    "tasks.handlers.termination",
    "tasks.handlers.termination_controls",
    "tasks.handlers.notifications",
    "tasks.handlers.claimant",
)


def register_handlers(registry: HandlerRegistry) -> None:
    """Add InsureFlow's insurance handlers to the registry: every module's `HANDLERS` by name, and the
    external calls they ask for (`EFFECT_KINDS`)."""
    import importlib

    for name in HANDLER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # not written yet
                continue
            raise
        for handler in module.HANDLERS:
            registry.add(handler.__name__, handler)
        for kind in getattr(module, "EFFECT_KINDS", ()):
            registry.add_effect_kind(kind)
