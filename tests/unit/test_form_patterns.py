"""Form patterns run in linear time: the classic catastrophic pattern answers at once, backreferences and
lookaround are refused at deployment with the pattern named, and matching stays what forms expect."""

from __future__ import annotations

import pytest

from engine.errors import InvalidInputError
from engine.workflow.form_checks import form_problems as _form_problems
from engine.workflow.forms import check_submission

CATASTROPHIC = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(a+)+$"}}}


def test_a_catastrophic_pattern_is_answered_without_backtracking() -> None:
    # Python's re needs about 2^30 steps here (13.85 s measured on 29 characters); RE2 is linear.
    with pytest.raises(InvalidInputError) as refused:
        check_submission({"code": "a" * 40 + "!"}, CATASTROPHIC)
    assert refused.value.details["fields"] == {"code": "'" + "a" * 40 + "!' does not match '^(a+)+$'"}
    check_submission({"code": "a" * 40}, CATASTROPHIC)


@pytest.mark.parametrize(("value", "ok"), [("11010519491231002X", True), ("1101051949123100", False),
                                           ("11010519491231002x", True), ("1101051949123100ZX", False)])
def test_patterns_match_as_forms_expect(value: str, ok: bool) -> None:
    schema = {"type": "object", "properties": {"id": {"type": "string", "pattern": "^[0-9]{17}[0-9Xx]$"}}}
    if ok:
        check_submission({"id": value}, schema)
    else:
        with pytest.raises(InvalidInputError):
            check_submission({"id": value}, schema)


def test_pattern_properties_are_matched_the_same_way() -> None:
    schema = {"type": "object", "patternProperties": {"^note_[a-z]+$": {"type": "string", "maxLength": 3}}}
    check_submission({"note_a": "abc", "other": "long text"}, schema)
    with pytest.raises(InvalidInputError):
        check_submission({"note_a": "abcd"}, schema)


@pytest.mark.parametrize("pattern", [r"^(a)\1$", r"^(?=x)x$", r"^(?<!a)b$"])
def test_patterns_that_need_backtracking_are_refused_at_deployment(pattern: str) -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": pattern}}}
    (problem,) = _form_problems("forms/x.json", schema)
    assert problem.element == "properties/code/pattern"
    assert f"pattern {pattern!r} cannot be matched in bounded time" in problem.message
    assert "use RE2 syntax" in problem.message
