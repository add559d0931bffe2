"""Changes to a case's records made outside its steps (an endorsement of the policy a sale issued): the
change and a `record_changed` event in the case's hash-chained history commit together, or neither does.
Like an auditor's `data_unmasked`, the event is not a step: replay passes over it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from . import history, sealed_rows, store
from .actors import Actor
from .runtime import Runtime

RECORD_CHANGED = "record_changed"
T = TypeVar("T")


def change_with_note(rt: Runtime, actor: Actor, instance_id: int | None,
                     change: Callable[[Session], tuple[T, dict[str, Any]]]) -> T:
    """Run `change` (the caller checked who may make it; it raises to refuse) in one transaction and append
    what it returns as the event's payload to case `instance_id`'s history (no case: the change alone)."""
    rt = rt.frozen()
    with rt.uow() as uow:
        conn = uow.session.connection()
        instance = store.get_instance(conn, instance_id, lock=True) if instance_id is not None else None
        result, payload = change(uow.session)
        uow.session.flush()
        if instance is not None:
            sealed = sealed_rows.take(uow.session, rt.audit_keys)
            if sealed:
                payload = {**payload, sealed_rows.PAYLOAD_KEY: sealed}
            history.append(conn, instance, RECORD_CHANGED, actor=actor.username, at=rt.clock(), protect=rt.protect,
                           payload=payload, keys=rt.audit_keys)
            store.save_instance(conn, instance)
        uow.commit()
    return result
