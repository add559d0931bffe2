"""An insider's rewrite of a case's history for the tests that prove it is caught: change events, then
recompute every hash after them and the instance's head, so the chain itself checks out."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from engine.workflow.history import GENESIS, event_hash
from engine.workflow.models import EventModel, InstanceModel
from engine.workflow.runtime import Runtime


def rechain(rt: Runtime, instance_id: int, edit: Callable[[EventModel, dict[str, Any]], None], *,
            with_audit_key: bool = True) -> None:
    """Let `edit` change each event (its payload in place, or attributes such as its type), then rehash: as an
    insider who also stole the audit key (keyed events stay keyed), or, `with_audit_key=False`, as one with
    write access to the database only (every hash recomputed by the unkeyed sha256 rule)."""
    with rt.uow() as uow:
        events = list(uow.session.scalars(select(EventModel).where(EventModel.instance_id == instance_id)
                                          .order_by(EventModel.seq)))
        prev = GENESIS
        for event in events:
            payload = json.loads(event.payload)
            edit(event, payload)
            text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            keyed = with_audit_key and event.key_id is not None
            digest = event_hash(prev, event.instance_id, event.seq, event.type, event.occurred_at, event.actor,
                                event.task_key, text, keys=rt.audit_keys if keyed else None,
                                key_id=event.key_id if keyed else None, state_hash=event.state_hash)
            uow.session.execute(update(EventModel).where(EventModel.id == event.id)
                                .values(payload=text, prev_hash=prev, hash=digest))
            prev = digest
        uow.session.execute(update(InstanceModel).where(InstanceModel.id == instance_id).values(last_hash=prev))
        uow.commit()
