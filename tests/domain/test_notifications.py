"""notify_customer: one outbox message per step, with personal fields kept only encrypted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from tasks.handlers.notifications import notify_customer
from tasks.notices import render_notice
from tasks.office_records import NotificationRecord
from tasks.records import CustomerRecord

AT = datetime(2026, 1, 1, tzinfo=UTC)


def add_customer(domain) -> int:
    cipher = domain.services.cipher
    with domain.session_factory() as s, s.begin():
        customer = CustomerRecord(name="Wang Fang", id_number_enc=cipher.encrypt("11010519491231002X"),
                                  id_number_hash=cipher.lookup_hash("11010519491231002X"),
                                  birth_date=date(1949, 12, 31), consent_at=AT, created_at=AT)
        s.add(customer)
        s.flush()
        return customer.id


def notify(domain, customer_id: int, template: str, params, *, key: str = "1:notify", **channel: str) -> dict:
    with domain.session_factory() as s, s.begin():
        return notify_customer(domain.ctx(s, key=key), customer_id, template, params, **channel)


def outbox(domain) -> list[NotificationRecord]:
    with domain.session_factory() as s:
        return list(s.scalars(select(NotificationRecord).order_by(NotificationRecord.id)))


def test_a_notification_is_queued_for_the_customer_with_its_template_and_params(domain) -> None:
    customer_id = add_customer(domain)
    # (an SMS template; "policy_issued" is a written notice with params of its own, tasks/notices.py)
    result = notify(domain, customer_id, "premium_due", {"policy_number": "P26000000015", "premium": Decimal("879.60")})
    (note,) = outbox(domain)
    assert result == {"notification_id": note.id}
    assert (note.customer_id, note.template, note.channel) == (customer_id, "premium_due", "sms")
    assert note.params == {"policy_number": "P26000000015", "premium": Decimal("879.60")}
    assert note.created_at == domain.clock.now
    assert note.sent_at is None


def test_notifying_twice_in_the_same_step_queues_one_message(domain) -> None:
    customer_id = add_customer(domain)
    first = notify(domain, customer_id, "claim_paid", {"amount": 1200.0})
    second = notify(domain, customer_id, "claim_paid", {"amount": 1200.0})
    assert first == second
    assert len(outbox(domain)) == 1


def test_another_step_queues_another_message(domain) -> None:
    customer_id = add_customer(domain)
    notify(domain, customer_id, "application_declined", {}, key="1:notify")
    notify(domain, customer_id, "application_declined", {}, key="2:notify")
    assert [n.template for n in outbox(domain)] == ["application_declined", "application_declined"]


def test_personal_fields_in_the_params_are_stored_encrypted(domain) -> None:
    customer_id = add_customer(domain)
    notify(domain, customer_id, "claim_paid", {"amount": 1200.0, "payee_account": "6222020200112233445"})
    (note,) = outbox(domain)
    assert note.params["amount"] == 1200.0
    assert "6222020200112233445" not in str(note.params)
    assert domain.services.cipher.reveal("notification", note.params)["payee_account"] == "6222020200112233445"


def test_no_params_is_an_empty_object(domain) -> None:
    notify(domain, add_customer(domain), "application_declined", None)
    assert outbox(domain)[0].params == {}


@pytest.mark.parametrize(("template", "params", "error"), [
    ("", {}, ValueError), ("   ", {}, ValueError), ("claim_paid", ["amount"], TypeError),
])
def test_a_missing_template_or_params_that_are_not_an_object_is_a_fault(domain, template, params, error) -> None:
    customer_id = add_customer(domain)
    with pytest.raises(error):
        notify(domain, customer_id, template, params)


def test_notifying_an_unknown_customer_is_a_fault(domain) -> None:
    with pytest.raises(LookupError):
        notify(domain, 999, "claim_paid", {})


DENIAL = {"claim_number": "C20261102000001", "denial_code": "below_deductible",
          "denial_basis": "The loss does not exceed the deductible of your policy.",
          "denial_basis_zh": "本次损失金额未超过保险合同约定的免赔额，本公司无需赔付。",
          "denial_reason": "Damage of 800 CNY against a 1,000 CNY deductible.", "appeal_days": 60}


def test_a_written_notice_goes_out_as_a_letter_that_states_the_reason_and_how_to_appeal(domain) -> None:
    customer_id = add_customer(domain)
    notify(domain, customer_id, "claim_denied", DENIAL, channel="letter")
    (note,) = outbox(domain)
    assert (note.template, note.channel, note.params) == ("claim_denied", "letter", DENIAL)
    english, chinese = render_notice("claim_denied", note.params, "en"), render_notice("claim_denied", note.params)
    assert DENIAL["denial_basis"] in english and DENIAL["denial_reason"] in english
    assert "within 60 days" in english and "12378" in english and "C20261102000001" in english
    assert chinese.startswith("拒赔通知书") and DENIAL["denial_basis_zh"] in chinese and "60日内" in chinese


@pytest.mark.parametrize("left_out", ["denial_reason", "appeal_days", "denial_basis_zh"])
def test_a_written_notice_without_a_param_it_quotes_is_a_fault_and_nothing_is_queued(domain, left_out) -> None:
    customer_id = add_customer(domain)
    with pytest.raises(ValueError, match=f"the claim_denied notice needs {left_out}"):
        notify(domain, customer_id, "claim_denied", {**DENIAL, left_out: ""}, channel="letter")
    assert outbox(domain) == []
    with pytest.raises(ValueError, match=f"needs {left_out}"):
        render_notice("claim_denied", {k: v for k, v in DENIAL.items() if k != left_out}, "en")


def test_an_unknown_channel_or_notice_language_is_a_fault(domain) -> None:
    with pytest.raises(ValueError, match="not 'pigeon'"):
        notify(domain, add_customer(domain), "claim_paid", {}, channel="pigeon")
    with pytest.raises(ValueError, match="not 'fr'"):
        render_notice("claim_denied", DENIAL, "fr")
    with pytest.raises(LookupError, match="not a written notice"):
        render_notice("claim_paid", {}, "en")
