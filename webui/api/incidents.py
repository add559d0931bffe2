"""Incidents: the steps that failed or a case that stalled — listed for administrators and auditors,
retried by administrators once the cause is fixed."""

from __future__ import annotations

from typing import Any

from engine.workflow import IncidentView, incidents

from ..context import runtime
from .case_event_schemas import IncidentArgsSchema, IncidentSchema
from .common import actor, blueprint

bp = blueprint("incidents", __name__, "Failed steps and stalled cases (administrators and auditors).")


@bp.get("/incidents")
@bp.arguments(IncidentArgsSchema, location="query")
@bp.response(200, IncidentSchema(many=True))
def list_incidents(args: dict[str, Any]) -> list[IncidentView]:
    """Open incidents, oldest first (`include_resolved=true` adds the resolved ones)."""
    return incidents.list_incidents(runtime(), actor(), include_resolved=args["include_resolved"])


@bp.post("/incidents/<int:incident_id>/retry")
@bp.response(200, IncidentSchema)
def retry(incident_id: int) -> IncidentView:
    """Run the failed step again (administrators): resolved when the case moves on, open with the new error if not."""
    return incidents.retry_incident(runtime(), incident_id, actor())
