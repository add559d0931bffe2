"""The case data as a case file: sections (claim, policy, claimant, assessment…) in the process's order, each
with the fields the forms assign to it (`x-section`, bpmn/README.md, forms) and the handler and
rule-table results staff need (listed below, by process). Everything else is internal and not shown here: the
audit view shows every value at every step to those who may audit."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from engine.workflow import SECTION_KEYWORD, SECTIONS, ParsedDeployment

from .case_text import Labels, Row, data_rows
from .forms_render import title

OTHER = "other"  # a form field that names no section: what a person entered is never hidden
SECTION_TITLES = {
    "claim": _l("Claim details"), "policy": _l("Policy"), "claimant": _l("Claimant"), "customer": _l("Customer"),
    "application": _l("Application"), "suitability": _l("Needs and suitability"),
    "underwriting": _l("Underwriting"), "assessment": _l("Assessment"), "survey": _l("Survey"),
    "investigation": _l("Investigation"), "approval": _l("Approval"), "aml": _l("Anti-money laundering"),
    "payment": _l("Payment"), "request": _l("Request"), "refund": _l("Refund"), OTHER: _l("Other details"),
}
ORDER = {
    "claims": ("claim", "policy", "claimant", "assessment", "survey", "investigation", "approval", "payment"),
    "sales": ("customer", "suitability", "application", "underwriting", "aml", "payment", "policy"),
    "underwriting": ("customer", "application", "underwriting"),
    "policy_termination": ("request", "policy", "refund", "payment"),
}

CLAIM_STATUS = {
    "registered": _l("Claim registered"), "documents_requested": _l("Documents requested"),
    "under_review": _l("Under review"), "under_investigation": _l("Under investigation"),
    "survey_scheduled": _l("Survey scheduled"), "assessing": _l("Amount being assessed"),
    "approved": _l("Approved"), "paid": _l("Paid"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn"),
    "unpaid": _l("Approved, not paid"),
}
LEVELS = {"low": _l("low"), "medium": _l("medium"), "high": _l("high")}
PAYMENT_STATUS = {"accepted": _l("Accepted by the bank"), "declined": _l("Declined by the bank"),
                  "pending": _l("Waiting for the bank"), "nothing_to_pay": _l("Nothing to pay"),
                  "suspense": _l("Received, in suspense"), "cleared": _l("Cleared"),
                  "returned_in_cash": _l("Returned in cash"), "held": _l("Held for the authorities")}
FINDINGS = {
    "policy_not_in_force": _l("the policy was not in force"), "waiting_period": _l("within the waiting period"),
    "claim_type_not_covered": _l("the claim type is not covered"),
    "claimant_not_covered": _l("the claimant is neither the insured nor a beneficiary"),
    "share_exceeded": _l("more than the beneficiary's share"), "relationship_unproven": _l("relationship not proven"),
    "documents_missing": _l("documents missing"), "duplicate": _l("a duplicate of an open claim"),
    "birth_date_mismatch": _l("the birth date does not match the ID number"),
    "phone": _l("the phone number is invalid"),
    "watch_list": _l("on the watch list"), "not_policyholder": _l("not the policyholder"),
}
UW_DECISIONS = {"accept": _l("Accept"), "decline": _l("Decline"), "postpone": _l("Postpone"),
                "standard": _l("standard"), "substandard": _l("substandard"), "refer": _l("refer to an underwriter")}


@dataclass(frozen=True)
class Shown:
    """A value no form asks for that staff need: its section, label, and its codes in words."""

    section: str
    label: Any
    words: Mapping[str, Any] | None = None
    lang: str | None = None  # shown only in this language (a text the rule table gives in each language)


_UNDERWRITING = {
    "verification.verified": Shown("underwriting", _l("Applicant verified")),
    "verification.reasons": Shown("underwriting", _l("Verification findings"), FINDINGS),
    "fraud_history.prior_declines": Shown("underwriting", _l("Earlier declined applications")),
    "fraud_history.prior_claims": Shown("underwriting", _l("Earlier claims")),
    "bmi": Shown("application", _l("BMI")),
    "risk_class": Shown("underwriting", _l("Risk class"), UW_DECISIONS),
    "uw_decision": Shown("underwriting", _l("Underwriting decision"), UW_DECISIONS),
    "uw_loading": Shown("underwriting", _l("Premium loading")),
    "uw_exclusion": Shown("underwriting", _l("Exclusion")),
    "uw_sum_insured": Shown("underwriting", _l("Sum insured accepted")),
    "uw_postpone_months": Shown("underwriting", _l("Postponed for (months)")),
    "medical_exam.examiner_name": Shown("underwriting", _l("Medical examiner")),
    "medical_exam.starts_at": Shown("underwriting", _l("Medical exam")),
}
HANDLER_VALUES: dict[str, dict[str, Shown]] = {
    "claims": {
        # Not `claim_status`: the variable keeps the last status a step set ("approved"), not "paid".
        "closure.status": Shown("claim", _l("Closed as"), CLAIM_STATUS),
        "documents_on_file.documents": Shown("claim", _l("Documents on file")),
        "verification.verified": Shown("assessment", _l("Claim verified")),
        "verification.reasons": Shown("assessment", _l("Verification findings"), FINDINGS),
        "verification.missing_documents": Shown("assessment", _l("Missing documents")),
        "fraud_level": Shown("assessment", _l("Fraud screening level"), LEVELS),
        "fraud_reason": Shown("assessment", _l("Fraud screening reason")),
        "suggestion.covered_loss": Shown("assessment", _l("Covered loss")),
        "suggestion.deductible": Shown("assessment", _l("Deductible")),
        "suggestion.remaining_sum_insured": Shown("assessment", _l("Sum insured left before this claim")),
        "suggestion.suggested_amount": Shown("assessment", _l("Suggested payable amount")),
        "denial_basis": Shown("assessment", _l("Basis of the denial"), lang="en"),
        "denial_basis_zh": Shown("assessment", _l("Basis of the denial"), lang="zh"),
        "appeal_days": Shown("assessment", _l("Days to ask for a review")),
        "survey.surveyor": Shown("survey", _l("Surveyor")),
        "survey.starts_at": Shown("survey", _l("Survey appointment")),
        "survey.ends_at": Shown("survey", _l("Survey appointment ends")),
        "rescission.outcome": Shown("policy", _l("Rescission review"),
                                    {"rescind": _l("Policy rescinded"), "keep": _l("Policy kept")}),
        "liability.remaining_sum_insured": Shown("policy", _l("Sum insured left")),
        "liability.policy_terminated": Shown("policy", _l("Policy terminated")),
        "payment.status": Shown("payment", _l("Payment status"), PAYMENT_STATUS),
        "payment.gateway_ref": Shown("payment", _l("Bank reference")),
        "payee_change.changed": Shown("payment", _l("Payee account changed")),
    },
    "sales": {
        "customer.age": Shown("customer", _l("Age")),
        "eligible_products": Shown("suitability", _l("Eligible products")),
        "suitable": Shown("suitability", _l("Suitable")),
        "suitability_reason": Shown("suitability", _l("Suitability finding")),
        "quote.annual_premium": Shown("application", _l("Annual premium")),
        **_UNDERWRITING,
        "aml_hit": Shown("aml", _l("AML screening hit")),
        "aml_reason": Shown("aml", _l("AML finding")),
        "large_cash.reference": Shown("aml", _l("Large-cash report")),
        "str_report.reference": Shown("aml", _l("Suspicious-transaction report")),
        "premium.status": Shown("payment", _l("Premium received"), PAYMENT_STATUS),
        "premium_settlement.status": Shown("payment", _l("Premium settled"), PAYMENT_STATUS),
        "premium_refund.status": Shown("payment", _l("Premium refund"), PAYMENT_STATUS),
        "policy.policy_number": Shown("policy", _l("Policy number")),
        "policy.start_date": Shown("policy", _l("Cover starts")),
        "policy.end_date": Shown("policy", _l("Cover ends")),
        "receipt.cooling_off_end": Shown("policy", _l("Cooling-off period ends")),
        "confirmation.confirmed": Shown("policy", _l("Policy confirmed")),
    },
    "underwriting": _UNDERWRITING,
    "policy_termination": {
        "requester.verified": Shown("request", _l("Requester verified")),
        "requester.reasons": Shown("request", _l("Verification findings"), FINDINGS),
        "refund.in_cooling_off": Shown("refund", _l("Within the cooling-off period")),
        "refund.policy_year": Shown("refund", _l("Policy year")),
        "refund.premiums_paid": Shown("refund", _l("Premiums paid")),
        "cancellation_fee": Shown("refund", _l("Cancellation fee")),
        "refund.refund": Shown("refund", _l("Refund")),
        "refund_payment.status": Shown("payment", _l("Refund payment"), PAYMENT_STATUS),
        "refund_payment.gateway_ref": Shown("payment", _l("Bank reference")),
        "termination.terminated": Shown("policy", _l("Policy terminated")),
    },
}
_MONEY = frozenset({"cancellation_fee"})  # amounts whose name does not say so (case_text reads the others)


@dataclass
class Section:
    """One heading of the case file and its rows."""

    key: str
    title: str
    rows: list[Row] = field(default_factory=list)


def form_sections(parsed: ParsedDeployment, process_key: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each field of the process's forms (its called processes' too) → its section and its schema, in the order
    the process's tasks ask for them (the first form that asks for a field names it)."""
    process = parsed.processes.get(process_key)
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for spec in [process.spec, *process.subprocess_specs.values()] if process else []:
        for task_spec in spec.task_specs.values():
            properties = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
            schema = parsed.form(properties["formJsonSchemaFilename"]) if properties.get(
                "formJsonSchemaFilename") else None
            for name, field_spec in ((schema or {}).get("properties") or {}).items():
                if isinstance(field_spec, dict):
                    section = field_spec.get(SECTION_KEYWORD)
                    found.setdefault(name, (section if section in SECTIONS else OTHER, field_spec))
    return found


def entered_fields(events: list[dict[str, Any]]) -> set[str]:
    """The data keys people and messages gave the case: its start data, forms submitted, messages received."""
    found: set[str] = set()
    for event in events:
        payload = event.get("payload") or {}
        given = payload.get("payload") if event["type"] in ("message_delivered", "signal_received") else \
            payload.get("data") if event["type"] in ("instance_started", "task_completed") else None
        if isinstance(given, dict):
            found.update(given)
    return found


def _at(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _in_words(key: str, value: Any, shown: Shown, labels: Labels) -> str:
    if shown.words and isinstance(value, str) and value in shown.words:
        return str(shown.words[value])
    if shown.words and isinstance(value, list):
        return ", ".join(_in_words(key, v, shown, labels) for v in value)
    return labels.value("amount" if key in _MONEY else key, value)


def case_sections(data: Mapping[str, Any], labels: Labels, fields: Mapping[str, tuple[str, dict[str, Any]]],
                  process_key: str,
                  lang: str, entered: Collection[str]) -> list[Section]:
    """The (already masked) case data by section, in the process's order; empty values and internal ones left
    out. `fields` is `form_sections` of the case's deployment; a form field is shown once a person or a message
    `entered` it (a script's default for a step not taken yet is not news)."""
    rows: dict[str, list[Row]] = {}
    for name, (section, spec) in fields.items():
        if name in data and name in entered and not _empty(data[name]):
            row, = data_rows({name: data[name]}, labels)
            row.label = title(spec, lang, row.label)  # this process's own form's label, not another's
            rows.setdefault(section, []).append(row)
    for path, shown in HANDLER_VALUES.get(process_key, {}).items():
        value = _at(data, path)
        if path in fields or _empty(value) or (shown.lang and shown.lang != lang):
            continue
        rows.setdefault(shown.section, []).append(Row(str(shown.label),
                                                      _in_words(path.rsplit(".", 1)[-1], value, shown, labels)))
    order = [*ORDER.get(process_key, ()), *SECTIONS, OTHER]
    return [Section(key, str(SECTION_TITLES[key]), rows[key]) for key in dict.fromkeys(order) if rows.get(key)]
