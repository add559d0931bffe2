"""The one JSON encoding of the engine keeps amounts exact: a Decimal is written as the number it is and read
back as that Decimal; NaN and Infinity are refused; JSON-native values are written byte for byte as Python's
json module writes them (so hashes over text written before decimals were numbers still check out)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.workflow import jsonutil

_NATIVE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@given(_NATIVE)
def test_json_native_values_are_written_exactly_as_the_standard_library_writes_them(value: object) -> None:
    assert jsonutil.canonical_dumps(value) == json.dumps(value, sort_keys=True, separators=(",", ":"),
                                                         ensure_ascii=False)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**12, max_value=10**12))
def test_an_amount_survives_any_number_of_round_trips_exactly(amount: Decimal) -> None:
    text = jsonutil.canonical_dumps({"amount": amount})
    assert text == '{"amount":' + str(amount) + "}"  # a JSON number, never a string
    back = jsonutil.loads(text)["amount"]
    assert back == amount and isinstance(back, Decimal) and str(back) == str(amount)
    assert jsonutil.to_plain({"amount": amount}) == {"amount": amount}


def test_numbers_with_a_fraction_are_read_as_decimal_and_integers_stay_int() -> None:
    assert jsonutil.loads('{"a": 0.1, "b": 3, "c": 1e2, "d": 29000.00}') == {
        "a": Decimal("0.1"), "b": 3, "c": Decimal("1E+2"), "d": Decimal("29000.00")}
    assert type(jsonutil.loads("3")) is int
    assert jsonutil.to_plain({"x": 0.1 + 0.2, "day": date(2026, 12, 7)}) == {
        "x": Decimal("0.30000000000000004"), "day": "2026-12-07"}  # a float is taken at its exact text


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), float("nan"),
                                 float("inf")])
def test_nan_and_infinity_are_refused_when_written(bad: object) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        jsonutil.canonical_dumps({"amount": bad})
    with pytest.raises(ValueError, match="not JSON compliant"):
        jsonutil.dumps([bad])


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', "[-Infinity]"])
def test_nan_and_infinity_are_refused_when_read(text: str) -> None:
    with pytest.raises(jsonutil.JSONDecodeError):
        jsonutil.loads(text)
