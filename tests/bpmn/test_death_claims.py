"""Death claims reach the people the policy names (issue 12, item 1): beneficiaries are designated at the
sale (named people with relation and share, or the legal heirs), kept encrypted on the policy, changed by an
endorsement that the sale's history records, and verification accepts a named beneficiary (by the keyed
hash of the ID number) or a legal heir with the death certificate and proof of the relationship. Anything
uncertain goes to an adjuster's review, never to an automatic rejection.

Each test sells a Term Life 20 policy through sales.bpmn (real diagrams, tables and handlers), reports the
insured's death through claims.bpmn, checks the path, the records and the messages, and ends with a
consistent replay.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from engine.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from services.policy_beneficiaries import change_beneficiaries, show_beneficiaries
from tasks.beneficiaries import BeneficiaryChangeRecord, BeneficiaryRecord
from tasks.records import ClaimRecord, PolicyRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_scenarios import (
    TO_ASSESSMENT,
    TO_PAID,
    approval,
    assert_replays,
    assessment,
    handlers_run,
    open_keys,
    report_claim,
    tasks_opened,
    the_claim,
    timeline,
)
from tests.bpmn.test_sales_scenarios import application, id_number, needs, quote, sale_at_application, sold

# The insured's family: a wife and a son named at the sale, a daughter who is only a legal heir.
WIFE = {"name": "Zhao Min 赵敏", "id_number": id_number(sequence=202, region_code="310104"), "relation": "spouse",
        "share": 60}
SON = {"name": "Sun Hao 孙浩", "id_number": id_number(sequence=311, region_code="440106"), "relation": "child",
       "share": 40}
DAUGHTER = ("Sun Yue 孙悦", id_number(sequence=422, region_code="510107"))
STRANGER = ("Qian Duo 钱多", id_number(sequence=533, region_code="330106"))
SUM_INSURED = 400_000  # LIFE20 within its automatic underwriting limit
DEATH_DOCUMENTS = ["claim_form", "id_copy", "bank_card", "death_certificate"]
PAYEE_ACCOUNT = "6222020200155667788"
# Past the 90-day waiting period for illness and the 30-day "large claim right after the start" fraud rule.
DAYS_LATER = 120


# --- a life policy sold with its beneficiaries --------------------------------------------------------

def designation(*people: dict[str, Any]) -> dict[str, Any]:
    """The application's beneficiary fields: the people named, or the legal heirs when none."""
    if not people:
        return {"beneficiary_designation": "legal_heirs"}
    return {"beneficiary_designation": "named", "beneficiaries": [dict(p) for p in people]}


def life_sale_at_application(insurer: Insurer) -> int:
    """A Term Life 20 sale waiting for the application."""
    return sale_at_application(insurer, customer_needs=needs(goal="life"),
                               chosen=quote("LIFE20", sum_insured=SUM_INSURED, term_years=20))


def sell_life_policy(insurer: Insurer, *people: dict[str, Any]) -> tuple[int, PolicyRecord]:
    """A Term Life 20 policy issued with these beneficiaries (none: the legal heirs); the sale and the policy."""
    sale = life_sale_at_application(insurer)
    insurer.complete(sale, "application", "agent", {**application(product_line="life"), **designation(*people)})
    assert sold(insurer, sale) == "waiting"  # issued, in its cooling-off period
    return sale, policy_of(insurer, sale)


def policy_of(insurer: Insurer, sale: int) -> PolicyRecord:
    """The policy a sale issued."""
    with insurer.rt.session_factory() as session:
        return session.scalars(select(PolicyRecord).where(PolicyRecord.instance_id == sale)).one()


def beneficiary_rows(insurer: Insurer, policy: PolicyRecord) -> list[BeneficiaryRecord]:
    """The policy's named beneficiaries as stored."""
    with insurer.rt.session_factory() as session:
        return list(session.scalars(select(BeneficiaryRecord).where(BeneficiaryRecord.policy_id == policy.id)
                                    .order_by(BeneficiaryRecord.position)))


def death_claim(policy: PolicyRecord, claimant: tuple[str, str], amount: float,
                documents: list[str] | None = None, days_after_start: int = DAYS_LATER - 5) -> dict[str, Any]:
    """The first notice of the insured's death (an illness), reported by `claimant` (name, ID number)."""
    return {"policy_number": policy.number, "claimant_name": claimant[0], "claimant_id_number": claimant[1],
            "incident_date": (policy.start_date + timedelta(days=days_after_start)).isoformat(),
            "claim_type": "death", "cause_of_loss": "illness", "description": "The insured died of a heart attack.",
            "claimed_amount": amount, "documents": DEATH_DOCUMENTS if documents is None else documents,
            "payee_account": PAYEE_ACCOUNT, "region": "shanghai"}


def who(person: dict[str, Any]) -> tuple[str, str]:
    """(name, ID number) of a named beneficiary."""
    return person["name"], person["id_number"]


def pay_at_assessment(insurer: Insurer, case: int, amount: float) -> None:
    """The adjuster pays the amount; the claims manager approves it (every death benefit is above the limit)."""
    assert open_keys(insurer, case) == ["assess_amount"]
    assert insurer.data(case)["suggestion"]["suggested_amount"] == amount
    insurer.complete(case, "assess_amount", "adjuster", assessment(amount, "Death certificate checked."))
    assert insurer.complete(case, "approve_payout", "manager2", approval(True)) == "completed"


# --- named beneficiaries --------------------------------------------------------------------------

def test_named_beneficiaries_are_kept_encrypted_on_the_policy_and_the_one_who_claims_is_paid_their_share(
        insurer: Insurer) -> None:
    sale, policy = sell_life_policy(insurer, WIFE, SON)

    stored = beneficiary_rows(insurer, policy)
    assert [(b.name, b.relation, b.share) for b in stored] == [
        (WIFE["name"], "spouse", Decimal("60.00")), (SON["name"], "child", Decimal("40.00"))]
    assert stored[0].id_number_hash == insurer.cipher.lookup_hash(WIFE["id_number"])
    assert insurer.cipher.decrypt(stored[0].id_number_enc) == WIFE["id_number"]
    assert_replays(insurer, sale)

    insurer.wait(days=DAYS_LATER)  # the cooling-off period ends; months later the insured dies
    case = report_claim(insurer, death_claim(policy, who(WIFE), SUM_INSURED * 0.6))

    assert insurer.data(case)["verification"] == {"verified": True, "reasons": [], "missing_documents": [],
                                                  "only_documents_missing": False}
    pay_at_assessment(insurer, case, SUM_INSURED * 0.6)
    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount", "approve_payout"]
    assert handlers_run(insurer, case) == TO_ASSESSMENT + TO_PAID
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("240000.00"))
    assert timeline(insurer, claim) == ["registered", "under_review", "assessing", "approved", "paid"]
    assert_replays(insurer, case)


def test_each_named_beneficiary_is_paid_their_share_of_the_death_benefit_after_the_policy_ended(
        insurer: Insurer) -> None:
    sale, policy = sell_life_policy(insurer, WIFE, SON)
    insurer.wait(days=DAYS_LATER)
    by_wife = report_claim(insurer, death_claim(policy, who(WIFE), SUM_INSURED * 0.6))
    pay_at_assessment(insurer, by_wife, SUM_INSURED * 0.6)
    assert insurer.data(by_wife)["liability"] == {"policy_terminated": True, "remaining_sum_insured": 160_000}

    son_claim = {**death_claim(policy, who(SON), SUM_INSURED * 0.4), "payee_account": "6222020200199887766"}
    by_son = report_claim(insurer, son_claim)

    assert insurer.data(by_son)["verification"]["verified"] is True
    pay_at_assessment(insurer, by_son, SUM_INSURED * 0.4)
    assert the_claim(insurer, by_son).paid_amount == Decimal("160000.00")
    ended = policy_of(insurer, sale)
    assert (ended.status, ended.terminated_reason, ended.remaining_sum_insured) == ("terminated", "death", 0)
    assert_replays(insurer, by_son)


def test_a_named_beneficiary_claiming_more_than_their_share_goes_to_an_adjusters_review(insurer: Insurer) -> None:
    _sale, policy = sell_life_policy(insurer, WIFE, SON)
    insurer.wait(days=DAYS_LATER)

    case = report_claim(insurer, death_claim(policy, who(SON), SUM_INSURED))  # 40 % is 160,000

    assert insurer.data(case)["verification"]["reasons"] == ["share_exceeded"]
    assert open_keys(insurer, case) == ["review_verification"]
    assert the_claim(insurer, case).status == "under_review"
    insurer.complete(case, "review_verification", "adjuster",
                     {"review_decision": "send_back", "review_note": "The son's share is 40 %: 160,000."})
    insurer.complete(case, "register_claim", "clerk", death_claim(policy, who(SON), SUM_INSURED * 0.4))
    assert open_keys(insurer, case) == ["assess_amount"]
    assert_replays(insurer, case)


def test_a_claimant_the_policy_does_not_name_goes_to_an_adjusters_review_not_to_a_rejection(
        insurer: Insurer) -> None:
    _sale, policy = sell_life_policy(insurer, WIFE, SON)
    insurer.wait(days=DAYS_LATER)

    case = report_claim(insurer, death_claim(policy, STRANGER, SUM_INSURED * 0.6,
                                             documents=[*DEATH_DOCUMENTS, "proof_of_relationship"]))

    assert insurer.data(case)["verification"]["reasons"] == ["claimant_not_covered"]
    assert open_keys(insurer, case) == ["review_verification"]
    task = insurer.task(case, "review_verification")
    assert task.candidate_role == "adjuster"
    claim = the_claim(insurer, case)
    assert claim.status == "under_review" and claim.rejection_reason is None
    assert handlers_run(insurer, case) == ["svc_open_claim", "svc_notify_acknowledged", "svc_verify_claim"]
    assert_replays(insurer, case)


# --- legal heirs ------------------------------------------------------------------------------------

def test_a_legal_heir_with_the_death_certificate_and_proof_of_relationship_is_paid(insurer: Insurer) -> None:
    sale, policy = sell_life_policy(insurer)
    assert beneficiary_rows(insurer, policy) == []
    assert insurer.data(sale)["beneficiary_designation"] == "legal_heirs"
    insurer.wait(days=DAYS_LATER)

    case = report_claim(insurer, death_claim(policy, DAUGHTER, SUM_INSURED * 0.5,
                                             documents=[*DEATH_DOCUMENTS, "proof_of_relationship"]))

    assert insurer.data(case)["verification"]["verified"] is True
    pay_at_assessment(insurer, case, SUM_INSURED * 0.5)
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("200000.00"))
    assert_replays(insurer, case)


def test_a_legal_heir_without_proof_of_relationship_goes_to_review_and_is_verified_once_it_is_on_file(
        insurer: Insurer) -> None:
    _sale, policy = sell_life_policy(insurer)
    insurer.wait(days=DAYS_LATER)

    case = report_claim(insurer, death_claim(policy, DAUGHTER, SUM_INSURED * 0.5))

    verification = insurer.data(case)["verification"]
    assert verification["reasons"] == ["relationship_unproven"]
    assert verification["missing_documents"] == ["proof_of_relationship"]
    assert open_keys(insurer, case) == ["review_verification"]
    assert the_claim(insurer, case).status == "under_review"

    insurer.complete(case, "review_verification", "adjuster",
                     {"review_decision": "send_back", "review_note": "Ask for the household register."})
    insurer.complete(case, "register_claim", "clerk", death_claim(
        policy, DAUGHTER, SUM_INSURED * 0.5, documents=[*DEATH_DOCUMENTS, "proof_of_relationship"]))

    assert insurer.data(case)["verification"]["verified"] is True
    assert open_keys(insurer, case) == ["assess_amount"]
    assert tasks_opened(insurer, case) == ["register_claim", "review_verification", "register_claim",
                                           "assess_amount"]
    assert_replays(insurer, case)


# --- a bad designation is refused at the sale --------------------------------------------------------

@pytest.mark.parametrize(("people", "fields"), [
    ([{**WIFE, "share": 60}, {**SON, "share": 30}],
     {"beneficiaries": "the shares add up to 90 %, not 100 %"}),
    ([{**WIFE, "share": 100}, {**SON, "id_number": WIFE["id_number"], "share": 0.5}],
     {"beneficiaries.1.id_number": "is the same person as beneficiary 1"}),
    ([{**WIFE, "share": 100, "id_number": WIFE["id_number"][:-1] + "0"}],
     {"beneficiaries.0.id_number": "is not a valid resident ID number (check_digit)"}),
], ids=["shares total 90", "same person twice", "bad check digit"])
def test_a_designation_that_does_not_add_up_is_refused_at_the_application_and_nothing_changes(
        insurer: Insurer, people: list[dict[str, Any]], fields: dict[str, str]) -> None:
    sale = life_sale_at_application(insurer)
    before = insurer.history(sale)

    with pytest.raises(InvalidInputError) as caught:
        insurer.complete(sale, "application", "agent",
                         {**application(), "beneficiary_designation": "named", "beneficiaries": people})

    assert caught.value.details["fields"] == fields
    assert insurer.history(sale) == before and open_keys(insurer, sale) == ["application"]
    insurer.complete(sale, "application", "agent", {**application(product_line="life"), **designation(WIFE, SON)})
    assert open_keys(insurer, sale) == ["accept_terms"]
    assert_replays(insurer, sale)


@pytest.mark.parametrize(("data", "fields"), [
    ({}, {"beneficiary_designation": "is required"}),
    ({"beneficiary_designation": "named"}, {"beneficiaries": "is required"}),
    ({"beneficiary_designation": "named", "beneficiaries": [{**WIFE, "share": 100, "relation": "neighbour"}]},
     {"beneficiaries.0.relation": "'neighbour' is not one of ['spouse', 'child', 'parent', 'sibling', "
                                  "'grandparent', 'grandchild', 'other']"}),
    ({"beneficiary_designation": "legal_heirs", "beneficiaries": [{**WIFE, "share": 100}]},
     {"beneficiaries": "must be empty when the benefit goes to the legal heirs"}),
], ids=["no designation", "named but nobody", "unknown relation", "heirs with names"])
def test_an_incomplete_designation_is_a_field_error_at_the_application(
        insurer: Insurer, data: dict[str, Any], fields: dict[str, str]) -> None:
    sale = life_sale_at_application(insurer)
    health = {k: v for k, v in application().items() if k != "beneficiary_designation"}
    with pytest.raises(InvalidInputError) as caught:
        insurer.complete(sale, "application", "agent", {**health, **data})
    assert caught.value.details["fields"] == fields
    assert open_keys(insurer, sale) == ["application"]


# --- changing the beneficiaries ------------------------------------------------------------------------

CHANGE = {"beneficiary_designation": "named", "beneficiaries": [{**SON, "share": 100}], "written_request": True,
          "reason": "Divorced: the insured names the son alone (written request of 2026-11-20)."}


def test_a_change_of_beneficiaries_is_recorded_with_who_why_before_and_after_and_the_new_one_is_paid(
        insurer: Insurer) -> None:
    sale, policy = sell_life_policy(insurer, WIFE, SON)

    view = change_beneficiaries(insurer.rt, insurer.actor("uw"), policy.number, CHANGE)

    assert (view.beneficiary_designation, [b["name"] for b in view.beneficiaries]) == ("named", [SON["name"]])
    assert [(b.name, b.share) for b in beneficiary_rows(insurer, policy)] == [(SON["name"], Decimal("100.00"))]
    with insurer.rt.session_factory() as session:
        change = session.scalars(select(BeneficiaryChangeRecord)).one()
    assert (change.changed_by, change.reason) == ("uw", CHANGE["reason"])
    assert [b["name"] for b in change.before["beneficiaries"]] == [WIFE["name"], SON["name"]]
    assert change.after["beneficiaries"] == [{"name": SON["name"], "id_last4": SON["id_number"][-4:],
                                              "relation": "child", "share": 100.0}]
    noted = [e for e in insurer.history(sale) if e["type"] == "record_changed"]
    assert len(noted) == 1 and noted[0]["actor"] == "uw"
    assert noted[0]["payload"]["after"] == change.after and noted[0]["payload"]["reason"] == CHANGE["reason"]
    assert WIFE["id_number"] not in str(noted[0]["payload"])
    # The agent who sold the policy sees the change.
    assert show_beneficiaries(insurer.rt, insurer.actor("agent"), policy.number).changes[0]["changed_by"] == "uw"
    assert_replays(insurer, sale)

    insurer.wait(days=DAYS_LATER)
    by_wife = report_claim(insurer, death_claim(policy, who(WIFE), SUM_INSURED * 0.6))
    assert insurer.data(by_wife)["verification"]["reasons"] == ["claimant_not_covered"]
    by_son = report_claim(insurer, death_claim(policy, who(SON), SUM_INSURED, days_after_start=DAYS_LATER - 6))
    assert insurer.data(by_son)["verification"]["verified"] is True
    assert_replays(insurer, by_son)


def test_only_an_underwriter_or_the_selling_agent_may_change_beneficiaries(insurer: Insurer) -> None:
    sale, policy = sell_life_policy(insurer, WIFE, SON)

    for user in ("agent2", "clerk", "adjuster", "auditor"):
        with pytest.raises(ForbiddenError):
            change_beneficiaries(insurer.rt, insurer.actor(user), policy.number, CHANGE)
    with pytest.raises(ForbiddenError):
        show_beneficiaries(insurer.rt, insurer.actor("agent2"), policy.number)
    assert show_beneficiaries(insurer.rt, insurer.actor("adjuster"), policy.number).may_change is False
    with pytest.raises(NotFoundError):
        change_beneficiaries(insurer.rt, insurer.actor("uw"), "P0000000000X", CHANGE)

    change_beneficiaries(insurer.rt, insurer.actor("agent"), policy.number, CHANGE)  # the agent who sold it
    assert [b.name for b in beneficiary_rows(insurer, policy)] == [SON["name"]]
    assert_replays(insurer, sale)


@pytest.mark.parametrize(("change", "fields"), [
    ({**CHANGE, "beneficiaries": [{**SON, "share": 50}]}, {"beneficiaries": "the shares add up to 50 %, not 100 %"}),
    ({**CHANGE, "reason": " "}, {"reason": "is required: say what the policyholder or insured asked for"}),
    ({**CHANGE, "written_request": False},
     {"written_request": "the written request of the policyholder or insured must be on file"}),
    ({**CHANGE, "payee_account": "6222"}, {"payee_account": "is not a field of this change"}),
], ids=["shares", "no reason", "no written request", "unknown field"])
def test_a_bad_change_of_beneficiaries_is_refused_and_nothing_is_lost(
        insurer: Insurer, change: dict[str, Any], fields: dict[str, str]) -> None:
    sale, policy = sell_life_policy(insurer, WIFE, SON)
    before = insurer.history(sale)

    with pytest.raises(InvalidInputError) as caught:
        change_beneficiaries(insurer.rt, insurer.actor("uw"), policy.number, change)

    assert caught.value.details["fields"] == fields
    assert [b.name for b in beneficiary_rows(insurer, policy)] == [WIFE["name"], SON["name"]]
    assert insurer.history(sale) == before


def test_the_beneficiaries_of_a_terminated_policy_no_longer_change(insurer: Insurer) -> None:
    _sale, policy = sell_life_policy(insurer, WIFE, SON)
    with insurer.rt.session_factory() as session, session.begin():
        session.get(PolicyRecord, policy.id).status = "terminated"
    with pytest.raises(ConflictError):
        change_beneficiaries(insurer.rt, insurer.actor("uw"), policy.number, CHANGE)
    assert len(beneficiary_rows(insurer, policy)) == 2


def test_claims_before_the_change_keep_their_claimant(insurer: Insurer) -> None:
    """A claim's claimant is a customer record, never a beneficiary row: changing the designation later
    does not touch claims already reported."""
    _sale, policy = sell_life_policy(insurer, WIFE, SON)
    insurer.wait(days=DAYS_LATER)
    case = report_claim(insurer, death_claim(policy, who(WIFE), SUM_INSURED * 0.6))
    claimant = the_claim(insurer, case).claimant_id
    change_beneficiaries(insurer.rt, insurer.actor("uw"), policy.number, CHANGE)
    with insurer.rt.session_factory() as session:
        assert session.scalars(select(ClaimRecord.claimant_id).where(ClaimRecord.instance_id == case)).one() == claimant
