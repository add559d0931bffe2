"""Customer notifications: messages the diagrams send, put in the outbox once per step."""

from __future__ import annotations

from typing import Any

from engine.registry import HandlerContext

from ..common import services
from ..notices import missing_params
from ..timeline import CHANNELS, queue_notification
from .customers import get_customer


def notify_customer(
    ctx: HandlerContext, customer_id: int, template: str, params: dict[str, Any], channel: str = "sms",
) -> dict:
    """Queue the message `template` with `params` for the customer (once per step, whatever retries happen);
    a written notice (tasks/notices.py) goes out as a letter and must have every param it quotes."""
    if not isinstance(template, str) or not template.strip():
        raise ValueError("a notification needs a template name")
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"notification params must be an object, not {type(params).__name__}")
    if channel not in CHANNELS:
        raise ValueError(f"a notification goes by {', '.join(CHANNELS)}, not {channel!r}")
    missing = missing_params(template.strip(), params or {})
    if missing:
        raise ValueError(f"the {template.strip()} notice needs {', '.join(missing)}: the diagram left them out")
    customer = get_customer(ctx.session, customer_id)
    # The outbox is plain JSON: personal fields a diagram passes along are kept only encrypted.
    safe = services(ctx).cipher.protect("notification", params or {})
    record = queue_notification(ctx.session, ctx.idempotency_key, customer.id, template.strip(), safe, ctx.now(),
                                channel)
    return {"notification_id": record.id}


HANDLERS = [notify_customer]
