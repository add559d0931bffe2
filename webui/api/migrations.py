"""Instance migration between deployments (analysts): POST /api/migrations, with a dry run that says why not."""

from __future__ import annotations

import dataclasses
from typing import Any

from marshmallow import Schema, fields, pre_dump, validate

from engine.authoring import MigrationReport, migration

from ..context import runtime
from .common import actor, blueprint
from .schemas import ErrorSchema

bp = blueprint("migrations", __name__, "Moving waiting instances to a newer deployment (analysts).")


class MigrationArgsSchema(Schema):
    source = fields.Integer(required=True, data_key="from", strict=True,
                            metadata={"description": "the deployment id the instances run on"})
    target = fields.Integer(required=True, data_key="to", strict=True, metadata={"description": "the deployment id "
                                                                                 "to move them to"})
    dry_run = fields.Boolean(required=True, metadata={"description": "true: only say what would move and why not"})
    process = fields.String(load_default=None, validate=validate.Length(min=1, max=255),
                            metadata={"description": "only instances of this process"})
    instances = fields.List(fields.Integer(strict=True), load_default=None, validate=validate.Length(min=1),
                            metadata={"description": "only these instances (all waiting ones otherwise)"})
    versions = fields.Dict(keys=fields.String(), values=fields.Integer(strict=True), load_default=None,
                           metadata={"description": "instance id → the version a dry run reported: an instance "
                                                    "changed since is a conflict, not moved"})


class MigrationDeploymentSchema(Schema):
    id = fields.Integer()
    hash = fields.String()


class MigrationInstanceSchema(Schema):
    id = fields.Integer()
    process = fields.String(attribute="process_key")
    business_key = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "the instance's status when it was looked at"})
    version = fields.Integer(metadata={"description": "the instance's version (after the move when migrated)"})
    outcome = fields.String(metadata={"description": "migrated, can migrate, cannot migrate, or conflict"})
    reasons = fields.List(fields.String(), metadata={"description": "why it did not (or would not) move"})
    changes = fields.List(fields.String(), metadata={"description": "what differs in the new version"})


class MigrationReportSchema(Schema):
    source = fields.Nested(MigrationDeploymentSchema, data_key="from")
    target = fields.Nested(MigrationDeploymentSchema, data_key="to")
    dry_run = fields.Boolean()
    instances = fields.List(fields.Nested(MigrationInstanceSchema))
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "instances per outcome"})

    @pre_dump
    def _counted(self, report: MigrationReport, **_: Any) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for item in report.instances:
            counts[item.outcome] = counts.get(item.outcome, 0) + 1
        return {**{f.name: getattr(report, f.name) for f in dataclasses.fields(report)}, "counts": counts}


@bp.post("/migrations")
@bp.arguments(MigrationArgsSchema)
@bp.response(200, MigrationReportSchema)
@bp.doc(responses={422: {"description": "same deployment, unknown ids, no process in common, instances not in the "
                                        "source", "content": {"application/json": {"schema": ErrorSchema}}}})
def migrate(args: dict[str, Any]) -> MigrationReport:
    """Move waiting instances from one deployment to another (or, with dry_run, say what would move and why not)."""
    versions = {int(k): v for k, v in (args["versions"] or {}).items() if k.isdigit()}
    return migration.migrate(runtime(), actor(), args["source"], args["target"], process_key=args["process"],
                             instance_ids=args["instances"], dry_run=args["dry_run"], expected_versions=versions)
