"""check_submission: task data must be an object of allowed field names that satisfies the task's JSON Schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.errors import InvalidInputError
from engine.workflow.forms import check_submission

CLAIM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["claimant", "amount", "loss_date"],
    "properties": {
        "claimant": {"type": "string", "minLength": 1},
        "amount": {"type": "number", "exclusiveMinimum": 0},
        "loss_date": {"type": "string", "format": "date"},
        "cause": {"enum": ["fire", "water", "theft"]},
        "address": {
            "type": "object",
            "required": ["city"],
            "properties": {"city": {"type": "string"}, "postcode": {"type": "string", "pattern": "^[0-9]{6}$"}},
        },
        "items": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "required": ["qty"],
                "properties": {"qty": {"type": "integer", "minimum": 1}},
            },
        },
    },
    "additionalProperties": False,
}

VALID = {"claimant": "Li Wei", "amount": 1250.5, "loss_date": "2026-02-28"}


def failing_fields(data: Any, schema: dict[str, Any] | None = CLAIM) -> dict[str, str]:
    """The `details["fields"]` of the InvalidInputError `check_submission` must raise."""
    with pytest.raises(InvalidInputError) as caught:
        check_submission(data, schema)
    return caught.value.details["fields"]


# --- accepted -----------------------------------------------------------------------------------

def test_valid_data_passes() -> None:
    check_submission(dict(VALID), CLAIM)


def test_valid_data_with_nested_object_array_and_enum_passes() -> None:
    data = {**VALID, "cause": "water", "address": {"city": "Hangzhou", "postcode": "310000"},
            "items": [{"qty": 1}, {"qty": 4}]}
    check_submission(data, CLAIM)


def test_without_a_schema_any_object_with_allowed_names_passes() -> None:
    check_submission({"anything": [1, {"nested": None}], "n": 3.5}, None)
    check_submission({}, None)


# --- the shape of the data ----------------------------------------------------------------------

@pytest.mark.parametrize("data", [[], "text", 3, None, [("claimant", "x")]])
def test_data_that_is_not_an_object_is_refused(data: Any) -> None:
    assert failing_fields(data, None) == {"": "expected an object"}


@pytest.mark.parametrize("key", ["_hidden", "__class__", "two words", "1st", "claim-no", ""])
def test_field_names_must_be_identifiers_not_starting_with_underscore(key: str) -> None:
    assert failing_fields({key: 1, "ok": 2}, None) == {key: "not an allowed field name"}


def test_every_bad_field_name_is_listed_and_a_non_string_key_is_shown_as_text() -> None:
    fields = failing_fields({"_a": 1, "b c": 2, 7: 3, "fine": 4}, None)
    assert set(fields) == {"_a", "b c", "7"}


def test_field_names_are_checked_before_the_schema() -> None:
    with pytest.raises(InvalidInputError, match="identifiers") as caught:
        check_submission({**VALID, "_x": 1}, CLAIM)
    assert caught.value.details["fields"] == {"_x": "not an allowed field name"}


# --- schema validation --------------------------------------------------------------------------

def test_a_missing_required_field_is_reported_under_its_own_name() -> None:
    data = dict(VALID)
    del data["amount"]
    assert failing_fields(data) == {"amount": "is required"}


def test_every_failing_field_is_listed_not_only_the_first() -> None:
    fields = failing_fields({"claimant": "", "amount": -5, "loss_date": "2026-02-28"})
    assert set(fields) == {"claimant", "amount"}


def test_every_missing_required_field_is_listed() -> None:
    assert failing_fields({}) == {"claimant": "is required", "amount": "is required", "loss_date": "is required"}


def test_a_wrong_type_names_the_field_and_the_expected_type() -> None:
    fields = failing_fields({**VALID, "amount": "a lot"})
    assert list(fields) == ["amount"]
    assert "number" in fields["amount"]


@pytest.mark.parametrize("bad_date", ["2026-02-30", "2026-13-01", "28.02.2026", "yesterday"])
def test_a_date_field_is_checked_against_the_date_format(bad_date: str) -> None:
    fields = failing_fields({**VALID, "loss_date": bad_date})
    assert list(fields) == ["loss_date"]
    assert "date" in fields["loss_date"]


def test_a_value_outside_the_enum_is_refused() -> None:
    fields = failing_fields({**VALID, "cause": "meteor"})
    assert list(fields) == ["cause"]
    assert "meteor" in fields["cause"]


def test_errors_in_a_nested_object_are_keyed_by_dotted_path() -> None:
    fields = failing_fields({**VALID, "address": {"postcode": "12"}})
    assert fields == {"address.city": "is required", "address.postcode": fields["address.postcode"]}
    assert "does not match" in fields["address.postcode"]


def test_errors_in_array_items_are_keyed_by_index() -> None:
    fields = failing_fields({**VALID, "items": [{"qty": 2}, {"qty": 0}, {}]})
    assert set(fields) == {"items.1.qty", "items.2.qty"}
    assert fields["items.2.qty"] == "is required"
    assert "minimum" in fields["items.1.qty"]


def test_an_array_level_error_is_keyed_by_the_array_field() -> None:
    fields = failing_fields({**VALID, "items": [{"qty": 1}] * 4})
    assert list(fields) == ["items"]


def test_an_unexpected_field_is_refused_under_its_own_name() -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_submission({**VALID, "surprise": 1}, CLAIM)
    assert caught.value.details["fields"] == {"surprise": "is not a field of this form"}


def test_date_time_format_is_checked() -> None:
    schema = {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}}
    check_submission({"at": "2026-11-22T09:00:00+08:00"}, schema)
    with pytest.raises(InvalidInputError) as caught:
        check_submission({"at": "next tuesday"}, schema)
    assert set(caught.value.details["fields"]) == {"at"}


def test_the_message_counts_the_failing_fields_and_names_the_first() -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_submission({"claimant": "x", "amount": 0}, CLAIM)
    assert caught.value.message.startswith("2 fields invalid: ")
    first = next(iter(caught.value.details["fields"]))
    assert first in caught.value.message


def test_one_failing_field_is_reported_in_the_singular() -> None:
    with pytest.raises(InvalidInputError, match=r"^1 field invalid: amount: is required$"):
        check_submission({"claimant": "x", "loss_date": "2026-01-01"}, CLAIM)


def test_the_schema_is_not_modified_by_checking() -> None:
    before = copy.deepcopy(CLAIM)
    failing_fields({})
    check_submission(dict(VALID), CLAIM)
    assert before == CLAIM
