"""validate_files: hostile file sets are refused with problems naming file, element and cause; nothing runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import Problem
from engine.registry import HandlerRegistry
from engine.workflow.parsing import ParsedDeployment
from engine.workflow.settings import EngineSettings
from engine.workflow.validation import validate_files
from tests.fixtures.handlers import register

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VALID = FIXTURES / "bpmn"
HOSTILE = FIXTURES / "hostile"
BPMN = "claim_review.bpmn"
ASSESS_FORM = "forms/assess.json"
XML_DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'

SCRIPT = 'payable = amount - check_result["deductible"]'
CONDITION = "payable &gt; 1000"
TIMER = '<bpmn:timeDuration>"P15D"</bpmn:timeDuration>'
SCRIPT_TASK_OPEN = '<bpmn:scriptTask id="compute" name="Compute payable">'
CLAIMANT_PARAM = '<spiffworkflow:parameter id="claimant" type="str" value="claimant" />'
REGISTER_EXTENSIONS = "<spiffworkflow:instructionsForEndUser>"
OPERATOR_BLOCK_END = "</spiffworkflow:parameters>"


# --- helpers --------------------------------------------------------------------------------------

def replaced(content: bytes, old: str | bytes, new: str | bytes) -> bytes:
    """`content` with the single occurrence of `old` replaced (a typo in a test must not pass silently)."""
    old_b = old.encode() if isinstance(old, str) else old
    new_b = new.encode() if isinstance(new, str) else new
    assert content.count(old_b) == 1, f"{old_b!r} occurs {content.count(old_b)} times"
    return content.replace(old_b, new_b)


def valid_bpmn() -> bytes:
    return (VALID / BPMN).read_bytes()


def fixture_files(**overrides: bytes) -> dict[str, bytes]:
    """The valid set: the claim review diagram and its two forms; `overrides` maps file → content."""
    files = {
        BPMN: valid_bpmn(),
        "forms/register.json": (VALID / "forms/register.json").read_bytes(),
        ASSESS_FORM: (VALID / "forms/assess.json").read_bytes(),
    }
    files.update(overrides)
    return files


def bpmn_variant(*edits: tuple[str | bytes, str | bytes]) -> dict[str, bytes]:
    """The valid set with the diagram edited by (old, new) replacements, applied in order."""
    content = valid_bpmn()
    for old, new in edits:
        content = replaced(content, old, new)
    return fixture_files(**{BPMN: content})


def with_doctype(doctype: bytes, content: bytes) -> bytes:
    """`content` (which starts with the XML declaration) with `doctype` right after the declaration."""
    assert content.startswith(XML_DECL)
    return XML_DECL + doctype + b"\n" + content[len(XML_DECL):]


def registry() -> HandlerRegistry:
    reg = HandlerRegistry()
    register(reg)
    return reg


def validate(
    files: dict[str, bytes], settings: EngineSettings | None = None
) -> tuple[ParsedDeployment | None, list[Problem]]:
    return validate_files(files, registry(), settings or EngineSettings())


def refused(files: dict[str, bytes], settings: EngineSettings | None = None) -> list[Problem]:
    """Validate a hostile set: callers store nothing, so there must be problems (or no parse at all)."""
    parsed, problems = validate(files, settings)
    assert parsed is None or problems, "a hostile set was accepted"
    assert problems, "a refused set must say why"
    return problems


def problem(problems: list[Problem], *, file: str, element: str | None, fragment: str) -> Problem:
    """The problem at `file`/`element` whose message contains `fragment` (case-insensitive)."""
    matching = [p for p in problems
                if p.file == file and p.element == element and fragment.lower() in p.message.lower()]
    assert matching, f"no problem at {file} [{element}] mentioning {fragment!r}; got:\n" + "\n".join(
        str(p) for p in problems)
    return matching[0]


def messages(problems: list[Problem]) -> str:
    return "\n".join(p.message for p in problems)


# --- the valid set --------------------------------------------------------------------------------

def test_valid_fixture_set_validates_without_problems() -> None:
    parsed, problems = validate(fixture_files())

    assert problems == []
    assert parsed is not None
    assert list(parsed.processes) == ["claim_review"]
    assert set(parsed.forms) == {"register.json", "assess.json"}


# --- XML: well-formedness, XXE, entity bombs ---------------------------------------------------------

def test_truncated_xml_is_reported_with_file_and_line() -> None:
    content = valid_bpmn()
    cut = content.index(b'<bpmn:serviceTask id="check"')
    truncated = content[:cut]

    problems = refused(fixture_files(**{BPMN: truncated}))

    found = problem(problems, file=BPMN, element=None, fragment="not well-formed XML")
    assert found.line == truncated.count(b"\n") + 1  # the end of the data, where the parser gave up


XXE_DOCUMENTED = (SCRIPT_TASK_OPEN, SCRIPT_TASK_OPEN + "\n      <bpmn:documentation>&xxe;</bpmn:documentation>")


def _passwd_lines() -> list[str]:
    try:
        return [line for line in Path("/etc/passwd").read_text().splitlines() if len(line) > 8]
    except OSError:
        return []


@pytest.mark.parametrize("doctype", [
    pytest.param(b'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', id="external-entity"),
    pytest.param(b'<!DOCTYPE bpmn:definitions [<!ENTITY % xxe SYSTEM "file:///etc/passwd"> %xxe;]>',
                 id="parameter-entity"),
    pytest.param(b'<!doctype   bpmn:definitions\n\t[ <!entity xxe SYSTEM "file:///etc/passwd" > ]>',
                 id="lower-case-odd-spacing"),
    pytest.param(b'<!DocType\tbpmn:definitions SYSTEM "file:///etc/passwd">', id="external-dtd"),
])
def test_doctype_with_external_entity_is_refused_without_reading_the_file(doctype: bytes) -> None:
    content = with_doctype(doctype, replaced(valid_bpmn(), *XXE_DOCUMENTED))

    problems = refused(fixture_files(**{BPMN: content}))

    problem(problems, file=BPMN, element=None, fragment="DOCTYPE and entity declarations are not allowed")
    text = messages(problems)
    assert "root:" not in text
    assert not any(line in text for line in _passwd_lines())


def test_xxe_in_utf16_document_is_refused_too() -> None:
    # The byte-level DOCTYPE scan cannot see UTF-16; the parsed document's DTD must still be refused.
    content = with_doctype(b'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
                           replaced(valid_bpmn(), *XXE_DOCUMENTED))
    utf16 = replaced(content, b'encoding="UTF-8"', b'encoding="UTF-16"').decode().encode("utf-16")

    problems = refused(fixture_files(**{BPMN: utf16}))

    problem(problems, file=BPMN, element=None, fragment="DOCTYPE")
    assert not any(line in messages(problems) for line in _passwd_lines())


def billion_laughs(levels: int = 10) -> bytes:
    entities = [b'<!ENTITY lol0 "lol">'] + [
        b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, levels + 1)
    ]
    return b"<!DOCTYPE bpmn:definitions [" + b"".join(entities) + b"]>"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_billion_laughs_is_refused_unparsed_and_nothing_expands(encoding: str) -> None:
    body = replaced(valid_bpmn(), SCRIPT_TASK_OPEN,
                    SCRIPT_TASK_OPEN + "\n      <bpmn:documentation>&lol10;</bpmn:documentation>")
    content = with_doctype(billion_laughs(10), body)
    if encoding == "utf-16":
        content = replaced(content, b'encoding="UTF-8"', b'encoding="UTF-16"').decode().encode("utf-16")
    files = fixture_files(**{BPMN: content})

    parsed, problems = validate(files)

    assert parsed is None or problems
    assert [(p.file, p.element) for p in problems] == [(BPMN, None)]
    assert "DOCTYPE" in problems[0].message or "entity" in problems[0].message.lower()
    assert "lollol" not in messages(problems)
    assert parsed is None or BPMN not in parsed.trees


def test_undeclared_entity_reference_is_not_well_formed() -> None:
    problems = refused(bpmn_variant(XXE_DOCUMENTED))

    found = problem(problems, file=BPMN, element=None, fragment="not well-formed XML")
    assert "xxe" in found.message
    assert found.line is not None


def test_absurdly_deep_nesting_is_refused_not_a_crash() -> None:
    deep = '<x:a xmlns:x="urn:x">' + "<x:a>" * 5000 + "</x:a>" * 5000 + "</x:a>"

    problems = refused(bpmn_variant((REGISTER_EXTENSIONS, deep + REGISTER_EXTENSIONS)))

    problem(problems, file=BPMN, element=None, fragment="depth")


# --- BPMN schema and processes ----------------------------------------------------------------------

def test_unknown_element_inside_a_task_names_the_enclosing_task() -> None:
    problems = refused(bpmn_variant(("<bpmn:script>", "<bpmn:bogus />\n      <bpmn:script>")))

    found = problem(problems, file=BPMN, element="compute", fragment="schema")
    assert "bogus" in found.message


def test_no_executable_process_is_a_problem() -> None:
    problems = refused(bpmn_variant(('isExecutable="true"', 'isExecutable="false"')))

    problem(problems, file=BPMN, element=None, fragment="no executable process")


# --- service tasks ----------------------------------------------------------------------------------

def test_unknown_service_task_operator_names_task_and_operator() -> None:
    problems = refused(bpmn_variant(('id="fixture_check"', 'id="wire_money"')))

    found = problem(problems, file=BPMN, element="check", fragment="unknown service task operator")
    assert "'wire_money'" in found.message


def test_service_task_missing_a_required_parameter_names_task_and_parameter() -> None:
    problems = refused(bpmn_variant((CLAIMANT_PARAM, "")))

    found = problem(problems, file=BPMN, element="check", fragment="needs parameter")
    assert "'claimant'" in found.message


def test_service_task_with_an_undeclared_parameter_is_refused() -> None:
    extra = '<spiffworkflow:parameter id="backdoor" type="str" value="1" />'
    problems = refused(bpmn_variant((CLAIMANT_PARAM, CLAIMANT_PARAM + extra)))

    found = problem(problems, file=BPMN, element="check", fragment="has no parameter")
    assert "'backdoor'" in found.message


def test_service_task_parameter_expression_is_checked_by_the_sandbox() -> None:
    problems = refused(bpmn_variant(('value="amount"', "value=\"__import__('os').getcwd()\"")))

    found = problem(problems, file=BPMN, element="check", fragment="expression refused")
    assert "__import__" in found.message


def test_service_task_without_operator_names_the_task() -> None:
    content = valid_bpmn()
    start = content.index(b"<spiffworkflow:serviceTaskOperator")
    end = content.index(b"</spiffworkflow:serviceTaskOperator>") + len(b"</spiffworkflow:serviceTaskOperator>")
    problems = refused(fixture_files(**{BPMN: content[:start] + content[end:]}))

    problem(problems, file=BPMN, element="check", fragment="names no operator")


# --- lanes and roles --------------------------------------------------------------------------------

def test_lane_with_user_tasks_and_unknown_role_names_the_lane() -> None:
    problems = refused(bpmn_variant(('name="Adjuster"', 'name="Loss Wizard"')))

    found = problem(problems, file=BPMN, element="Lane_adjuster", fragment="not a known role")
    assert "'loss_wizard'" in found.message
    assert "Loss Wizard" in found.message


def test_lane_role_must_be_configured_in_settings() -> None:
    settings = EngineSettings(known_roles=frozenset({"claims_clerk", "adjuster"}))

    problems = refused(fixture_files(), settings)

    found = problem(problems, file=BPMN, element="Lane_manager", fragment="not a known role")
    assert "'claims_manager'" in found.message
    assert all(p.element == "Lane_manager" for p in problems)


@pytest.mark.parametrize("name", ["System", "Robots"])
def test_lane_holding_only_automated_tasks_needs_no_role(name: str) -> None:
    parsed, problems = validate(bpmn_variant(('name="System"', f'name="{name}"')))

    assert problems == []
    assert parsed is not None and "claim_review" in parsed.processes


APPROVE_IN_SYSTEM_LANE = (
    ("<bpmn:flowNodeRef>check</bpmn:flowNodeRef>",
     "<bpmn:flowNodeRef>check</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>approve</bpmn:flowNodeRef>"),
    ('<bpmn:lane id="Lane_manager" name="Claims manager">\n        <bpmn:flowNodeRef>approve</bpmn:flowNodeRef>\n'
     "      </bpmn:lane>", ""),
)


def test_user_task_in_system_lane_is_refused() -> None:
    problems = refused(bpmn_variant(*APPROVE_IN_SYSTEM_LANE))

    found = problem(problems, file=BPMN, element="Lane_system", fragment="nobody could do")
    assert "approve" in found.message


def test_plain_task_in_system_lane_is_refused_like_a_user_task() -> None:
    """SpiffWorkflow runs a plain bpmn:task as a manual task: in a lane without a role nobody could do it."""
    problems = refused(bpmn_variant(*APPROVE_IN_SYSTEM_LANE, ('<bpmn:userTask id="approve"', '<bpmn:task id="approve"'),
                                    ("</bpmn:userTask>\n    <bpmn:exclusiveGateway id=\"gw_join\"",
                                     "</bpmn:task>\n    <bpmn:exclusiveGateway id=\"gw_join\"")))

    found = problem(problems, file=BPMN, element="Lane_system", fragment="plain task")
    assert "approve" in found.message


# --- forms ------------------------------------------------------------------------------------------

def test_form_file_not_in_the_set_names_the_user_task() -> None:
    problems = refused(bpmn_variant(('value="assess.json"', 'value="missing.json"')))

    found = problem(problems, file=BPMN, element="assess", fragment="formJsonSchemaFilename")
    assert "'missing.json'" in found.message


def test_invalid_json_schema_names_the_form_file() -> None:
    problems = refused(fixture_files(**{ASSESS_FORM: b'{"type": 12}'}))

    found = problem(problems, file=ASSESS_FORM, element="type", fragment="invalid JSON Schema")
    assert "12" in found.message


def test_form_file_that_is_not_json_is_a_problem() -> None:
    problems = refused(fixture_files(**{ASSESS_FORM: b"type: object\nproperties: {}\n"}))

    problem(problems, file=ASSESS_FORM, element=None, fragment="not valid JSON")
    # the task naming it is told too, rather than silently getting no form
    problem(problems, file=BPMN, element="assess", fragment="not in the deployed files")


@pytest.mark.parametrize("content,fragment", [
    (b"[1, 2]", "must be a JSON object"),
    (b'{"type": "array"}', "must describe an object"),
])
def test_form_schema_must_describe_an_object(content: bytes, fragment: str) -> None:
    problems = refused(fixture_files(**{ASSESS_FORM: content}))

    problem(problems, file=ASSESS_FORM, element=None, fragment=fragment)


def _upload_form(field: dict, **more: dict) -> bytes:
    return json.dumps({"type": "object", "properties": {"files": field, **more}}).encode()


UPLOAD_OK = {"type": "array", "items": {"type": "object"},
             "x-upload": {"accept": ["application/pdf"], "maxBytes": 1000, "checklist": "kinds"}}


def test_a_well_formed_upload_field_passes() -> None:
    assert validate(fixture_files(**{ASSESS_FORM: _upload_form(UPLOAD_OK, kinds={"type": "array"})}))[1] == []


@pytest.mark.parametrize("change,fragment", [
    ({"x-upload": "yes"}, "must be an object"),
    ({"type": "string"}, "must be an array"),
    ({"items": True}, "must be an array"),
    ({"x-upload": {"accept": []}}, '"accept" must be a non-empty list'),
    ({"x-upload": {"accept": ["pdf"]}}, '"accept" must be a non-empty list'),
    ({"x-upload": {"maxBytes": 0}}, '"maxBytes" must be a positive'),
    ({"x-upload": {"maxBytes": "10MB"}}, '"maxBytes" must be a positive'),
    ({"x-upload": {"checklist": "missing"}}, '"checklist" must name a list field'),
    ({"x-upload": {"acept": ["application/pdf"]}}, "unknown setting(s) acept"),
])
def test_a_badly_set_upload_field_is_named_at_deploy_time(change: dict, fragment: str) -> None:
    problems = refused(fixture_files(**{ASSESS_FORM: _upload_form({**UPLOAD_OK, **change}, kinds={"type": "array"})}))

    problem(problems, file=ASSESS_FORM, element="files", fragment=fragment)


def test_two_form_files_with_the_same_name_are_refused() -> None:
    problems = refused(fixture_files(**{"other/assess.json": b'{"type": "object"}'}))

    problem(problems, file="other/assess.json", element=None, fragment="two form files")


def test_a_form_field_names_a_known_case_page_section() -> None:
    form = {"type": "object", "properties": {"payable": {"type": "number", "x-section": "assessment"}}}
    assert validate(fixture_files(**{ASSESS_FORM: json.dumps(form).encode()}))[1] == []
    form["properties"]["payable"]["x-section"] = "asessment"

    problems = refused(fixture_files(**{ASSESS_FORM: json.dumps(form).encode()}))

    found = problem(problems, file=ASSESS_FORM, element="payable", fragment="x-section 'asessment'")
    assert "claim, policy, claimant" in found.message


def test_every_field_of_the_shipped_forms_names_its_case_page_section() -> None:
    """bpmn/forms: the case page groups each form field by its `x-section`, so none falls into "Other"."""
    from engine.workflow.forms import SECTIONS

    for path in sorted((FIXTURES.parents[1] / "bpmn" / "forms").glob("*.json")):
        for name, spec in json.loads(path.read_text(encoding="utf-8"))["properties"].items():
            assert spec.get("x-section") in SECTIONS, (path.name, name)


def _two_forms_writing(field: str, register_spec: dict, assess_spec: dict) -> dict[str, bytes]:
    register = json.loads((VALID / "forms/register.json").read_text(encoding="utf-8"))
    assess = json.loads((VALID / "forms/assess.json").read_text(encoding="utf-8"))
    register["properties"][field] = register_spec
    assess["properties"][field] = assess_spec
    return fixture_files(**{"forms/register.json": json.dumps(register).encode(),
                            ASSESS_FORM: json.dumps(assess).encode()})


def test_two_forms_of_a_process_writing_one_field_are_refused_naming_both() -> None:
    problems = refused(_two_forms_writing("note", {"type": "string"}, {"type": "string"}))

    found = problem(problems, file=BPMN, element="assess", fragment="forms assess.json, register.json all write "
                                                                    "'note'")
    assert '"x-shared": true' in found.message and found.line is not None


def test_a_field_both_forms_mark_shared_is_accepted_and_one_marking_is_not_enough() -> None:
    shared = {"type": "string", "x-shared": True}
    assert validate(_two_forms_writing("denial_code", shared, shared))[1] == []

    problems = refused(_two_forms_writing("denial_code", shared, {"type": "string"}))

    assert "(not in: assess.json)" in problem(problems, file=BPMN, element="assess", fragment="'denial_code'").message


def test_a_read_only_field_shown_by_two_forms_is_no_problem() -> None:
    assert validate(_two_forms_writing("claimed_amount", {"type": "number", "readOnly": True},
                                       {"type": "number", "readOnly": True}))[1] == []


# --- code in diagrams -------------------------------------------------------------------------------

@pytest.mark.parametrize("script,fragment", [
    ("import os", "imports are not allowed"),
    ("from os import system", "imports are not allowed"),
    ("x = ().__class__.__base__.__subclasses__()", "__class__"),
    ("data = open('/etc/passwd').read()", '"open" is not available'),
    ("x = eval('1')", '"eval" is not available'),
    ("exec('x=1')", '"exec" is not available'),
    ("y = getattr(x, 'y')", '"getattr" is not available'),
    ("x = (", "syntax error"),
])
def test_hostile_script_task_is_refused_naming_the_script_task(script: str, fragment: str) -> None:
    problems = refused(bpmn_variant((SCRIPT, script)))

    found = problem(problems, file=BPMN, element="compute", fragment=fragment)
    assert found.message.startswith("script refused")


def test_refused_script_line_points_into_the_script() -> None:
    content = valid_bpmn()
    script_line = content[:content.index(SCRIPT.encode())].count(b"\n") + 1

    problems = refused(bpmn_variant((SCRIPT, "a = 1\nb = 2\nimport os")))

    found = problem(problems, file=BPMN, element="compute", fragment="imports")
    assert found.line == script_line + 2


def test_hostile_gateway_condition_names_the_sequence_flow() -> None:
    problems = refused(bpmn_variant((CONDITION, "__import__('os').system('id')")))

    found = problem(problems, file=BPMN, element="f_large", fragment="expression refused")
    assert "__import__" in found.message


def test_hostile_pre_script_names_its_user_task() -> None:
    problems = refused(bpmn_variant(
        (REGISTER_EXTENSIONS, "<spiffworkflow:preScript>import os</spiffworkflow:preScript>\n        "
                              + REGISTER_EXTENSIONS)))

    found = problem(problems, file=BPMN, element="register", fragment="imports are not allowed")
    assert found.message.startswith("script refused")


def test_hostile_post_script_names_its_user_task() -> None:
    problems = refused(bpmn_variant(
        (REGISTER_EXTENSIONS, "<spiffworkflow:postScript>x = ().__class__</spiffworkflow:postScript>\n        "
                              + REGISTER_EXTENSIONS)))

    problem(problems, file=BPMN, element="register", fragment="__class__")


def test_hostile_conditional_event_condition_names_the_event() -> None:
    problems = refused(bpmn_variant((
        '<bpmn:timerEventDefinition id="TimerDef_cooling">\n        ' + TIMER + "\n      </bpmn:timerEventDefinition>",
        '<bpmn:conditionalEventDefinition id="CondDef_cooling">\n'
        "        <bpmn:condition>__import__('os').system('id')</bpmn:condition>\n"
        "      </bpmn:conditionalEventDefinition>",
    )))

    problem(problems, file=BPMN, element="cooling_timer", fragment="expression refused")


def test_several_problems_are_all_reported_at_once() -> None:
    problems = refused(bpmn_variant(
        ('id="fixture_check"', 'id="wire_money"'),
        ('name="Adjuster"', 'name="Loss Wizard"'),
        (SCRIPT, "import os"),
        ('name="priority" value="80"', 'name="priority" value="999"'),
    ))

    problem(problems, file=BPMN, element="check", fragment="unknown service task operator")
    problem(problems, file=BPMN, element="Lane_adjuster", fragment="not a known role")
    problem(problems, file=BPMN, element="compute", fragment="imports")
    problem(problems, file=BPMN, element="approve", fragment="priority")
    assert len(problems) >= 4
    assert len({p.element for p in problems}) >= 4


def test_problems_across_files_are_all_reported_at_once() -> None:
    files = bpmn_variant((SCRIPT, "import os"))
    files[ASSESS_FORM] = b'{"type": 12}'
    files["notes.txt"] = b"hello"

    problems = refused(files)

    assert {p.file for p in problems} == {BPMN, ASSESS_FORM, "notes.txt"}


# --- timers -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("timer,fragment", [
    ('<bpmn:timeDuration>"P15X"</bpmn:timeDuration>', "timer timeDuration 'P15X' is not valid ISO 8601"),
    ("<bpmn:timeDuration>15</bpmn:timeDuration>", "must give an ISO 8601 string"),
    ("<bpmn:timeDuration>  </bpmn:timeDuration>", "is empty"),
    ('<bpmn:timeDate>"2024-13-45"</bpmn:timeDate>', "timeDate '2024-13-45' is not valid"),
    ('<bpmn:timeCycle>"R/P1X"</bpmn:timeCycle>', "timeCycle 'R/P1X' is not valid"),
    ("<bpmn:timeDuration>__import__('os')</bpmn:timeDuration>", "expression refused"),
])
def test_invalid_timer_names_the_catch_event(timer: str, fragment: str) -> None:
    problems = refused(bpmn_variant((TIMER, timer)))

    problem(problems, file=BPMN, element="cooling_timer", fragment=fragment)


@pytest.mark.parametrize("timer", [
    "<bpmn:timeDuration>cooling_off_period</bpmn:timeDuration>",
    '<bpmn:timeDuration>"PT36H"</bpmn:timeDuration>',
    '<bpmn:timeDate>"2030-01-02T03:04:05+08:00"</bpmn:timeDate>',
    '<bpmn:timeCycle>"R3/PT1H"</bpmn:timeCycle>',
])
def test_timer_from_process_data_or_valid_literal_is_accepted(timer: str) -> None:
    parsed, problems = validate(bpmn_variant((TIMER, timer)))

    assert problems == []
    assert parsed is not None and "claim_review" in parsed.processes


# --- user task properties ---------------------------------------------------------------------------

@pytest.mark.parametrize("due", ["3 days", "P", "2D", ""])
def test_due_in_that_is_not_an_iso_duration_names_the_task(due: str) -> None:
    problems = refused(bpmn_variant(('value="P2D"', f'value="{due}"')))

    found = problem(problems, file=BPMN, element="register", fragment="not an ISO 8601 duration")
    assert f"dueIn {due!r}" in found.message


def test_separate_from_naming_a_missing_task_names_the_task() -> None:
    problems = refused(bpmn_variant(('name="separateFrom" value="assess"', 'name="separateFrom" value="ghost"')))

    found = problem(problems, file=BPMN, element="approve", fragment="separateFrom")
    assert "'ghost'" in found.message


def test_separate_from_naming_the_task_itself_is_refused() -> None:
    problems = refused(bpmn_variant(('name="separateFrom" value="assess"', 'name="separateFrom" value="approve"')))

    problem(problems, file=BPMN, element="approve", fragment="names the task itself")


def test_separate_from_naming_an_automated_task_is_refused() -> None:
    problems = refused(bpmn_variant(('name="separateFrom" value="assess"', 'name="separateFrom" value="check"')))

    problem(problems, file=BPMN, element="approve", fragment="no user task")


@pytest.mark.parametrize("priority", [
    "101", "-1", "high", "1.5", "", " 5",
    "²",
])
def test_priority_out_of_range_names_the_task(priority: str) -> None:
    problems = refused(bpmn_variant(('name="priority" value="80"', f'name="priority" value="{priority}"')))

    found = problem(problems, file=BPMN, element="approve", fragment="must be a whole number from 0 to 100")
    assert f"priority {priority!r}" in found.message


@pytest.mark.parametrize("priority", ["0", "100"])
def test_priority_bounds_are_accepted(priority: str) -> None:
    _, problems = validate(bpmn_variant(('name="priority" value="80"', f'name="priority" value="{priority}"')))

    assert problems == []


# --- the file set itself ----------------------------------------------------------------------------

def test_file_over_the_size_limit_is_named() -> None:
    parsed, problems = validate(fixture_files(), EngineSettings(max_file_bytes=1000))

    assert parsed is None
    found = problem(problems, file=BPMN, element=None, fragment="files may have at most 1,000")
    assert f"{len(valid_bpmn()):,} bytes" in found.message
    assert {p.file for p in problems} == {BPMN}  # the forms are below the limit


def test_too_many_files_is_refused() -> None:
    parsed, problems = validate(fixture_files(), EngineSettings(max_files=2))

    assert parsed is None
    problem(problems, file="(upload)", element=None, fragment="at most 2 may be deployed")


def test_empty_upload_is_refused() -> None:
    parsed, problems = validate({})

    assert parsed is None
    problem(problems, file="(upload)", element=None, fragment="no files")


@pytest.mark.parametrize("name", ["../evil.bpmn", "forms/../../evil.json", "/etc/evil.bpmn", "..\\evil.json"])
def test_file_name_escaping_the_set_is_refused(name: str) -> None:
    files = fixture_files()
    files[name] = b"{}"

    parsed, problems = validate(files)

    assert parsed is None
    problem(problems, file=name, element=None, fragment="without '..'")


@pytest.mark.parametrize("name", ["tool.exe", "claim_review.bpmn.exe", "forms/run.sh"])
def test_file_of_another_kind_is_refused(name: str) -> None:
    files = fixture_files()
    files[name] = b"MZ\x90\x00\x03"

    problems = refused(files)

    problem(problems, file=name, element=None, fragment="only .bpmn, .dmn and .json")


# --- DMN --------------------------------------------------------------------------------------------

DMN = "risk.dmn"
RULE_BPMN = "risk_check.bpmn"

def dmn_files(dmn: bytes | None = None, bpmn: bytes | None = None) -> dict[str, bytes]:
    return {
        DMN: dmn if dmn is not None else (HOSTILE / DMN).read_bytes(),
        RULE_BPMN: bpmn if bpmn is not None else (HOSTILE / RULE_BPMN).read_bytes(),
    }


def test_valid_decision_table_and_business_rule_task_validate_together() -> None:
    parsed, problems = validate(dmn_files())

    assert problems == []
    assert parsed is not None and list(parsed.processes) == ["risk_check"]


def test_hostile_dmn_output_entry_names_the_rule() -> None:
    hostile = replaced((HOSTILE / DMN).read_bytes(), '<text>"high"</text>', '<text>__import__("os")</text>')

    problems = refused(dmn_files(dmn=hostile))

    found = problem(problems, file=DMN, element="Rule_older", fragment="expression refused")
    assert "__import__" in found.message


def test_hostile_dmn_input_entry_names_the_rule() -> None:
    hostile = replaced((HOSTILE / DMN).read_bytes(), "&gt;= 30", "&gt;= ().__class__")

    problems = refused(dmn_files(dmn=hostile))

    problem(problems, file=DMN, element="Rule_older", fragment="__class__")


def test_a_dmn_cell_that_only_works_with_a_space_is_refused_as_the_engine_joins_it() -> None:
    """SpiffWorkflow joins input and cell without a space: `age` + `in (1, 2)` is `agein (1, 2)`."""
    hostile = replaced((HOSTILE / DMN).read_bytes(), "&gt;= 30", "in (30, 31)")

    problems = refused(dmn_files(dmn=hostile))

    problem(problems, file=DMN, element="Rule_older", fragment="write it as '? in (30, 31)'")


def test_business_rule_task_naming_a_decision_not_in_the_set_is_a_problem() -> None:
    bpmn = replaced((HOSTILE / RULE_BPMN).read_bytes(), ">risk<", ">pricing<")

    problems = refused({RULE_BPMN: bpmn})

    found = problem(problems, file=RULE_BPMN, element="classify", fragment="No DMN")
    assert "pricing" in found.message


def test_business_rule_task_naming_another_decision_than_the_set_holds_is_a_problem() -> None:
    bpmn = replaced((HOSTILE / RULE_BPMN).read_bytes(), ">risk<", ">pricing<")

    problems = refused(dmn_files(bpmn=bpmn))

    found = problem(problems, file=RULE_BPMN, element="classify", fragment="No DMN")
    assert "pricing" in found.message


def test_dmn_with_doctype_is_refused() -> None:
    dmn = replaced((HOSTILE / DMN).read_bytes(), "<definitions",
                   '<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<definitions')

    problems = refused(dmn_files(dmn=dmn))

    problem(problems, file=DMN, element=None, fragment="DOCTYPE")


def test_problem_from_the_bpmn_parser_names_the_file_with_its_folder() -> None:
    bpmn = replaced((HOSTILE / RULE_BPMN).read_bytes(), ">risk<", ">pricing<")
    name = "processes/risk_check.bpmn"

    problems = refused({name: bpmn})

    problem(problems, file=name, element="classify", fragment="No DMN")


# --- nothing runs during validation -----------------------------------------------------------------

@pytest.mark.parametrize("where", ["script", "condition", "pre_script", "timer", "parameter"])
def test_nothing_is_executed_during_validation(where: str, tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    write = f"open('{target}', 'w').write('x')"
    edit, element = {
        "script": ((SCRIPT, write), "compute"),
        "condition": ((CONDITION, write), "f_large"),
        "pre_script": ((REGISTER_EXTENSIONS, f"<spiffworkflow:preScript>{write}</spiffworkflow:preScript>"
                        + REGISTER_EXTENSIONS), "register"),
        "timer": ((TIMER, f"<bpmn:timeDuration>{write}</bpmn:timeDuration>"), "cooling_timer"),
        "parameter": (('value="amount"', f'value="{write}"'), "check"),
    }[where]

    problems = refused(bpmn_variant(edit))

    problem(problems, file=BPMN, element=element, fragment='"open" is not available')
    assert not target.exists()


def test_an_id_used_twice_in_a_file_is_named() -> None:
    """An operator id equal to a task id hides the task in SpiffWorkflow: refused with both places."""
    problems = refused(bpmn_variant(('<bpmn:userTask id="assess"', '<bpmn:userTask id="fixture_check"'),
                                    ('targetRef="assess"', 'targetRef="fixture_check"'),
                                    ('sourceRef="assess"', 'sourceRef="fixture_check"'),
                                    ('<bpmn:flowNodeRef>assess</bpmn:flowNodeRef>',
                                     '<bpmn:flowNodeRef>fixture_check</bpmn:flowNodeRef>'),
                                    ('value="assess"', 'value="fixture_check"')))
    problem(problems, file=BPMN, element="fixture_check", fragment="also the id of a diagram element")
