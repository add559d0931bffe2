"""The termination's one-time code is a secret (the term helper's item 1): only its keyed hash is kept for checking;
the outgoing text stays encrypted in the outbox until the sender takes it, and what stays stored afterwards no
longer holds the code. Checked by searching every text and binary column of every table, on both databases."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import LargeBinary, MetaData, String, Text, select
from sqlalchemy.types import JSON

from tasks.office_records import NotificationRecord
from tasks.outbox_sender import take_notification
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_scenarios import assert_replays, open_keys, rows
from tests.bpmn.test_termination_scenarios import confirm, request_termination


def stored_text(insurer: Insurer) -> dict[str, list[str]]:
    """Every text, JSON and binary value of every table, by table (binary read as latin-1)."""
    found: dict[str, list[str]] = {}
    with insurer.rt.session_factory() as session:
        meta = MetaData()
        meta.reflect(bind=session.connection())
        for table in meta.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text, LargeBinary, JSON))
                       or c.type.__class__.__name__ in ("JSONB", "BYTEA")]
            if not columns:
                continue
            for row in session.execute(select(*columns)):
                for value in row:
                    if value is None:
                        continue
                    if isinstance(value, (bytes, memoryview)):
                        text = bytes(value).decode("latin-1")
                    elif isinstance(value, str):
                        text = value
                    else:
                        text = json.dumps(value, ensure_ascii=False, default=str)
                    found.setdefault(table.name, []).append(text)
    return found


def tables_holding(insurer: Insurer, code: str) -> list[str]:
    """The tables where the code's digits appear in clear, as a number of its own (not inside a longer run of
    letters and digits such as a hash or a ciphertext, which may hold any six digits by chance)."""
    pattern = re.compile(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])")
    return sorted(name for name, values in stored_text(insurer).items() if any(pattern.search(v) for v in values))


def the_quote(insurer: Insurer) -> NotificationRecord:
    """The refund quote in the outbox."""
    [quote] = rows(insurer, NotificationRecord, NotificationRecord.template == "termination_quote")
    return quote


def send_quote(insurer: Insurer) -> dict[str, Any]:
    """The SMS sender takes the quote from the outbox: what it texts the holder."""
    with insurer.rt.session_factory() as session, session.begin():
        return take_notification(session, insurer.cipher, the_quote(insurer).id, insurer.clock())


def test_the_code_is_nowhere_in_clear_after_the_quote_is_sent(insurer: Insurer) -> None:
    case = request_termination(insurer)
    assert open_keys(insurer, case) == ["customer_confirmation"]

    queued = the_quote(insurer).params
    assert queued["one_time_code"].startswith("enc:")  # encrypted at rest until the sender takes it
    code = insurer.cipher.reveal("notification", queued)["one_time_code"]
    assert re.fullmatch(r"\d{6}", code)
    assert tables_holding(insurer, code) == []

    texted = send_quote(insurer)

    assert texted["one_time_code"] == code and texted["policy_number"] == queued["policy_number"]
    kept = the_quote(insurer)
    assert kept.sent_at == insurer.clock()
    assert "one_time_code" not in kept.params  # once sent, the code is dropped from what stays stored
    assert tables_holding(insurer, code) == []

    wrong = "000000" if code != "000000" else "111111"
    confirm(insurer, case, code=wrong)
    assert open_keys(insurer, case) == ["customer_confirmation"]
    assert insurer.data(case)["code_check"] == {"valid": False}
    confirm(insurer, case, code=code)

    assert open_keys(insurer, case) == ["approve_refund"]
    assert tables_holding(insurer, code) == []  # not in the history of the confirmation either
    assert_replays(insurer, case)


def test_a_quote_taken_twice_is_texted_once(insurer: Insurer) -> None:
    request_termination(insurer)
    send_quote(insurer)

    again = send_quote(insurer)

    assert again == {}  # already sent: nothing to text again, and no code to give
