"""The auditor's verify button names the keyed audit chain's findings in words, in English and Chinese: an edited
payment row, a swapped stored state, and the signed checkpoint it checked against (issue 13 finding 2)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select, update

from engine.audit.integrity import write_signed_checkpoint
from engine.workflow.models import InstanceModel
from tasks.payment_records import PaymentRecord
from tests.e2e.conftest import Site
from tests.e2e.test_ui_audit import pay_demo_claim


def _client(site: Site, user: str, lang: str) -> FlaskClient:
    client = site.signed_in(user)
    client.post("/language", data={"lang": lang})
    return client


def test_the_verify_button_names_an_edited_payment_and_a_swapped_state_in_words(site: Site) -> None:
    case, _key = pay_demo_claim(site)
    rt = site.wired.runtime
    client = _client(site, "auditor", "en")
    page = client.post("/audit/verify").get_data(as_text=True)
    assert "Everything is intact" in page and "There is no signed checkpoint yet" in page
    assert "money rows checked against their seals" in page
    write_signed_checkpoint(rt)
    assert "Checked against the signed checkpoint of" in client.post("/audit/verify").get_data(as_text=True)

    with rt.uow() as uow:
        payment = uow.session.scalar(select(PaymentRecord).where(PaymentRecord.status == "accepted"))
        uow.session.execute(update(PaymentRecord).where(PaymentRecord.id == payment.id)
                            .values(payee_account_enc=b"gAAAA-the-insider's-own-account"))
        other = uow.session.scalar(select(InstanceModel.state).where(InstanceModel.id != case).limit(1))
        uow.session.execute(update(InstanceModel).where(InstanceModel.id == case).values(state=other))
        uow.commit()
    page = client.post("/audit/verify").get_data(as_text=True)
    assert "Something was altered." in page
    assert f"Money row payments #{payment.id}: it was edited after the step that wrote it recorded it" in page
    assert f"Case {case}: its stored state is not the one its last event recorded: it was altered or replaced" in page
    zh = _client(site, "auditor", "zh").post("/audit/verify").get_data(as_text=True)
    assert f"资金记录 payments #{payment.id}： 它在写入它的步骤记录之后被修改了" in zh
    assert f"案件 {case}： 其存储的状态与最后一个事件记录的不一致：已被篡改或替换" in zh
