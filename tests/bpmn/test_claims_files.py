"""The claims and policy-termination files as committed: valid, named, with forms and a clean layout.

These checks need no handlers: validation runs against stand-ins built from the operator table in
bpmn/README.md, so a diagram that drifts from the documented contract fails here first.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterator
from itertools import combinations
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from jsonschema.validators import validator_for
from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.registry import HandlerRegistry
from engine.workflow.sandbox import Limits
from engine.workflow.script_engine import SandboxedScriptEngine
from engine.workflow.settings import EngineSettings
from engine.workflow.validation import validate_files

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
DIAGRAMS = ("claims.bpmn", "policy_termination.bpmn")
TABLES = ("claim_requirements.dmn", "fraud_screening.dmn", "survey_rules.dmn", "approval_limits.dmn",
          "claim_denial.dmn", "refund_rules.dmn")
FORM_PREFIXES = ("claims_", "policy_termination_")
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI",
      "spiff": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway")
FLOW_NODES = (
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "task",
    "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
    "callActivity", "subProcess", *GATEWAYS,
)


# ---- helpers ---------------------------------------------------------------------------------------------

def documented_operators() -> dict[str, list[str]]:
    """Operator name → parameter names, read from the handler table in bpmn/README.md (an optional one
    in square brackets, as the table writes it)."""
    text = (BPMN_DIR / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Handlers (operators)"):text.index("## Written notices")]
    rows = re.findall(r"^\|\s*`(\w+)`\s*\|([^|]*)\|", section, flags=re.MULTILINE)
    return {name: [p.strip().removesuffix("[]") for p in params.split(",") if p.strip()] for name, params in rows}


def stand_in(name: str, params: list[str]) -> Callable[..., dict[str, Any]]:
    """A handler with the documented signature that does nothing."""

    def handler(ctx: Any, **kwargs: Any) -> dict[str, Any]:
        return {}

    def parameter(documented: str) -> inspect.Parameter:
        optional = documented.startswith("[") and documented.endswith("]")
        return inspect.Parameter(documented.strip("[]"), inspect.Parameter.KEYWORD_ONLY,
                                 default=None if optional else inspect.Parameter.empty)

    handler.__name__ = name
    handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD)] + [parameter(p) for p in params])
    return handler


def stand_in_registry() -> HandlerRegistry:
    """A registry with one stand-in per operator documented in bpmn/README.md."""
    registry = HandlerRegistry()
    for name, params in documented_operators().items():
        registry.add(name, stand_in(name, params))
    return registry


def decide(table: str, data: dict[str, Any]) -> dict[str, Any]:
    """Run a committed decision table on `data` the way a business rule task does (sandboxed Python cells)."""
    parser = SpiffBpmnParser()
    parser.add_dmn_file(str(BPMN_DIR / table))
    engine = parser.get_engine(table.removesuffix(".dmn"), None)
    script_engine = SandboxedScriptEngine(HandlerRegistry(), Limits())
    task = SimpleNamespace(data=data, workflow=SimpleNamespace(script_engine=script_engine))
    return dict(engine.result(task))


def own_forms() -> list[Path]:
    """The form schemas of the claims and policy-termination processes."""
    return sorted(p for p in (BPMN_DIR / "forms").glob("*.json") if p.name.startswith(FORM_PREFIXES))


def own_files() -> dict[str, bytes]:
    """Every file of this file set, named as a deployment names them."""
    paths = [BPMN_DIR / n for n in (*DIAGRAMS, *TABLES)] + own_forms()
    return {p.relative_to(BPMN_DIR).as_posix(): p.read_bytes() for p in paths}


def parse(name: str) -> etree._ElementTree:
    """A committed diagram or table as an XML tree."""
    return etree.parse(str(BPMN_DIR / name))


def flow_nodes(process: etree._Element) -> Iterator[etree._Element]:
    """Every flow node of a process (including boundary events), not lanes or flows."""
    return (el for el in process.iter() if isinstance(el.tag, str) and etree.QName(el).localname in FLOW_NODES)


def shape_bounds(tree: etree._ElementTree) -> dict[str, tuple[float, float, float, float]]:
    """bpmnElement id → (x, y, width, height) of its shape."""
    found = {}
    for shape in tree.iterfind(".//bpmndi:BPMNShape", NS):
        bounds = shape.find("dc:Bounds", NS)
        found[shape.get("bpmnElement")] = tuple(float(bounds.get(k)) for k in ("x", "y", "width", "height"))
    return found


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether two rectangles share any area (touching edges do not count)."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def user_tasks() -> Iterator[tuple[str, etree._Element]]:
    for name in DIAGRAMS:
        for task in parse(name).iterfind(".//bpmn:userTask", NS):
            yield name, task


def properties(task: etree._Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in task.iterfind(".//spiff:property", NS)}


# ---- the file set ----------------------------------------------------------------------------------------

def test_the_files_validate_without_a_problem_against_the_documented_operators() -> None:
    parsed, problems = validate_files(own_files(), stand_in_registry(), EngineSettings())
    assert [str(p) for p in problems] == []
    assert parsed is not None and set(parsed.processes) == {"claims", "policy_termination"}


def test_the_stand_ins_refuse_a_diagram_that_leaves_out_a_documented_parameter() -> None:
    files = own_files()
    files["claims.bpmn"] = files["claims.bpmn"].replace(b'id="loss_amount"', b'id="loss"', 1)
    _, problems = validate_files(files, stand_in_registry(), EngineSettings())
    assert any("needs parameter 'loss_amount'" in p.message for p in problems)


@pytest.mark.parametrize("name", TABLES)
def test_each_first_hit_table_ends_with_a_catch_all_row(name: str) -> None:
    """Without a matching row a decision writes nothing and the next step fails on a missing variable."""
    tree = parse(name)
    (table,) = tree.xpath("//*[local-name()='decisionTable']")
    assert table.get("hitPolicy") == "FIRST"
    last = table.xpath("./*[local-name()='rule']")[-1]
    cells = [(e.findtext("{*}text") or "").strip() for e in last.xpath("./*[local-name()='inputEntry']")]
    assert cells and all(c in ("", "-") for c in cells)
    (decision,) = tree.xpath("//*[local-name()='decision']")
    assert decision.get("id") == name.removesuffix(".dmn")


BASIC = ["claim_form", "id_copy", "bank_card"]


@pytest.mark.parametrize(("line", "claim_type", "waiting_days", "extra"), [
    ("medical", "hospitalization", 30, ["medical_invoice", "discharge_summary"]),
    ("medical", "outpatient", 30, ["medical_invoice"]),
    ("accident", "accident_injury", 0, ["medical_invoice", "police_report"]),
    ("accident", "disability", 0, ["medical_invoice"]),
    ("accident", "death", 0, ["death_certificate"]),
    ("life", "death", 90, ["death_certificate"]),
    ("life", "disability", 90, ["medical_invoice"]),
    ("property", "property_damage", 0, ["photos", "repair_estimate"]),
    ("property", "total_loss", 0, ["photos", "police_report"]),
    ("savings", "death", 90, ["death_certificate"]),
    ("pet", "vet_bill", 90, []),
])
def test_claim_requirements_give_the_waiting_period_and_documents_of_each_product_claim_type_for_an_illness(
    line: str, claim_type: str, waiting_days: int, extra: list[str],
) -> None:
    data = {"claim": {"product_line": line}, "claim_type": claim_type, "cause_of_loss": "illness"}
    assert decide("claim_requirements.dmn", data) == {"waiting_days": waiting_days, "required_documents": BASIC + extra}


@pytest.mark.parametrize(("line", "claim_type", "extra"), [
    ("medical", "hospitalization", ["medical_invoice", "discharge_summary"]),
    ("medical", "outpatient", ["medical_invoice"]),
    ("accident", "death", ["death_certificate"]),
    ("life", "death", ["death_certificate"]),
    ("life", "disability", ["medical_invoice"]),
    ("property", "property_damage", ["photos", "repair_estimate"]),
    ("savings", "death", ["death_certificate"]),
])
def test_an_accident_has_no_waiting_period_on_any_product(line: str, claim_type: str, extra: list[str]) -> None:
    data = {"claim": {"product_line": line}, "claim_type": claim_type, "cause_of_loss": "accident"}
    assert decide("claim_requirements.dmn", data) == {"waiting_days": 0, "required_documents": BASIC + extra}


def test_every_waiting_period_rule_cites_the_rule_it_applies() -> None:
    (table,) = parse("claim_requirements.dmn").xpath("//*[local-name()='decisionTable']")
    for rule in table.xpath("./*[local-name()='rule']")[:-1]:
        annotation = rule.findtext("{*}description") or ""
        assert "terms" in annotation, rule.get("id")


def denial_codes() -> list[str]:
    """Every reason code a claims form lets a person deny a claim with."""
    codes = []
    for form in own_forms():
        spec = json.loads(form.read_text(encoding="utf-8"))["properties"].get("denial_code")
        codes += spec["enum"] if spec else []
    return codes


def test_every_denial_code_of_the_forms_has_its_own_wording_and_review_period() -> None:
    codes = denial_codes()
    # + payment_restricted, identity_unverified: a held payout compliance closes unpaid
    assert len(codes) == len(set(codes)) == 11
    general = decide("claim_denial.dmn", {"denial_code": "no_such_code"})
    for code in codes:
        result = decide("claim_denial.dmn", {"denial_code": code})
        assert result["denial_basis"] != general["denial_basis"], code
        assert result["denial_basis_zh"] and result["appeal_days"] == 60, code


@pytest.mark.parametrize(("features", "level"), [
    ({"watch_listed": True}, "high"),
    ({"shared_account": True}, "high"),
    ({"days_since_start": 10, "amount_ratio": 0.6}, "high"),
    ({"days_since_start": 10, "amount_ratio": 0.5}, "low"),
    ({"days_since_start": 30, "amount_ratio": 0.6}, "low"),
    ({"claims_12m": 3}, "medium"),
    ({"claims_12m": 2}, "low"),
    ({"amount_ratio": 0.81}, "medium"),
    ({}, "low"),
])
def test_fraud_screening_levels(features: dict[str, Any], level: str) -> None:
    clean = {"days_since_start": 400, "amount_ratio": 0.1, "claims_12m": 0, "shared_account": False,
             "watch_listed": False}
    result = decide("fraud_screening.dmn", {"features": {**clean, **features}})
    assert result["fraud_level"] == level
    assert bool(result["fraud_reason"]) == (level != "low")


@pytest.mark.parametrize(("claim_type", "amount", "fraud_level", "needed"), [
    ("property_damage", 50000.01, "low", True),
    ("property_damage", 50000, "low", False),
    ("total_loss", 900000, "low", True),
    ("accident_injury", 60000, "high", True),
    ("disability", 60000, "low", True),
    ("hospitalization", 60000, "low", False),
    ("outpatient", 100, "medium", True),
])
def test_a_survey_is_needed_for_large_property_and_accident_claims_and_flagged_ones(
    claim_type: str, amount: float, fraud_level: str, needed: bool,
) -> None:
    data = {"claim_type": claim_type, "claimed_amount": amount, "fraud_level": fraud_level}
    assert decide("survey_rules.dmn", data) == {"survey_needed": needed}


def test_approval_and_refund_limits() -> None:
    assert decide("approval_limits.dmn", {"claim_type": "outpatient"}) == {
        "approval_limit": 20000, "suggestion_tolerance": 100, "director_limit": 200000}
    assert decide("approval_limits.dmn", {"claim_type": "death"}) == {
        "approval_limit": 50000, "suggestion_tolerance": 100, "director_limit": 500000}
    # Every refund is approved by finance (no limit below which one person decides); the fee kept on a
    # cooling-off cancellation is at most 10 CNY by regulation.
    for request_type in ("cancellation", "surrender"):
        assert decide("refund_rules.dmn", {"request_type": request_type}) == {
            "cancellation_fee": 10, "reverify_above": 20000, "max_code_attempts": 3}


# ---- diagrams --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", DIAGRAMS)
def test_every_flow_out_of_a_gateway_is_named(name: str) -> None:
    tree = parse(name)
    gateways = {g.get("id") for kind in GATEWAYS for g in tree.iterfind(f".//bpmn:{kind}", NS)}
    unnamed = [f.get("id") for f in tree.iterfind(".//bpmn:sequenceFlow", NS)
               if f.get("sourceRef") in gateways and not (f.get("name") or "").strip()]
    assert gateways and unnamed == []


def test_every_user_task_has_a_form_that_exists_and_is_a_valid_schema() -> None:
    tasks = list(user_tasks())
    # claims 18 (issue 12: + review_unmatched, confirm_fraud_denial, rescission_review, approve_payout_director,
    # review_payout_screening; then confirm_verification_override, approve_payee_change, decide_held_payout,
    # remind_held_payout); termination 5: request, confirmation, re-verification, approval, failure
    assert len(tasks) == 23
    for name, task in tasks:
        form = properties(task).get("formJsonSchemaFilename")
        assert form, f"{name}: {task.get('id')} names no form"
        path = BPMN_DIR / "forms" / form
        assert path.is_file(), f"{name}: {task.get('id')} names {form}, which does not exist"
        schema = json.loads(path.read_text(encoding="utf-8"))
        validator_for(schema).check_schema(schema)
        assert schema["type"] == "object" and schema["additionalProperties"] is False


def test_every_user_task_tells_the_person_what_to_do() -> None:
    for name, task in user_tasks():
        text = task.findtext(".//spiff:instructionsForEndUser", namespaces=NS) or ""
        assert len(text.strip()) > 40, f"{name}: {task.get('id')} has no instructions"


@pytest.mark.parametrize("form", own_forms(), ids=lambda p: p.name)
def test_every_form_and_field_has_a_chinese_title(form: Path) -> None:
    schema = json.loads(form.read_text(encoding="utf-8"))
    assert schema["title"] and schema["x-title-zh"]
    assert schema["properties"]
    for field, spec in schema["properties"].items():
        assert spec.get("title") and spec.get("x-title-zh"), f"{form.name}: {field}"
        for options in (spec, spec.get("items", {})):
            if "enum" in options:
                assert len(options["x-enum-titles"]) == len(options["x-enum-titles-zh"]) == len(options["enum"])


@pytest.mark.parametrize("name", DIAGRAMS)
def test_every_flow_node_has_a_shape(name: str) -> None:
    tree = parse(name)
    shapes = shape_bounds(tree)
    missing = [n.get("id") for process in tree.iterfind(".//bpmn:process", NS) for n in flow_nodes(process)
               if n.get("id") not in shapes]
    assert missing == []


@pytest.mark.parametrize("name", DIAGRAMS)
def test_no_two_shapes_of_a_process_overlap(name: str) -> None:
    tree = parse(name)
    shapes = shape_bounds(tree)
    for process in tree.iterfind(".//bpmn:process", NS):
        nodes = list(flow_nodes(process))
        hosts = {n.get("id"): n.get("attachedToRef") for n in nodes if n.get("attachedToRef")}
        clashes = [
            (a.get("id"), b.get("id")) for a, b in combinations(nodes, 2)
            if hosts.get(a.get("id")) != b.get("id") and hosts.get(b.get("id")) != a.get("id")
            and overlap(shapes[a.get("id")], shapes[b.get("id")])
        ]
        assert clashes == []


@pytest.mark.parametrize("name", DIAGRAMS)
def test_every_sequence_flow_has_an_edge_with_waypoints(name: str) -> None:
    tree = parse(name)
    edges = {e.get("bpmnElement"): e for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)}
    flows = [f.get("id") for f in tree.iterfind(".//bpmn:sequenceFlow", NS)]
    assert flows
    for flow in flows:
        assert flow in edges, f"{flow} has no edge"
        assert len(edges[flow].findall("di:waypoint", NS)) >= 2, f"{flow} has fewer than 2 waypoints"
