"""The demo's cooling-off cancellation: a customer cancels a new policy through a termination case — the
amount texted with a code, confirmed, approved by finance — and the premium goes back to the account it came
from; and the accounts the demo's refunds may go to (the customers' own, and one the agent may never receive).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow import OPERATOR, instances
from tasks.crypto import PersonalDataCipher
from tasks.office_records import NotificationRecord
from tasks.outbox_sender import take_notification
from tasks.records import CustomerRecord
from tasks.refund_accounts import HolderAccountRecord, StaffAccountRecord

from .data import CUSTOMERS, demo_identity

STORY_PREMIUM_ACCOUNT = "6222020200166667777"  # the story customer's own account, the premium is paid from it
AGENT_ACCOUNT = "6222020200177778888"  # the demo agent's salary account: never a customer's refund account


def customer_account(index: int) -> str:
    """The bank account verified in the name of the demo customer at `index`."""
    return f"621700001{index:010d}"


def seed_refund_accounts(session: Session, cipher: PersonalDataCipher, now: datetime) -> None:
    """Each demo customer's verified account, and the agent's own account (idempotent)."""
    for index in range(len(CUSTOMERS)):
        person = session.scalar(select(CustomerRecord).where(
            CustomerRecord.id_number_hash == cipher.lookup_hash(demo_identity(index)[1])))
        digest = cipher.lookup_hash(customer_account(index))
        if person is not None and session.scalar(select(HolderAccountRecord.id).where(
                HolderAccountRecord.account_hash == digest)) is None:
            session.add(HolderAccountRecord(customer_id=person.id, account_enc=cipher.encrypt(customer_account(index)),
                                            account_hash=digest, verified_by="demo counter", verified_at=now))
    digest = cipher.lookup_hash(AGENT_ACCOUNT)
    if session.scalar(select(StaffAccountRecord.id).where(StaffAccountRecord.account_hash == digest)) is None:
        session.add(StaffAccountRecord(username="agent", account_enc=cipher.encrypt(AGENT_ACCOUNT), account_hash=digest,
                                       registered_at=now))
    session.flush()


def cancel_in_cooling_off(d: Any, sale: dict[str, Any], id_number: str) -> dict[str, Any]:
    """The holder of the policy sold in `sale` cancels it in the cooling-off period; the refund goes back to the
    premium's account and the sale ends cancelled. `d` is the story's Driver."""
    policy = sale["policy"]
    d.say(f"CANCELLATION — the customer calls within the cooling-off period to cancel policy {policy['policy_number']}")
    case = d.start("policy_termination", "agent")
    today = d.rt.clock().date().isoformat()
    d.do(case, "termination_request", "agent", {
        "policy_number": policy["policy_number"], "requester_id_number": id_number, "request_type": "cancellation",
        "request_date": today, "refund_to": "premium_account"})
    with d.rt.uow() as uow:  # the SMS sender takes the quote: the code leaves the outbox with the text
        texted = uow.session.scalars(select(NotificationRecord).where(
            NotificationRecord.template == "termination_quote").order_by(NotificationRecord.id.desc())).first()
        quote = (take_notification(uow.session, d.rt.services.cipher, texted.id, d.rt.clock())
                 if texted is not None else {})
        uow.commit()
    d.say(f"  the customer's phone gets: refund {quote.get('refund')} CNY (premium {quote.get('premiums_paid')} "
          f"less the {quote.get('cancellation_fee')} CNY fee) to the account ending {quote.get('account_last4')}, "
          "code ******")
    d.do(case, "customer_confirmation", "agent", {"customer_decision": "confirm",
                                                  "confirmation_code": quote.get("one_time_code", "")})
    d.do(case, "approve_refund", "finance", {"refund_decision": "approve"})
    d.say(f"  refund paid back to the account the premium came from (ending {STORY_PREMIUM_ACCOUNT[-4:]}); "
          "the policy is cancelled")
    summary = instances.deliver_message(d.rt, sale["sale"], "cancel_policy", {}, OPERATOR)
    d.tell(sale["sale"])
    return {"termination": case, "sale_status": summary.status}
