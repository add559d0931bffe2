"""The task page: every field type of real forms, instructions, case context; field-level messages
that keep what was entered; drafts; a task completed twice or by someone else."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.errors import ConflictError
from engine.workflow import task_service
from services.demo.data import demo_identity
from tests.e2e.api_support import days_ago, demo_task, open_task
from tests.e2e.conftest import Site

NAME, ID_NUMBER, _PHONE = demo_identity(0)
CLAIM = {
    "policy_number": "PDEMO0001", "claimant_name": NAME, "claimant_id_number": ID_NUMBER,
    "incident_date": days_ago(33), "claim_type": "hospitalization", "cause_of_loss": "illness",
    "description": "Three nights in hospital",
    "claimed_amount": "12,500.50", "documents": ["claim_form", "id_copy", "bank_card", "medical_invoice",
                                                 "discharge_summary"],
    "payee_account": "6222020200112233445", "region": "beijing",
}


def _client(site: Site, user: str, lang: str = "en") -> FlaskClient:
    client = site.signed_in(user)
    client.post("/language", data={"lang": lang})
    return client


def _start(client: FlaskClient, process: str) -> str:
    response = client.post(f"/start/{process}")
    assert response.status_code == 302 and response.location.startswith("/tasks/"), response.location
    return response.location


def _input(page: str, name: str) -> str:
    """The opening tag of the input, select or textarea named `name`."""
    found = re.search(rf'<(input|select|textarea)\b[^>]*\bname="{name}"[^>]*>', page)
    assert found is not None, f"no field {name}"
    return found[0]


def _error(page: str, name: str) -> str | None:
    found = re.search(rf'id="err-{name}">([^<]*)<', page)
    return found[1] if found else None


def test_register_claim_renders_each_field_type_with_labels_and_instructions(site: Site) -> None:
    client = _client(site, "claims.clerk")
    page = client.get(_start(client, "claims")).get_data(as_text=True)
    assert "Register claim (first notice of loss)" in page and "Enter the claim as the claimant reports it" in page
    assert 'type="text"' in _input(page, "policy_number") and 'maxlength="30"' in _input(page, "policy_number")
    assert 'type="date"' in _input(page, "incident_date")
    assert _input(page, "claim_type").startswith("<select") and '<option value="total_loss" >Total loss' in page
    assert _input(page, "description").startswith("<textarea")
    assert re.search(r'<span class="input-group-text">¥</span>\s*<input[^>]*name="claimed_amount"', page)
    assert len(re.findall(r'type="checkbox"\s+name="documents"', page)) == 10 and "Copy of ID card" in page
    assert _input(page, "region").startswith("<select") and ">Hangzhou</option>" in page
    assert re.search(r'type="radio"\s+name="cause_of_loss"[^>]*value="accident"', page)
    assert page.count('<span class="text-danger" aria-hidden="true">*</span>') == 11  # every field is required


def test_customer_registration_has_a_yes_no_choice_and_chinese_labels(site: Site) -> None:
    client = _client(site, "agent", "zh")
    page = client.get(_start(client, "sales")).get_data(as_text=True)
    assert re.search(r'type="radio"\s+name="consent"[^>]*value="true"', page)
    assert re.search(r'type="radio"\s+name="consent"[^>]*value="false"', page)
    assert "客户同意处理其个人信息" in page and "居民身份证号码" in page and "出生日期" in page
    assert 'type="date"' in _input(page, "birth_date") and ">杭州</option>" in page


def _to_application(client: FlaskClient) -> str:
    url = _start(client, "sales")
    steps = [
        {"consent": "true", "name": "Zhou Min", "id_number": "110101199003071234", "birth_date": "1990-03-07",
         "phone": "13800138000", "region": "beijing"},
        {"income": "300000", "dependents": "1", "existing_cover": "0", "goal": "medical", "risk_tolerance": "low"},
        {"product_code": "MED01", "sum_insured": "200000", "term_years": "5"},
    ]
    for data in steps:
        response = client.post(url, data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        url = response.location
    return url


def test_an_agent_goes_from_step_to_step_and_the_application_shows_numbers_choices_and_text(site: Site) -> None:
    client = _client(site, "agent")
    page = client.get(_to_application(client)).get_data(as_text=True)
    assert "Application and health declaration" in page
    assert 'inputmode="decimal"' in _input(page, "height_cm")
    assert len(re.findall(r'type="radio"\s+name="occupation_class"', page)) == 4 and "4 - hazardous work" in page
    assert re.search(r'type="radio"\s+name="smoker"[^>]*value="true"', page)
    assert _input(page, "health_declaration").startswith("<textarea")


def test_needs_analysis_has_whole_number_and_choice_fields(site: Site) -> None:
    task_id, _instance = demo_task(site, "needs_analysis")
    page = _client(site, "agent").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'inputmode="numeric"' in _input(page, "dependents")
    assert len(re.findall(r'type="radio"\s+name="risk_tolerance"', page)) == 3


def test_invalid_input_shows_messages_next_to_the_fields_and_keeps_what_was_entered(site: Site) -> None:
    client = _client(site, "claims.clerk")
    url = _start(client, "claims")
    bad: dict[str, Any] = {**CLAIM, "claimant_id_number": "12345", "claimed_amount": "a lot", "region": "",
                           "incident_date": "2026-13-45"}
    response = client.post(url, data=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Please correct the marked fields." in page
    assert _error(page, "claimant_id_number") == "This is not in the expected format."
    assert _error(page, "claimed_amount") == "Enter a number."
    assert _error(page, "region") == "This field is required."
    assert _error(page, "incident_date") == "Enter a valid date (YYYY-MM-DD)."
    assert _error(page, "policy_number") is None and _error(page, "description") is None
    assert 'value="12345"' in _input(page, "claimant_id_number") and 'value="a lot"' in _input(page, "claimed_amount")
    assert "is-invalid" in _input(page, "claimed_amount") and "is-invalid" not in _input(page, "policy_number")
    assert ">Three nights in hospital</textarea>" in page
    assert re.search(r'name="documents"[^>]*value="discharge_summary"\s+checked', page)
    assert _error(client.post(url, data={**bad, "region": "mars"}).get_data(as_text=True), "region") == (
        "Choose one of the listed options.")


def test_field_messages_are_in_the_users_language(site: Site) -> None:
    client = _client(site, "claims.clerk", "zh")
    page = client.post(_start(client, "claims"), data={**CLAIM, "claimant_id_number": "1"}).get_data(as_text=True)
    assert _error(page, "claimant_id_number") == "格式不正确。" and "请更正标出的字段。" in page


def test_a_valid_claim_is_registered_and_submitting_it_again_changes_nothing(site: Site) -> None:
    client = _client(site, "claims.clerk")
    url = _start(client, "claims")
    response = client.post(url, data=CLAIM)
    assert response.status_code == 302 and response.location == "/"
    assert re.search(r"Done: “Register claim \(first notice of loss\)” is completed for case C\d{14}\.",
                     client.get("/").get_data(as_text=True))
    adjuster = _client(site, "adjuster")
    # the demo's two (an outpatient and a death claim) + this one
    assert adjuster.get("/?scope=role").get_data(as_text=True).count('data-task-id="') == 3
    again = client.post(url, data={**CLAIM, "claimed_amount": "99999"})
    assert again.status_code == 302 and again.location == "/"
    assert "This task was already completed" in client.get("/").get_data(as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert "This task was completed by claims.clerk." in page and 'id="task-form"' not in page
    assert "¥12,500.50" in page and "99999" not in page  # the first submission stands, the second left no trace


def test_a_draft_is_saved_restored_and_discarded(site: Site) -> None:
    client = _client(site, "claims.clerk")
    url = _start(client, "claims")
    draft = {"policy_number": "PDEMO0002", "claimant_id_number": ID_NUMBER, "description": "Half written",
             "documents": ["photos"], "action": "draft"}
    response = client.post(url, data=draft)
    assert response.status_code == 302 and response.location == url
    page = client.get(url).get_data(as_text=True)
    assert "Draft saved." in page and "Your saved draft is shown." in page
    assert 'value="PDEMO0002"' in _input(page, "policy_number") and ">Half written</textarea>" in page
    assert re.search(r'name="documents"[^>]*value="photos"\s+checked', page)
    serializer = site.app.session_interface.get_signing_serializer(site.app)
    session = serializer.loads(client.get_cookie("session").value)
    assert session["drafts"] and ID_NUMBER not in str(session) and "Half written" not in str(session)
    client.post(url, data={"action": "discard"})
    page = client.get(url).get_data(as_text=True)
    assert "Draft discarded." in page and "PDEMO0002" not in page


def test_a_draft_too_large_for_the_session_is_refused_with_a_message(site: Site) -> None:
    client = _client(site, "claims.clerk")
    url = _start(client, "claims")
    noise = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(3000))  # incompressible text
    client.post(url, data={"description": noise, "action": "draft"})
    page = client.get(url).get_data(as_text=True)
    assert "This draft is too large to keep" in page and "Your saved draft is shown." not in page


def test_a_task_held_by_someone_else_is_shown_read_only_and_refuses_a_submission(site: Site) -> None:
    task_id, _instance = demo_task(site, "conduct_survey")  # held by surveyor.zhang
    # Another surveyor has no part in the case (need to know); the claims manager, whose duty covers every
    # claim, sees the task read-only.
    assert _client(site, "surveyor.li").get(f"/tasks/{task_id}").status_code == 403
    client = _client(site, "claims.manager")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "surveyor.zhang holds this task." in page and "<fieldset disabled>" in page
    response = client.post(f"/tasks/{task_id}", data={"assessed_loss": "1000", "total_loss": "false",
                                                      "report": "My report"})
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and "You may not complete this task" in page and "My report" in page


def test_people_outside_the_case_may_not_open_its_tasks(site: Site) -> None:
    task_id, _instance = demo_task(site, "assess_amount")
    assert _client(site, "agent").get(f"/tasks/{task_id}").status_code == 403
    assert _client(site, "agent").get("/tasks/999999").status_code == 404


def test_the_case_context_masks_personal_data_for_roles_that_do_not_need_it(site: Site) -> None:
    task_id, _instance = demo_task(site, "approve_payout")
    manager = _client(site, "claims.manager").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert ID_NUMBER not in manager and f"••••{ID_NUMBER[-4:]}" in manager
    assert "The adjuster assessed 59500 CNY (claimed 60000 CNY" in manager
    assert "It needs your approval because it is above the adjuster's approval limit of 50000 CNY;" in manager
    assert "Recent history" in manager and "adjuster (Adjuster) completed “Assess amount”" in manager


def test_a_completed_step_leads_to_the_next_step_of_the_same_person(site: Site) -> None:
    task_id, instance_id = demo_task(site, "needs_analysis")
    client = _client(site, "agent")
    response = client.post(f"/tasks/{task_id}", data={"income": "300000", "dependents": "0", "existing_cover": "0",
                                                      "goal": "medical", "risk_tolerance": "medium"})
    assert response.status_code == 302
    assert response.location == f"/tasks/{open_task(site, instance_id, 'present_quote')}"


def test_a_conflict_while_the_task_still_waits_keeps_every_value(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(site, "claims.clerk")
    url = _start(client, "claims")

    def stale(*_args: Any, **_kwargs: Any) -> None:
        raise ConflictError("instance changed meanwhile (version 3, expected 2)")

    monkeypatch.setattr(task_service, "complete", stale)  # the case moved on between reading and saving
    response = client.post(url, data=CLAIM)
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "The case changed while you were working on it." in page
    assert 'value="PDEMO0001"' in _input(page, "policy_number") and ">Three nights in hospital</textarea>" in page
