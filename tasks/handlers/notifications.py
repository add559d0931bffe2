"""Customer notifications: messages the diagrams send, put in the outbox once per step."""

from __future__ import annotations

from typing import Any

from engine.registry import HandlerContext

from ..common import services
from ..timeline import queue_notification
from .customers import get_customer


def notify_customer(ctx: HandlerContext, customer_id: int, template: str, params: dict[str, Any]) -> dict:
    """Queue the message `template` with `params` for the customer (once per step, whatever retries happen)."""
    if not isinstance(template, str) or not template.strip():
        raise ValueError("a notification needs a template name")
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"notification params must be an object, not {type(params).__name__}")
    customer = get_customer(ctx.session, customer_id)
    # The outbox is plain JSON: personal fields a diagram passes along are kept only encrypted.
    safe = services(ctx).cipher.protect("notification", params or {})
    record = queue_notification(ctx.session, ctx.idempotency_key, customer.id, template.strip(), safe, ctx.now())
    return {"notification_id": record.id}


HANDLERS = [notify_customer]
