"""How the task page turns a JSON Schema into fields and the posted form back into task data, puts the
engine's messages into the user's language, and fills the diagram's instructions in a sandbox."""

from __future__ import annotations

import json
from pathlib import Path

from werkzeug.datastructures import MultiDict

from webui import forms_render

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"


def _schema(name: str) -> dict:
    return json.loads((FORMS / f"{name}.json").read_text(encoding="utf-8"))


def test_each_schema_type_gets_its_own_kind_of_field() -> None:
    kinds = {f.name: f.kind for f in forms_render.fields(_schema("claims_register_claim"), {}, {}, "en")}
    assert kinds == {"policy_number": "text", "claimant_name": "text", "claimant_id_number": "text",
                     "incident_date": "date", "claim_type": "select", "cause_of_loss": "radios",
                     "description": "textarea",
                     "claimed_amount": "money", "documents": "checkboxes", "document_files": "upload",
                     "payee_account": "text", "region": "select"}
    application = {f.name: f.kind for f in forms_render.fields(_schema("sales_application"), {}, {}, "en")}
    assert application["smoker"] == "yesno" and application["occupation_class"] == "radios"
    assert application["height_cm"] == "number" and application["health_declaration"] == "textarea"
    needs = {f.name: f.kind for f in forms_render.fields(_schema("sales_needs_analysis"), {}, {}, "en")}
    assert needs["dependents"] == "integer" and needs["income"] == "money"
    acknowledgement = forms_render.fields(_schema("sales_customer_acknowledgement"), {}, {}, "en")
    assert acknowledgement[0].kind == "checkbox"  # a box that must be ticked


def test_labels_and_choices_follow_the_language() -> None:
    field = next(f for f in forms_render.fields(_schema("claims_register_claim"), {}, {}, "zh") if f.name == "region")
    assert field.label == "出险地区" and [o.label for o in field.options][:2] == ["北京", "上海"]
    english = next(f for f in forms_render.fields(_schema("claims_register_claim"), {}, {}, "en")
                   if f.name == "region")
    assert english.label == "Region of the incident" and english.options[0].label == "Beijing"


def test_posted_values_become_typed_task_data() -> None:
    schema = _schema("sales_application")
    posted = MultiDict({"product_line": "medical", "smoker": "false", "height_cm": "172.5", "weight_kg": "70",
                        "chronic_disease": "true",
                        "occupation_class": "2", "health_declaration": "  "})
    data = forms_render.to_data(schema, forms_render.raw_values(schema, posted))
    assert data == {"product_line": "medical", "smoker": False, "height_cm": 172.5, "weight_kg": 70,
                    "chronic_disease": True,
                    "occupation_class": 2}


def test_money_accepts_thousands_separators_and_bad_numbers_go_to_validation_as_typed() -> None:
    schema = _schema("claims_register_claim")
    assert forms_render.to_data(schema, {"claimed_amount": "12,500.50"})["claimed_amount"] == 12500.5
    assert forms_render.to_data(schema, {"claimed_amount": "¥ 3 000"})["claimed_amount"] == 3000
    assert forms_render.to_data(schema, {"claimed_amount": "lots"})["claimed_amount"] == "lots"
    assert forms_render.to_data(_schema("sales_needs_analysis"), {"dependents": "1.5"})["dependents"] == "1.5"


def test_checkboxes_become_lists_and_unchecked_lists_are_empty() -> None:
    schema = _schema("claims_register_claim")
    raw = forms_render.raw_values(schema, MultiDict([("documents", "photos"), ("documents", "id_copy")]))
    assert forms_render.to_data(schema, raw)["documents"] == ["photos", "id_copy"]
    assert forms_render.to_data(schema, forms_render.raw_values(schema, MultiDict()))["documents"] == []


def test_an_unticked_box_that_must_be_ticked_is_left_out_so_it_reads_as_missing() -> None:
    schema = _schema("sales_customer_acknowledgement")
    assert "acknowledged" not in forms_render.to_data(schema, {})
    assert forms_render.to_data(schema, {"acknowledged": "true"})["acknowledged"] is True


def test_task_data_fills_the_form_again() -> None:
    raw = forms_render.raw_from_data(_schema("sales_application"), {"smoker": True, "occupation_class": 3,
                                                                    "unrelated": "x"})
    assert raw == {"smoker": "true", "occupation_class": "3"}


def test_engine_messages_are_translated_by_kind() -> None:
    assert forms_render.localize("is required") == "This field is required."
    assert forms_render.localize("'1' does not match '^[0-9]{12,19}$'") == "This is not in the expected format."
    assert forms_render.localize("0 is less than or equal to the minimum of 0") == "Must be more than 0."
    assert forms_render.localize("5 is greater than the maximum of 3.0") == "Must be at most 3.0."
    assert forms_render.localize("True was expected") == "This box must be ticked."
    assert forms_render.localize("something new") == "something new"
    assert forms_render.localize("is more than the remaining sum insured of 1000.00 CNY: at most 1000.00 can be "
                                 "paid") == "At most 1000.00 CNY can be paid: the remaining sum insured."
    assert forms_render.localize("holds a NUL or control character") == "Remove the control characters from this text."
    assert forms_render.localize("is not a finite number") == "Enter a number."


def test_instructions_are_filled_from_the_task_data_and_escaped() -> None:
    text = "Pay {{ amount }} CNY to {{ claim['name'] }}."
    rendered = forms_render.instructions(text, {"amount": 59500, "claim": {"name": "<b>Li</b>"}})
    assert str(rendered) == "Pay 59500 CNY to &lt;b&gt;Li&lt;/b&gt;."


def test_instructions_cannot_reach_python_internals() -> None:
    hostile = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    rendered = str(forms_render.instructions(hostile, {}))
    assert "subclasses" in rendered and "<class" not in rendered  # shown as written, not run
    assert str(forms_render.instructions("{{ missing }} ok", {})) == " ok"
