"""The claimant's access code and their own messages into the claim (issue 13, finding 7; README "Claim status").

The acknowledgement carries a random access code (only its keyed hash is kept); the code, not the ID number's
last 4 characters, opens the claim's status; wrong codes are capped per claim number across all addresses and
the lock-out is recorded in the claim's history. While the claim waits for documents the claimant can say they
sent them (`claim_documents_sent`, deliveredBy="customer" on the `documents_sent_by_claimant` boundary event):
the note reaches the clerk, the request stays open. Staff and the operator cannot deliver that message, and the
customer cannot deliver any other.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from engine.workflow import instances
from engine.workflow.access import CaseAccess, check_deliver
from engine.workflow.actors import OPERATOR, Actor
from engine.workflow.models import EventModel
from services.claim_access import (
    WRONG_CODES,
    ClaimAccess,
    check_access,
    deliver_customer_message,
    reissue_code,
)
from tasks.claim_access import ALPHABET
from tasks.claim_status import claim_status
from tasks.claimant_notes import ClaimantNoteRecord
from tasks.notices import render_notice
from tasks.office_records import NotificationRecord
from tasks.records import ClaimRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_scenarios import (
    assert_replays,
    claim_form,
    claim_missing_documents,
    handlers_run,
    open_keys,
    report_claim,
    rows,
    the_claim,
)

MESSAGE = "claim_documents_sent"


def access_code(insurer: Insurer, claim: ClaimRecord) -> str:
    """The code the claimant's latest acknowledgement tells them (the outbox keeps it encrypted)."""
    sent = [n for n in rows(insurer, NotificationRecord, NotificationRecord.template == "claim_acknowledged")
            if insurer.cipher.reveal("notification", n.params)["claim_number"] == claim.number]
    assert sent, f"no acknowledgement for {claim.number}"
    return str(insurer.cipher.reveal("notification", sent[-1].params)["access_code"])


def status(insurer: Insurer, number: str, code: str) -> tuple[ClaimAccess, dict | None]:
    access = check_access(insurer.rt, number, code)
    if not access.granted:
        return access, None
    with insurer.rt.uow() as uow:
        return access, claim_status(uow.session, access.claim_id or 0)


def wrong(code: str) -> str:
    return ("B" if code[0] != "B" else "C") + code[1:]


def test_the_acknowledgement_gives_a_random_code_kept_only_as_a_keyed_hash(insurer: Insurer) -> None:
    case = claim_missing_documents(insurer)
    claim = the_claim(insurer, case)
    code = access_code(insurer, claim)

    assert re.fullmatch(f"[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}", code)
    assert claim.access_code_hash == insurer.cipher.lookup_hash(code.replace("-", ""))
    [notice] = rows(insurer, NotificationRecord, NotificationRecord.template == "claim_acknowledged")
    assert code not in str(notice.params)  # encrypted in the outbox
    for language in ("en", "zh"):
        text = render_notice("claim_acknowledged", insurer.cipher.reveal("notification", notice.params), language)
        assert code in text and claim.number in text
    assert code not in str(insurer.history(case)) and code not in str(insurer.data(case))
    other = the_claim(insurer, report_claim(insurer, claim_form(2)))
    assert access_code(insurer, other) != code
    assert_replays(insurer, case)


def test_the_code_opens_the_status_case_insensitively_and_the_id_digits_no_longer_do(insurer: Insurer) -> None:
    claim = the_claim(insurer, claim_missing_documents(insurer))
    code = access_code(insurer, claim)

    access, found = status(insurer, f"  {claim.number.lower()} ", code.lower().replace("-", " "))
    assert access.granted and found is not None
    assert [s["status"] for s in found["steps"]] == ["registered", "documents_requested"]
    assert "paid_amount" not in found
    assert not status(insurer, claim.number, claim.check_code)[0].granted


def test_five_wrong_codes_lock_the_claim_from_every_address_and_its_history_says_so(insurer: Insurer) -> None:
    case = claim_missing_documents(insurer)
    claim = the_claim(insurer, case)
    code = access_code(insurer, claim)

    tries = [check_access(insurer.rt, claim.number, wrong(code)) for _ in range(WRONG_CODES.limit)]

    assert [t.locked for t in tries] == [False] * (WRONG_CODES.limit - 1) + [True]
    assert check_access(insurer.rt, claim.number, code).locked  # even the right code, until the day is over
    [note] = [e for e in insurer.history(case) if e["type"] == "record_changed"]
    assert note["actor"] == "claim status page" and "wrong access codes" in note["payload"]["reason"]
    # The same answer for a number no claim has: the lock does not tell whether a claim exists.
    unknown = [check_access(insurer.rt, "C19990101000001", code) for _ in range(WRONG_CODES.limit)]
    assert [t.locked for t in unknown] == [t.locked for t in tries]
    insurer.clock.advance(hours=24, seconds=1)
    assert check_access(insurer.rt, claim.number, code).granted
    assert_replays(insurer, case)


def test_a_claimant_saying_the_documents_were_sent_reaches_the_clerk_and_the_request_stays_open(
        insurer: Insurer) -> None:
    case = claim_missing_documents(insurer)
    claim = the_claim(insurer, case)
    access = check_access(insurer.rt, claim.number, access_code(insurer, claim))

    deliver_customer_message(insurer.rt, access, MESSAGE, "Posted the discharge summary today, tracking SF123.")

    assert open_keys(insurer, case) == ["request_documents"]
    assert handlers_run(insurer, case)[-1] == "svc_note_documents_sent"
    [note] = rows(insurer, ClaimantNoteRecord, ClaimantNoteRecord.instance_id == case)
    assert (note.kind, note.text) == ("documents_sent", "Posted the discharge summary today, tracking SF123.")
    delivered = [e for e in insurer.history(case) if e["type"] == "message_delivered"]
    assert delivered[-1]["actor"] == f"claimant of {claim.number}"
    # The boundary event catches once per request (SpiffWorkflow 3.2 does not re-arm it): a second word is
    # refused as "already told" and changes nothing; then the clerk records what arrived.
    before = insurer.history(case)
    with pytest.raises(ConflictError):
        deliver_customer_message(insurer.rt, access, MESSAGE, "And the invoice.")
    assert insurer.history(case) == before
    insurer.complete(case, "request_documents", "clerk", {"documents_received": ["discharge_summary"]})
    assert open_keys(insurer, case) == ["assess_amount"]
    assert_replays(insurer, case)


def test_after_the_request_is_closed_the_message_is_refused_and_nothing_changes(insurer: Insurer) -> None:
    case = claim_missing_documents(insurer)
    claim = the_claim(insurer, case)
    insurer.complete(case, "request_documents", "clerk", {"documents_received": ["discharge_summary"]})
    access = check_access(insurer.rt, claim.number, access_code(insurer, claim))
    before = insurer.history(case)

    with pytest.raises(ConflictError):
        deliver_customer_message(insurer.rt, access, MESSAGE, "Sent them.")

    assert insurer.history(case) == before
    assert rows(insurer, ClaimantNoteRecord) == []
    assert_replays(insurer, case)


def test_staff_and_the_operator_cannot_deliver_the_customers_message(insurer: Insurer) -> None:
    case = claim_missing_documents(insurer)
    before = insurer.history(case)
    clerk = insurer.actor("clerk")
    for actor in (clerk, OPERATOR):
        with pytest.raises(ForbiddenError, match="sent by the customer"):
            instances.deliver_message(insurer.rt, case, MESSAGE, {"note": "sent"}, actor)
    assert insurer.history(case) == before
    assert open_keys(insurer, case) == ["request_documents"]


def test_the_customer_path_delivers_no_other_message_and_no_other_case(insurer: Insurer) -> None:
    case = claim_missing_documents(insurer)
    other = report_claim(insurer, claim_form(2))
    before = insurer.history(other)
    # The claimant of one case has no part in another, even with that case's message.
    with pytest.raises(ForbiddenError, match="no part"):
        instances.deliver_message(insurer.rt, other, MESSAGE, {"note": "x"},
                                  Actor("claimant", frozenset(), customer_of=case))
    assert insurer.history(other) == before
    claim = the_claim(insurer, case)
    access = check_access(insurer.rt, claim.number, access_code(insurer, claim))
    with pytest.raises(ConflictError):  # nothing in the case waits for it
        deliver_customer_message(insurer.rt, access, "cancel_policy", "cancel it")


def test_a_customer_may_not_deliver_a_message_staff_deliver(insurer: Insurer) -> None:
    """The deliverer check itself: a customer relation meets an event that does not say customer."""
    class Spec:
        extensions = {"properties": {"deliveredBy": "holder"}}
        bpmn_id = bpmn_name = "survey_report"
    with pytest.raises(ForbiddenError, match="not one a customer sends"):
        check_deliver(CaseAccess(frozenset({"customer"})), Actor("claimant", frozenset(), customer_of=1), [Spec()],
                      "survey_report", 1)


@pytest.mark.parametrize("text", ["", "   ", "sent\x00", "sent\x1b[2J", "x" * 501, None])
def test_a_bad_note_is_refused_and_nothing_is_delivered(insurer: Insurer, text: object) -> None:
    case = claim_missing_documents(insurer)
    claim = the_claim(insurer, case)
    access = check_access(insurer.rt, claim.number, access_code(insurer, claim))
    before = insurer.history(case)
    with pytest.raises((ValueError, InvalidInputError)):
        deliver_customer_message(insurer.rt, access, MESSAGE, text)  # type: ignore[arg-type]
    assert insurer.history(case) == before
    assert rows(insurer, ClaimantNoteRecord) == []


def test_a_locked_claim_takes_no_message(insurer: Insurer) -> None:
    case = claim_missing_documents(insurer)
    claim = the_claim(insurer, case)
    code = access_code(insurer, claim)
    for _ in range(WRONG_CODES.limit):
        check_access(insurer.rt, claim.number, wrong(code))
    access = check_access(insurer.rt, claim.number, code)
    assert access.locked and not access.granted
    with pytest.raises(PermissionError):
        deliver_customer_message(insurer.rt, access, MESSAGE, "sent")
    with insurer.rt.uow() as uow:
        assert uow.session.scalar(select(EventModel.id).where(EventModel.type == "message_delivered")) is None


def test_staff_reissue_the_code_of_a_claim_without_one_and_the_old_code_stops_working(insurer: Insurer) -> None:
    """A claim opened before access codes has none: a claims clerk re-sends the acknowledgement with a new code."""
    case = claim_missing_documents(insurer)
    claim = the_claim(insurer, case)
    old = access_code(insurer, claim)
    with insurer.rt.uow() as uow:
        uow.session.get(ClaimRecord, claim.id).access_code_hash = None  # as migrated from before codes
        uow.commit()
    assert not check_access(insurer.rt, claim.number, old).granted
    with pytest.raises(ForbiddenError):
        reissue_code(insurer.rt, claim.number, insurer.actor("agent"))
    with pytest.raises(NotFoundError):
        reissue_code(insurer.rt, "C19990101000009", insurer.actor("clerk"))

    for _ in range(WRONG_CODES.limit):  # and the claimant locked themselves out meanwhile, then called
        check_access(insurer.rt, claim.number, old)
    assert check_access(insurer.rt, claim.number, old).locked

    reissue_code(insurer.rt, f" {claim.number.lower()}", insurer.actor("clerk"))

    new = access_code(insurer, claim)
    assert new != old and check_access(insurer.rt, claim.number, new).granted
    assert not check_access(insurer.rt, claim.number, old).granted
    notes = [e for e in insurer.history(case) if e["type"] == "record_changed"]
    assert [n["payload"]["what"] for n in notes] == ["claim_status_locked", "claim_access_code_reissued"]
    assert notes[-1]["actor"] == "clerk" and "re-issued" in notes[-1]["payload"]["reason"]
    assert new not in str(insurer.history(case))
    assert_replays(insurer, case)
