"""Parsing a file set: its content hash, file kinds, and the problems reported for a bad set."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from engine.workflow.parsing import content_hash, file_kind, parse_deployment

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


def fixture_files() -> dict[str, bytes]:
    return {p.relative_to(FIXTURES).as_posix(): p.read_bytes() for p in sorted(FIXTURES.rglob("*")) if p.is_file()}


# --- content_hash -------------------------------------------------------------------------------

def test_content_hash_is_a_sha256_hex_digest() -> None:
    digest = content_hash({"a.bpmn": b"<x/>"})
    assert len(digest) == 64
    int(digest, 16)


def test_content_hash_does_not_depend_on_the_order_files_are_given() -> None:
    files = {"b.bpmn": b"<b/>", "a.json": b"{}", "forms/c.json": b"[]"}
    assert content_hash(files) == content_hash(dict(reversed(list(files.items()))))


def test_content_hash_changes_when_a_file_is_renamed() -> None:
    assert content_hash({"a.bpmn": b"<x/>"}) != content_hash({"b.bpmn": b"<x/>"})


def test_content_hash_changes_when_a_file_changes_by_one_byte() -> None:
    assert content_hash({"a.bpmn": b"<x/>"}) != content_hash({"a.bpmn": b"<x />"})


def test_content_hash_changes_when_contents_swap_between_names() -> None:
    assert content_hash({"a.json": b"1", "b.json": b"2"}) != content_hash({"a.json": b"2", "b.json": b"1"})


def test_content_hash_changes_when_a_file_is_added() -> None:
    base = {"a.bpmn": b"<x/>"}
    assert content_hash(base) != content_hash({**base, "b.json": b""})


def test_content_hash_of_the_same_set_is_stable() -> None:
    assert content_hash(fixture_files()) == content_hash(fixture_files())


def test_content_hash_of_no_files_is_the_hash_of_nothing() -> None:
    assert content_hash({}) == hashlib.sha256(b"").hexdigest()


# --- file_kind ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kind"), [
    ("claim_review.bpmn", "bpmn"),
    ("CLAIM.BPMN", "bpmn"),
    ("decisions/risk.dmn", "dmn"),
    ("forms/assess.json", "form"),
    ("forms/Assess.JSON", "form"),
])
def test_file_kind_follows_the_extension_case_insensitively(name: str, kind: str) -> None:
    assert file_kind(name) == kind


@pytest.mark.parametrize("name", ["readme.md", "diagram.xml", "bpmn", "claim.bpmn.bak", "Makefile", ".bpmn"])
def test_file_kind_is_none_for_anything_else(name: str) -> None:
    assert file_kind(name) is None


# --- parse_deployment ---------------------------------------------------------------------------

def test_the_fixture_set_parses_without_problems() -> None:
    parsed, problems = parse_deployment(fixture_files())
    assert problems == []
    assert list(parsed.processes) == ["claim_review"]
    process = parsed.processes["claim_review"]
    assert (process.name, process.file) == ("Claim review", "claim_review.bpmn")
    assert set(parsed.forms) == {"register.json", "assess.json"}


def test_a_form_is_found_by_its_base_name() -> None:
    parsed, _ = parse_deployment(fixture_files())
    assert parsed.form("assess.json") == parsed.forms["assess.json"]
    assert parsed.form("forms/assess.json") == parsed.forms["assess.json"]
    assert parsed.form("missing.json") is None


def test_two_forms_with_the_same_base_name_are_a_problem() -> None:
    files = {**fixture_files(), "other/assess.json": b'{"type": "object"}'}
    _, problems = parse_deployment(files)
    assert len(problems) == 1
    assert problems[0].file == "other/assess.json"
    assert "two form files are named 'assess.json'" in problems[0].message


def test_a_form_that_is_not_json_is_a_problem() -> None:
    _, problems = parse_deployment({**fixture_files(), "forms/broken.json": b"{not json"})
    assert [p.file for p in problems] == ["forms/broken.json"]
    assert "not valid JSON" in problems[0].message


def test_a_file_of_an_unknown_kind_is_a_problem() -> None:
    _, problems = parse_deployment({**fixture_files(), "notes.txt": b"hello"})
    assert [p.file for p in problems] == ["notes.txt"]
    assert ".bpmn, .dmn and .json" in problems[0].message


def test_a_set_without_a_diagram_has_no_executable_process() -> None:
    parsed, problems = parse_deployment({"forms/a.json": b"{}"})
    assert parsed.processes == {}
    assert len(problems) == 1
    assert "no executable process" in problems[0].message
