"""How the task page turns a JSON Schema into fields and the posted form back into task data, puts the
engine's messages into the user's language, and fills the diagram's instructions in a sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel
from werkzeug.datastructures import MultiDict

from engine.errors import InvalidInputError
from engine.workflow.forms import check_submission
from webui import form_errors, forms_posted, forms_render

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"


@pytest.fixture
def app() -> Flask:
    """A bare app with translations: the messages in English, the app's default language."""
    bare = Flask(__name__)
    Babel(bare)
    return bare


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
    data = forms_posted.to_data(schema, forms_posted.raw_values(schema, posted))
    assert data == {"product_line": "medical", "smoker": False, "height_cm": 172.5, "weight_kg": 70,
                    "chronic_disease": True,
                    "occupation_class": 2}


def test_money_accepts_thousands_separators_and_bad_numbers_go_to_validation_as_typed() -> None:
    schema = _schema("claims_register_claim")
    assert forms_posted.to_data(schema, {"claimed_amount": "12,500.50"})["claimed_amount"] == 12500.5
    assert forms_posted.to_data(schema, {"claimed_amount": "¥ 3 000"})["claimed_amount"] == 3000
    assert forms_posted.to_data(schema, {"claimed_amount": "lots"})["claimed_amount"] == "lots"
    assert forms_posted.to_data(_schema("sales_needs_analysis"), {"dependents": "1.5"})["dependents"] == "1.5"


def test_checkboxes_become_lists_and_unchecked_lists_are_empty() -> None:
    schema = _schema("claims_register_claim")
    raw = forms_posted.raw_values(schema, MultiDict([("documents", "photos"), ("documents", "id_copy")]))
    assert forms_posted.to_data(schema, raw)["documents"] == ["photos", "id_copy"]
    assert forms_posted.to_data(schema, forms_posted.raw_values(schema, MultiDict()))["documents"] == []


def test_an_unticked_box_that_must_be_ticked_is_left_out_so_it_reads_as_missing() -> None:
    schema = _schema("sales_customer_acknowledgement")
    assert "acknowledged" not in forms_posted.to_data(schema, {})
    assert forms_posted.to_data(schema, {"acknowledged": "true"})["acknowledged"] is True


def test_task_data_fills_the_form_again() -> None:
    raw = forms_posted.raw_from_data(_schema("sales_application"), {"smoker": True, "occupation_class": 3,
                                                                    "unrelated": "x"})
    assert raw == {"smoker": "true", "occupation_class": "3"}


def test_engine_problems_are_translated_by_kind_and_parameters_never_by_their_english_text(app) -> None:
    with app.test_request_context():
        def say(kind: str, params: dict | None = None, message: str = "the engine's words") -> str:
            return form_errors.localize(kind, params or {}, message)

        assert say("required") == "This field is required."
        assert say("pattern", {"value": "^[0-9]{12,19}$"}) == "This is not in the expected format."
        assert say("exclusiveMinimum", {"value": 0}) == "Must be more than 0."
        assert say("maximum", {"value": 3.0}) == "Must be at most 3.0."
        assert say("maxLength", {"value": 4000}) == "This text is too long: at most 4000 characters."
        assert say("const", {"value": True}) == "This box must be ticked."
        assert say("type", {"value": ["number", "null"]}) == "Enter a number."
        assert say("format", {"value": "date"}) == "Enter a valid date (YYYY-MM-DD)."
        assert say("something_new", {}, "something new") == "something new"
        assert say("above_remaining_cover", {"remaining": "1000.00"}) == (
            "At most 1000.00 CNY can be paid: the remaining sum insured.")
        assert say("control_character") == "Remove the control characters from this text."
        assert say("not_finite") == "Enter a number."


def test_a_reworded_jsonschema_message_changes_nothing_the_user_reads(app) -> None:
    """The engine reports each failing field's keyword and its value; the page translates those, so the English
    text jsonschema writes may change in any release without breaking the Chinese (or English) errors."""
    schema = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 5},
                                               "amount": {"type": "number", "exclusiveMinimum": 0}},
              "required": ["note"], "additionalProperties": False}
    with pytest.raises(InvalidInputError) as caught:
        check_submission({"amount": 0, "extra": 1}, schema)
    details = caught.value.details
    assert details["codes"] == {"note": {"kind": "required", "params": {}},
                                "amount": {"kind": "exclusiveMinimum", "params": {"value": 0}},
                                "extra": {"kind": "unknown_field", "params": {}}}
    reworded = dict(details, fields={path: "quelque chose" for path in details["fields"]})
    with app.test_request_context():
        assert form_errors.localized_errors(reworded) == form_errors.localized_errors(details) == {
            "note": "This field is required.", "amount": "Must be more than 0.",
            "extra": "This is not a field of this form."}
    with pytest.raises(InvalidInputError) as caught:
        check_submission({"note": "x" * 6}, schema)
    with app.test_request_context():
        assert form_errors.localized_errors(caught.value.details) == {
            "note": "This text is too long: at most 5 characters."}


def test_instructions_are_filled_from_the_task_data_and_escaped() -> None:
    text = "Pay {{ amount }} CNY to {{ claim['name'] }}."
    rendered = forms_render.instructions(text, {"amount": 59500, "claim": {"name": "<b>Li</b>"}})
    assert str(rendered) == "Pay 59500 CNY to &lt;b&gt;Li&lt;/b&gt;."


def test_instructions_cannot_reach_python_internals() -> None:
    hostile = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    rendered = str(forms_render.instructions(hostile, {}))
    assert "subclasses" in rendered and "<class" not in rendered  # shown as written, not run
    assert str(forms_render.instructions("{{ missing }} ok", {})) == " ok"
