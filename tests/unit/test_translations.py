"""Diagram translations (engine/workflow/translations.py): a `<diagram>.zh.json` deploys beside its diagram or decision
table, must translate every name, lane and instruction and nothing else, is untrusted input,
and is what the staff read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine.authoring.version_diff import diff_files, process_files
from engine.errors import Problem
from engine.registry import HandlerRegistry
from engine.workflow.parsing import file_kind, parse_deployment
from engine.workflow.settings import EngineSettings
from engine.workflow.translation_checks import translation_problems
from engine.workflow.translations import LANGUAGES, relabel, translatable
from engine.workflow.validation import validate_files
from insureflow.bootstrap import build_registry
from insureflow.cli_context import read_files
from tests.fixtures.handlers import register
from tests.unit.test_validation import fixture_files, problem, refused

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "bpmn"
BPMN = "claim_review.bpmn"
ZH = "claim_review.zh.json"


def _registry() -> HandlerRegistry:
    registry = HandlerRegistry()
    register(registry)
    return registry


def complete_translation() -> dict[str, Any]:
    """A Chinese translation of the fixture diagram that names every element and gives every instruction."""
    tree = etree.fromstring(fixture_files()[BPMN])
    wanted = translatable(etree.ElementTree(tree), "bpmn")
    return {"names": {element: f"中文{index}" for index, element in enumerate(wanted.names)},
            "instructions": {element: "按报案内容登记理赔。" for element in wanted.instructions}}


def with_translation(data: Any, name: str = ZH) -> dict[str, bytes]:
    return fixture_files(**{name: json.dumps(data).encode()})  # JSON escapes: a lone surrogate survives


def problems_of(data: Any, name: str = ZH) -> list[Problem]:
    return validate_files(with_translation(data, name), _registry(), EngineSettings())[1]


# --- the shipped processes ---------------------------------------------------------------------------

def test_every_shipped_diagram_and_decision_table_ships_its_chinese() -> None:
    sources = sorted(p.name for p in SHIPPED.iterdir() if p.suffix in (".bpmn", ".dmn"))
    assert len(sources) >= 18
    missing = [name for name in sources if not (SHIPPED / (name.rsplit(".", 1)[0] + ".zh.json")).is_file()]
    assert not missing


def test_the_shipped_files_validate_with_their_translations_complete() -> None:
    files = read_files((str(SHIPPED),))
    parsed, problems = validate_files(files, build_registry([]), EngineSettings())
    assert problems == [] and parsed is not None
    zh = parsed.texts["zh"]
    assert zh.name("register_claim", "claims.bpmn") == "理赔报案登记"  # a user task: its form's x-title-zh
    assert zh.name("svc_pay_claim", "claims.bpmn") == "赔款支付"
    assert zh.instructions_of("assess_amount", "claims.bpmn").startswith("请决定是否赔付")
    assert zh.values["fraud_level"]["high"] == "高"


# --- validation ------------------------------------------------------------------------------------

def test_a_diagram_without_a_translation_file_is_still_deployable() -> None:
    assert validate_files(fixture_files(), _registry(), EngineSettings())[1] == []


def test_a_complete_translation_is_accepted_and_is_a_file_of_its_own_kind() -> None:
    assert file_kind(ZH) == "i18n" and file_kind("forms/register.json") == "form"
    assert problems_of(complete_translation()) == []


@pytest.mark.parametrize(("section", "element", "fragment"), [
    ("names", "Lane_adjuster", "no zh name for lane 'Adjuster'"),
    ("names", "gw_amount", "no zh name for exclusiveGateway"),
    ("names", "f_large", "no zh name for sequenceFlow 'above 1000'"),
    ("names", "claim_review", "no zh name for process"),
    ("instructions", "register", "no zh instructions for 'Register claim'"),
])
def test_a_missing_name_lane_or_instruction_is_a_problem_naming_file_and_element(
        section: str, element: str, fragment: str) -> None:
    data = complete_translation()
    del data[section][element]
    problem(problems_of(data), file=ZH, element=element, fragment=fragment)


def test_message_and_error_names_are_keys_not_labels_and_need_no_translation() -> None:
    data = complete_translation()
    assert "Message_cancel" not in data["names"]
    data["names"]["Message_cancel"] = "取消"
    problem(problems_of(data), file=ZH, element="Message_cancel", fragment="is no named element")


@pytest.mark.parametrize(("section", "element"), [("names", "no_such_task"), ("instructions", "check")])
def test_a_key_that_names_no_element_is_a_problem(section: str, element: str) -> None:
    data = complete_translation()
    data[section][element] = "多余"
    problem(problems_of(data), file=ZH, element=element, fragment=f"{section}: {element!r} is no")


@pytest.mark.parametrize(("text", "fragment"), [
    (42, "must be a string"),
    (["列表"], "must be a string"),
    ("", "is empty"),
    ("x" * 301, "at most 300"),
    ("<img src=x onerror=alert(1)>", "markup is not allowed"),
    ("</text><script>alert(1)</script>", "markup is not allowed"),
    ("名称\u0000", "control"),
    ("名称\u202e", "control"),
    ("\ud800", "lone surrogate"),
])
def test_a_name_must_be_bounded_plain_text(text: Any, fragment: str) -> None:
    data = complete_translation()
    data["names"]["assess"] = text
    problem(problems_of(data), file=ZH, element="assess", fragment=fragment)


@pytest.mark.parametrize(("text", "fragment"), [
    ("登记 {{ claimant_id_number }}", "reads claimant_id_number, which the English instructions do not"),
    ("登记 {% for x in range(9) %}", "not a valid template"),
    ("<b>登记</b>", "markup is not allowed"),
])
def test_instructions_read_no_data_the_english_does_not_and_hold_no_markup(text: str, fragment: str) -> None:
    data = complete_translation()
    data["instructions"]["register"] = text
    problem(problems_of(data), file=ZH, element="register", fragment=fragment)


@pytest.mark.parametrize("data", [[], "名称", {"names": []}, {"names": {}, "labels": {}}])
def test_a_translation_file_has_a_fixed_shape(data: Any) -> None:
    assert any(p.file == ZH for p in problems_of(data))


def test_a_translation_must_translate_a_diagram_of_the_set_into_a_staff_language() -> None:
    problem(problems_of(complete_translation(), "other.zh.json"), file="other.zh.json", element=None,
            fragment="translates no diagram")
    problem(problems_of(complete_translation(), "claim_review.fr.json"), file="claim_review.fr.json", element=None,
            fragment="no staff language 'fr'")
    assert LANGUAGES == ("zh",)


def test_a_translation_that_is_not_json_is_refused() -> None:
    files = fixture_files(**{ZH: b"{not json"})
    problem(refused(files), file=ZH, element=None, fragment="not valid JSON")


def test_decision_tables_translate_names_labels_annotations_and_only_values_they_give() -> None:
    files = {name: content for name, content in read_files((str(SHIPPED),)).items()
             if name.startswith("fraud_screening.")}
    data = json.loads(files["fraud_screening.zh.json"])
    del data["names"]["Output_fraud_level"]
    data["values"]["fraud_level"]["extreme"] = "极高"
    files["fraud_screening.zh.json"] = json.dumps(data, ensure_ascii=False).encode()
    parsed, _problems = parse_deployment(files)
    found = translation_problems(files, parsed.trees, parsed.translations, parsed.forms)
    problem(found, file="fraud_screening.zh.json", element="Output_fraud_level", fragment="no zh name for output")
    problem(found, file="fraud_screening.zh.json", element="fraud_level", fragment="never gives this value")


# --- the drawn diagram --------------------------------------------------------------------------------

def test_the_diagram_is_drawn_with_the_translated_names_and_the_engines_keys_unchanged() -> None:
    files = with_translation(complete_translation())
    parsed, _problems = parse_deployment(files)
    drawn = relabel(BPMN, files[BPMN], parsed.texts["zh"])
    tree = etree.fromstring(drawn)
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    assert tree.find(".//bpmn:lane[@id='Lane_adjuster']", ns).get("name").startswith("中文")
    assert tree.find(".//bpmn:message", ns).get("name") == "cancel"  # the engine matches messages by name
    assert files[BPMN] == fixture_files()[BPMN]  # the deployed file itself is untouched
    assert relabel(BPMN, files[BPMN], None) == files[BPMN]


def test_a_changed_translation_shows_in_the_diff_between_versions() -> None:
    old = read_files((str(SHIPPED),))
    data = json.loads(old["claims.zh.json"])
    data["names"]["svc_verify_claim"] = "核实理赔"
    new = {**old, "claims.zh.json": json.dumps(data, ensure_ascii=False).encode()}
    changes = diff_files(old, new)
    detail = {"aspect": "names", "old": "理赔审核", "new": "核实理赔"}
    assert [(c.file, c.element, c.type, c.details) for c in changes] == [
        ("claims.zh.json", "svc_verify_claim", "translation", [detail])]
    needed = process_files(old, "claims")  # what a draft of the claims process holds
    assert "claims.zh.json" in needed and "fraud_screening.zh.json" in needed
