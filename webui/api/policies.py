"""Policies: the beneficiaries of a policy's death benefit, shown and changed by endorsement."""

from __future__ import annotations

import dataclasses
from typing import Any

from marshmallow import INCLUDE, Schema, fields, validate

from services.policy_beneficiaries import PolicyBeneficiaries, change_beneficiaries, show_beneficiaries
from services.policy_lookup import MAX_TEXT, look_up_policies

from ..context import runtime
from ..masking import mask, sees_personal_data
from .common import actor, blueprint

bp = blueprint("policies", __name__, "Policies: look-up while reporting a claim; beneficiaries (the service checks "
                                    "who may see and change them).")


class BeneficiarySchema(Schema):
    name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "masked for roles that do not need it"})
    relation = fields.String(required=True, metadata={
        "description": "spouse, child, parent, sibling, grandparent, grandchild or other"})
    share = fields.Decimal(required=True, places=2, metadata={"description": "percent of the death benefit"})


class BeneficiaryChangeViewSchema(Schema):
    changed_by = fields.String()
    changed_at = fields.String()
    reason = fields.String()
    before = fields.Dict()
    after = fields.Dict()


class PolicyBeneficiariesSchema(Schema):
    number = fields.String(required=True)
    product = fields.String()
    status = fields.String()
    holder = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    sum_insured = fields.Decimal(places=2)
    instance_id = fields.Integer(allow_none=True, metadata={"description": "the sale that issued the policy"})
    beneficiary_designation = fields.String(required=True, metadata={"description": "named or legal_heirs"})
    beneficiaries = fields.List(fields.Nested(BeneficiarySchema))
    changes = fields.List(fields.Nested(BeneficiaryChangeViewSchema))
    may_change = fields.Boolean(metadata={"description": "whether the caller may change the beneficiaries"})


class BeneficiaryChangeSchema(Schema):
    """A new designation; checked by the service, which names every failing field (422)."""

    class Meta:
        unknown = INCLUDE

    beneficiary_designation = fields.Raw(metadata={"description": "named or legal_heirs"})
    beneficiaries = fields.Raw(metadata={"description": "named: [{name, id_number, relation, share}], "
                                                        "the shares adding up to 100"})
    reason = fields.Raw(metadata={"description": "what the policyholder or insured asked for"})
    written_request = fields.Raw(metadata={"description": "true: their written request is on file"})


def _shown(view: PolicyBeneficiaries) -> dict[str, Any]:
    shown = {f.name: getattr(view, f.name) for f in dataclasses.fields(view)}
    shown["beneficiaries"] = mask(view.beneficiaries, sees_personal_data(actor().roles))
    return shown


@bp.get("/policies/<number>/beneficiaries")
@bp.response(200, PolicyBeneficiariesSchema)
def show(number: str) -> dict[str, Any]:
    """A policy's beneficiaries and the changes made to them (ID numbers masked by role)."""
    return _shown(show_beneficiaries(runtime(), actor(), number))


@bp.put("/policies/<number>/beneficiaries")
@bp.arguments(BeneficiaryChangeSchema)
@bp.response(200, PolicyBeneficiariesSchema, description="the policy with its new beneficiaries")
def change(args: dict[str, Any], number: str) -> dict[str, Any]:
    """Change a policy's beneficiaries (an underwriter, or the agent who sold it); 422 names every failing
    field and nothing changes, 409 when the policy is no longer in force."""
    return _shown(change_beneficiaries(runtime(), actor(), number, args))


class PolicyLookupSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT), metadata={
        "description": "a policy number, the holder's or insured's resident ID number, or part of a name (in the "
                       "body, never in a URL: access logs keep URLs)"})


class PolicyMatchSchema(Schema):
    number = fields.String(required=True)
    product = fields.String()
    status = fields.String(metadata={"description": "in_force or terminated"})
    holder = fields.String()
    insured = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()


class PolicyMatchesSchema(Schema):
    policies = fields.List(fields.Nested(PolicyMatchSchema), required=True)


@bp.post("/policies/lookup")
@bp.arguments(PolicyLookupSchema)
@bp.response(200, PolicyMatchesSchema)
def lookup(args: dict[str, Any]) -> dict[str, Any]:
    """The policies a number, an ID number or part of a name names (claims clerks and their managers), for the
    first notice of loss; at most 20, newest first."""
    return {"policies": [dataclasses.asdict(m) for m in look_up_policies(runtime(), actor(), args["text"])]}
