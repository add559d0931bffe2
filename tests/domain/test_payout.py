"""Payouts: AML screening first, then exactly one payment per attempt under every gateway behaviour, keyed by
the payment's business identity (claim or policy number and attempt), never by the step that runs it.

A payout runs in three parts, as the engine's outbox runs it: the handler writes the intent and asks for
the call (`Effect`), the call asks the gateway before paying (`PAYMENT`), and the handler runs again with
the outcome to record it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import func, select

from engine.registry import BpmnError, Effect
from tasks.handlers.payout import PAYMENT, pay_claim, pay_refund
from tasks.office_records import NotificationRecord
from tasks.payment_gateway import GatewayAnswer, GatewayTimeoutError, SimulatedGateway
from tasks.payment_records import PaymentRecord
from tasks.records import ClaimRecord, ClaimStatusRecord, CustomerRecord, PolicyRecord, ProductRecord, WatchListRecord
from tasks.refund_accounts import HolderAccountRecord, StaffAccountRecord
from tasks.services import DomainServices

_seq = count(1)
ACCOUNT = "6222020000000077"
CLAIM_UID, POLICY_UID = "c1a1" * 8, "9011" * 8
PAYOUT_1, PAYOUT_2 = "claim:C20261001000001:c1a1c1a1c1a1:payout:1", "claim:C20261001000001:c1a1c1a1c1a1:payout:2"
REFUND_1 = "policy:P000000001:901190119011:refund:1"
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class CountingGateway(SimulatedGateway):
    """The simulated gateway, counting how often InsureFlow asked it to pay."""

    pay_calls: int = 0

    def pay(self, key: str, amount: Decimal, account: str, purpose: str) -> GatewayAnswer:
        self.pay_calls += 1
        return super().pay(key, amount, account, purpose)


@dataclass
class Case:
    """A claim ready for payout, and what a payout step needs."""

    session: object
    gateway: CountingGateway
    services: DomainServices
    claim: ClaimRecord
    policy: PolicyRecord
    holder: CustomerRecord

    def ctx(self, domain, key: str = "41:step-uuid"):
        return replace(domain.ctx(self.session, key=key), services=self.services)


@pytest.fixture
def case(domain) -> Iterator[Case]:
    cipher = domain.services.cipher
    with domain.session_factory() as session:
        holder = CustomerRecord(name="Zhao Min", id_number_enc=cipher.encrypt("110101198001010011"),
                                id_number_hash=cipher.lookup_hash("110101198001010011"), birth_date=date(1980, 1, 1),
                                consent_at=JAN_1, created_at=JAN_1)
        session.add_all([holder, ProductRecord(code="MED1", name="Medical", name_zh="医疗险", line="medical",
                                               risk_level="low", min_age=0, max_age=65, claim_types=["medical"],
                                               deductible=Decimal("0"))])
        session.flush()
        policy = PolicyRecord(number="P000000001", uid=POLICY_UID, product_code="MED1", holder_id=holder.id,
                              insured_id=holder.id,
                              sum_insured=Decimal("100000"), remaining_sum_insured=Decimal("100000"),
                              annual_premium=Decimal("1200"), term_years=1, start_date=date(2026, 1, 1),
                              end_date=date(2026, 12, 31), status="in_force", issued_at=JAN_1)
        session.add(policy)
        session.flush()
        claim = ClaimRecord(number="C20261001000001", uid=CLAIM_UID, policy_id=policy.id, claimant_id=holder.id,
                            incident_date=date(2026, 10, 1), claim_type="medical", claimed_amount=Decimal("5000"),
                            payee_account_enc=cipher.encrypt(ACCOUNT), payee_account_hash=cipher.lookup_hash(ACCOUNT),
                            region="shanghai", status="approved", check_code="0011", reported_at=JAN_1)
        session.add(claim)
        session.flush()
        gateway = CountingGateway()
        yield Case(session, gateway, DomainServices(cipher=cipher, gateway=gateway), claim, policy, holder)


def as_engine_step(ctx, handler, *args):
    """Run a handler as the engine does: the intent; when it asks for a payment, the call (which may raise
    GatewayTimeoutError: the intent stays); then the handler again with the outcome."""
    result = in_savepoint(ctx, handler, *args)
    if isinstance(result, Effect):
        assert result.kind == PAYMENT.name
        outcome = PAYMENT.call(ctx.services, result.key, PAYMENT.describe(ctx.session, ctx.services, result.key))
        result = in_savepoint(replace(ctx, outcome=outcome), handler, *args)
    return result


def in_savepoint(ctx, handler, *args):
    """One run of a handler: in a savepoint that is rolled back when it raises anything but a BpmnError."""
    savepoint = ctx.session.begin_nested()
    try:
        result = handler(ctx, *args)
    except BpmnError:
        savepoint.commit()
        raise
    except Exception:
        savepoint.rollback()
        raise
    savepoint.commit()
    return result


def payments(session) -> list[PaymentRecord]:
    return list(session.scalars(select(PaymentRecord).order_by(PaymentRecord.id)))


def test_pay_claim_pays_the_claimant_and_marks_the_claim_paid(domain, case):
    result = as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    [payment] = payments(case.session)
    assert result == {"payment_id": payment.id, "gateway_ref": f"SIM-{PAYOUT_1}", "status": "accepted",
                      "reconciled": False}
    assert case.gateway.paid == {PAYOUT_1: (Decimal("4800.00"), "claim C20261001000001")}
    assert (payment.idempotency_key, payment.kind, payment.claim_id, payment.amount, payment.attempts) == (
        PAYOUT_1, "claim_payout", case.claim.id, Decimal("4800.00"), 1)
    assert domain.services.cipher.decrypt(payment.payee_account_enc) == ACCOUNT
    assert (case.claim.status, case.claim.paid_amount, case.claim.closed_at) == ("paid", Decimal("4800.00"),
                                                                                 domain.clock.now)
    # Telling the claimant is the diagram's own step (notify_customer), not the payment's.
    assert case.session.scalar(select(func.count(NotificationRecord.id))) == 0


def test_pay_claim_run_again_by_any_step_returns_the_first_payment(domain, case):
    first = as_engine_step(case.ctx(domain, key="41:a-step"), pay_claim, case.claim.id, 4800)
    again = as_engine_step(case.ctx(domain, key="41:another-step-after-a-crash"), pay_claim, case.claim.id, 4800)
    assert again == first
    assert case.gateway.pay_calls == 1
    assert len(payments(case.session)) == 1
    assert case.session.scalar(select(func.count(ClaimStatusRecord.id))) == 1


def test_a_declined_payment_is_a_bpmn_error_and_leaves_a_failed_payment(domain, case):
    case.gateway.script.append("decline")
    with pytest.raises(BpmnError) as caught:
        as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    assert (caught.value.code, caught.value.message, caught.value.data) == ("payment_failed", "account closed",
                                                                            {"reason": "declined"})
    [payment] = payments(case.session)
    assert (payment.status, payment.failure) == ("failed", "account closed")
    assert case.gateway.paid == {}
    assert (case.claim.status, case.claim.paid_amount) == ("approved", None)


def test_after_a_committed_decline_the_next_attempt_has_its_own_key(domain, case):
    case.gateway.script.extend(["decline", "ok"])
    with pytest.raises(BpmnError):
        as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    result = as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)  # finance: retry
    assert result["gateway_ref"] == f"SIM-{PAYOUT_2}"
    assert [(p.idempotency_key, p.status) for p in payments(case.session)] == [(PAYOUT_1, "failed"),
                                                                               (PAYOUT_2, "accepted")]
    assert list(case.gateway.paid) == [PAYOUT_2] and list(case.gateway.declined) == [PAYOUT_1]


def test_a_decline_whose_commit_was_lost_is_read_back_from_the_gateway_not_sent_again(domain, case):
    case.gateway.script.append("decline")
    lost = case.session.begin_nested()
    with pytest.raises(BpmnError):
        as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    lost.rollback()  # the process died before the intent and the decline were committed
    assert payments(case.session) == []
    with pytest.raises(BpmnError) as caught:
        as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    assert caught.value.message == "account closed"
    assert case.gateway.pay_calls == 1
    assert [(p.idempotency_key, p.status) for p in payments(case.session)] == [(PAYOUT_1, "failed")]


def test_a_timeout_is_an_incident_and_the_retry_pays_once(domain, case):
    case.gateway.script.append("timeout")
    with pytest.raises(GatewayTimeoutError):
        as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    assert [(p.idempotency_key, p.status) for p in payments(case.session)] == [(PAYOUT_1, "pending")]  # the intent
    result = as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    assert result["status"] == "accepted"
    assert list(case.gateway.paid) == [PAYOUT_1]
    assert len(payments(case.session)) == 1


def test_accepted_then_timed_out_the_retry_asks_the_gateway_and_never_pays_twice(domain, case):
    case.gateway.script.append("accept_then_timeout")
    with pytest.raises(GatewayTimeoutError):
        as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    assert [p.status for p in payments(case.session)] == ["pending"]  # the intent, its outcome unknown
    result = as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    [payment] = payments(case.session)
    assert result == {"payment_id": payment.id, "gateway_ref": f"SIM-{PAYOUT_1}", "status": "accepted",
                      "reconciled": True}  # read back from the gateway, and said so in the case's history
    assert case.gateway.pay_calls == 1
    assert case.gateway.paid == {PAYOUT_1: (Decimal("4800.00"), "claim C20261001000001")}
    assert case.claim.status == "paid"


def test_the_intent_is_written_before_any_call_and_counts_the_payments_sent(domain, case):
    effect = pay_claim(case.ctx(domain), case.claim.id, 4800)
    assert effect == Effect("payment", PAYOUT_1) and case.gateway.pay_calls == 0
    [payment] = payments(case.session)
    assert (payment.status, payment.attempts) == ("pending", 0)
    case.gateway.script.append("timeout")
    with pytest.raises(GatewayTimeoutError):
        as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    assert (payment.status, payment.attempts) == ("pending", 0)  # no outcome: nothing recorded
    as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    assert (payment.status, payment.attempts) == ("accepted", 1)
    assert len(case.gateway.paid) == 1 and case.gateway.pay_calls == 2


def test_a_different_amount_for_a_payment_the_gateway_already_holds_is_refused(domain, case):
    case.gateway.script.append("accept_then_timeout")
    with pytest.raises(GatewayTimeoutError):
        as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    with pytest.raises(RuntimeError, match=f"payment {PAYOUT_1} is open for 4800.00, not the 4500.00"):
        as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4500)
    assert case.gateway.pay_calls == 1 and [p.status for p in payments(case.session)] == ["pending"]
    assert case.claim.paid_amount is None


@pytest.mark.parametrize("listed_by", ["account", "name", "id_number"])
def test_a_watch_listed_payee_stops_the_payout_before_the_gateway(domain, case, listed_by):
    cipher = domain.services.cipher
    entry = {"account": {"account_hash": cipher.lookup_hash(ACCOUNT)}, "name": {"name": "Zhao Min"},
             "id_number": {"id_number_hash": case.holder.id_number_hash}}[listed_by]
    case.session.add(WatchListRecord(reason="sanctions", listed_on=date(2026, 1, 1), **entry))
    case.session.flush()
    with pytest.raises(BpmnError) as caught:
        as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4800)
    assert (caught.value.code, caught.value.data) == ("payment_failed", {"reason": "aml_hit"})
    assert case.gateway.pay_calls == 0
    assert payments(case.session) == []
    assert case.claim.status == "approved"


def test_pay_claim_refuses_a_rejected_claim(domain, case):
    case.claim.status = "rejected"
    with pytest.raises(ValueError):
        pay_claim(case.ctx(domain), case.claim.id, 4800)
    assert case.gateway.pay_calls == 0


def test_pay_claim_refuses_a_non_positive_amount(domain, case):
    with pytest.raises(ValueError, match=r"nothing to pay .* deny the claim instead"):
        pay_claim(case.ctx(domain), case.claim.id, 0)
    assert case.gateway.pay_calls == 0


def test_pay_claim_refuses_more_than_is_left_of_the_sum_insured(domain, case):
    case.policy.remaining_sum_insured = Decimal("4000")  # another claim on the policy was paid meanwhile
    with pytest.raises(ValueError, match=r"4800\.00 is more than the 4000\.00 left of the sum insured of policy P0+1"):
        pay_claim(case.ctx(domain), case.claim.id, 4800)
    assert payments(case.session) == [] and case.gateway.pay_calls == 0
    assert as_engine_step(case.ctx(domain), pay_claim, case.claim.id, 4000)["status"] == "accepted"


# --- refunds ------------------------------------------------------------------------------------------

REFUND_ACCOUNT = "6217000000000099"


@pytest.fixture
def holders_account(domain, case):
    """REFUND_ACCOUNT verified as an account in the policyholder's own name."""
    cipher = domain.services.cipher
    case.session.add(HolderAccountRecord(customer_id=case.policy.holder_id, account_enc=cipher.encrypt(REFUND_ACCOUNT),
                                         account_hash=cipher.lookup_hash(REFUND_ACCOUNT), verified_by="counter",
                                         verified_at=datetime(2026, 1, 1, tzinfo=UTC)))
    case.session.flush()
    return REFUND_ACCOUNT


def test_pay_refund_to_an_account_not_in_the_holders_name_is_refused_before_the_bank(domain, case):
    with pytest.raises(BpmnError) as caught:
        as_engine_step(case.ctx(domain), pay_refund, case.policy.id, 1190, REFUND_ACCOUNT)
    assert caught.value.data == {"reason": "account_refused", "reasons": ["not_holders_account"]}
    assert case.gateway.pay_calls == 0 and payments(case.session) == []


def test_pay_refund_to_a_staff_members_account_is_refused_even_when_registered_to_the_holder(
        domain, case, holders_account):
    cipher = domain.services.cipher
    case.session.add(StaffAccountRecord(username="agent", account_enc=cipher.encrypt(REFUND_ACCOUNT),
                                        account_hash=cipher.lookup_hash(REFUND_ACCOUNT),
                                        registered_at=datetime(2026, 1, 1, tzinfo=UTC)))
    case.session.flush()
    with pytest.raises(BpmnError) as caught:
        as_engine_step(case.ctx(domain), pay_refund, case.policy.id, 1190, REFUND_ACCOUNT)
    assert caught.value.data == {"reason": "account_refused", "reasons": ["staff_account"]}
    assert case.gateway.pay_calls == 0


@pytest.mark.usefixtures("holders_account")
def test_pay_refund_pays_the_given_account_once(domain, case):
    result = as_engine_step(case.ctx(domain), pay_refund, case.policy.id, 1190, REFUND_ACCOUNT)
    again = as_engine_step(case.ctx(domain), pay_refund, case.policy.id, 1190, REFUND_ACCOUNT)
    [payment] = payments(case.session)
    assert result == again == {"payment_id": payment.id, "gateway_ref": f"SIM-{REFUND_1}", "status": "accepted",
                               "reconciled": False}
    assert (payment.kind, payment.claim_id, payment.policy_id) == ("refund", None, case.policy.id)
    assert domain.services.cipher.decrypt(payment.payee_account_enc) == REFUND_ACCOUNT
    assert case.gateway.paid == {REFUND_1: (Decimal("1190.00"), "refund policy P000000001")}


@pytest.mark.usefixtures("holders_account")
def test_pay_refund_accepted_then_timed_out_pays_once_on_retry(domain, case):
    case.gateway.script.append("accept_then_timeout")
    with pytest.raises(GatewayTimeoutError):
        as_engine_step(case.ctx(domain), pay_refund, case.policy.id, 1190, REFUND_ACCOUNT)
    assert as_engine_step(case.ctx(domain), pay_refund, case.policy.id, 1190, REFUND_ACCOUNT)["status"] == "accepted"
    assert case.gateway.pay_calls == 1
    assert len(payments(case.session)) == 1


@pytest.mark.usefixtures("holders_account")
def test_pay_refund_declined_is_a_bpmn_error(domain, case):
    case.gateway.script.append("decline")
    with pytest.raises(BpmnError) as caught:
        as_engine_step(case.ctx(domain), pay_refund, case.policy.id, 1190, REFUND_ACCOUNT)
    assert (caught.value.code, caught.value.data) == ("payment_failed", {"reason": "declined"})
    assert payments(case.session)[0].status == "failed"


@pytest.mark.usefixtures("holders_account")
def test_pay_refund_to_a_watch_listed_account_is_an_aml_hit(domain, case):
    cipher = domain.services.cipher
    case.session.add(WatchListRecord(account_hash=cipher.lookup_hash(REFUND_ACCOUNT), reason="sanctions",
                                     listed_on=date(2026, 1, 1)))
    case.session.flush()
    with pytest.raises(BpmnError) as caught:
        as_engine_step(case.ctx(domain), pay_refund, case.policy.id, 1190, REFUND_ACCOUNT)
    assert caught.value.data == {"reason": "aml_hit"}
    assert case.gateway.pay_calls == 0


def test_pay_refund_of_nothing_sends_nothing(domain, case):
    result = pay_refund(case.ctx(domain), case.policy.id, 0, REFUND_ACCOUNT)
    assert result == {"payment_id": None, "gateway_ref": None, "status": "nothing_to_pay", "reconciled": False}
    assert case.gateway.pay_calls == 0
    assert payments(case.session) == []
