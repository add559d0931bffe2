"""Everything checked before a file set is stored: each problem names file, element and what is wrong."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from datetime import datetime

import isodate
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.errors import Problem

from .access import CUSTOMER, DELIVERED_BY, deliverer_problems
from .code_checks import code_problems, dmn_problems
from .diagram_index import DiagramIndex
from .form_checks import form_problems
from .form_names import shared_field_problems
from .parser_problems import structure_problems
from .parsing import ParsedDeployment, file_kind, parse_deployment
from .registry import HandlerRegistry
from .roles import lane_role, separate_from_ids
from .settings import EngineSettings
from .translation_checks import translation_problems

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiff": SPIFF}
# SpiffWorkflow runs a plain bpmn:task as a manual task: someone must do it, so it follows the lane rules.
HUMAN_TASKS = ("userTask", "manualTask", "task")


def validate_files(
    files: Mapping[str, bytes], registry: HandlerRegistry, settings: EngineSettings
) -> tuple[ParsedDeployment | None, list[Problem]]:
    """Parse and check a file set; the problems list holds every problem found."""
    problems = list(_size_problems(files, settings))
    if problems:
        return None, problems
    parsed, problems = parse_deployment(files)
    problems += structure_problems(DiagramIndex(parsed.trees))
    for name, schema in sorted(parsed.forms.items()):
        problems += form_problems(_full_name(files, name), schema)
    for name, tree in sorted(parsed.trees.items()):
        if file_kind(name) == "bpmn":
            problems += _bpmn_problems(name, tree, parsed, registry, settings)
        else:
            problems += dmn_problems(name, tree)
    problems += translation_problems(files, parsed.trees, parsed.translations, parsed.forms)
    return parsed, sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.element or "", p.message))


def _full_name(files: Mapping[str, bytes], base: str) -> str:
    return next((n for n in files if n.rsplit("/", 1)[-1] == base), base)


def _size_problems(files: Mapping[str, bytes], settings: EngineSettings) -> Iterable[Problem]:
    if not files:
        yield Problem("(upload)", "no files")
    if len(files) > settings.max_files:
        yield Problem("(upload)", f"{len(files)} files; at most {settings.max_files} may be deployed at once")
    for name, content in files.items():
        if len(content) > settings.max_file_bytes:
            yield Problem(name, f"{len(content):,} bytes; files may have at most {settings.max_file_bytes:,}")
        if "\\" in name or name.startswith("/") or ".." in name.split("/"):
            yield Problem(name, "file names must be relative paths without '..'")


def _owner_id(node: etree._Element) -> str | None:
    """The id of the flow element a piece of code belongs to (an event, not its event definition)."""
    while node is not None and (node.get("id") is None or etree.QName(node).localname.endswith("EventDefinition")):
        node = node.getparent()
    return node.get("id") if node is not None else None


def _properties(task: etree._Element) -> dict[str, str]:
    return {
        p.get("name"): p.get("value", "")
        for p in task.findall("bpmn:extensionElements/spiff:properties/spiff:property", NS)
    }


def _duplicate_ids(name: str, tree: etree._ElementTree) -> list[Problem]:
    """SpiffWorkflow indexes every id in a file — an operator's and a parameter's too — and keeps the
    last one, so an operator or parameter id equal to a diagram element's id hides that element.
    (Operators and parameters may repeat among themselves: one operator serves many tasks.)"""
    elements: dict[str, int] = {}
    for node in tree.iter():
        if isinstance(node.tag, str) and node.get("id") is not None and not node.tag.startswith(f"{{{SPIFF}}}"):
            elements.setdefault(node.get("id"), node.sourceline)
    return [
        Problem(name, f"the {etree.QName(node).localname} id {node.get('id')!r} is also the id of a diagram "
                f"element (line {elements[node.get('id')]}), which it would hide; rename one of them",
                node.get("id"), node.sourceline)
        for node in tree.iter(f"{{{SPIFF}}}*") if node.get("id") in elements
    ]


def _bpmn_problems(
    name: str, tree: etree._ElementTree, parsed: ParsedDeployment, registry: HandlerRegistry, settings: EngineSettings
) -> list[Problem]:
    problems: list[Problem] = _duplicate_ids(name, tree)
    for process in tree.iterfind(".//bpmn:process", NS):
        human = {
            t.get("id"): t for kind in HUMAN_TASKS for t in process.iter(f"{{{BPMN}}}{kind}")
        }
        for lane in process.iter(f"{{{BPMN}}}lane"):
            refs = [r.text.strip() for r in lane.findall("bpmn:flowNodeRef", NS) if r.text]
            role = lane_role(lane.get("name"))
            holds_human = [r for r in refs if r in human]
            if not role or not holds_human:
                continue
            if role in settings.system_lanes:
                problems.append(Problem(
                    name, f"lane {lane.get('name')!r} is for automated steps but holds task(s) a person must do "
                    f"(user, manual or plain tasks): {', '.join(holds_human)}, which nobody could do",
                    lane.get("id"), lane.sourceline))
            elif role not in settings.known_roles:
                problems.append(Problem(
                    name, f"lane {lane.get('name')!r} holds user tasks but {role!r} is not a known role "
                    f"(known: {', '.join(sorted(settings.known_roles))})", lane.get("id"), lane.sourceline))
        for task_id, task in human.items():
            problems += _human_task_problems(name, task_id, task, human, parsed)
        problems += shared_field_problems(
            name, human, {task_id: _properties(task).get("formJsonSchemaFilename") for task_id, task in human.items()},
            parsed)
        for task in process.iter(f"{{{BPMN}}}serviceTask"):
            problems += _service_task_problems(name, task, registry)
    for script in tree.iterfind(".//bpmn:scriptTask/bpmn:script", NS):
        problems += code_problems(name, _owner_id(script), script.sourceline, script.text or "", script=True)
    for tag in ("preScript", "postScript"):
        for script in tree.iterfind(f".//spiff:{tag}", NS):
            problems += code_problems(name, _owner_id(script), script.sourceline, script.text or "", script=True)
    for cond in tree.iterfind(".//bpmn:conditionExpression", NS):
        problems += code_problems(name, _owner_id(cond), cond.sourceline, cond.text or "", script=False)
    for timer in tree.iterfind(".//bpmn:timerEventDefinition", NS):
        problems += _timer_problems(name, timer)
    for message in tree.iterfind(".//bpmn:messageEventDefinition", NS):
        problems += _deliverer_problems(name, message.getparent(), settings)
    for tag in ("bpmn:completionCondition", "bpmn:loopCardinality", "bpmn:loopCondition", "spiff:messagePayload",
                "bpmn:messagePath", "bpmn:formalExpression", "bpmn:condition"):
        for expr in tree.iterfind(f".//{tag}", NS):
            if expr.getparent().tag == f"{{{BPMN}}}sequenceFlow" or not (expr.text or "").strip():
                continue
            problems += code_problems(name, _owner_id(expr), expr.sourceline, expr.text or "", script=False)
    return problems


def _deliverer_problems(name: str, event: etree._Element, settings: EngineSettings) -> list[Problem]:
    """A message's catching event names who may deliver it (engine/workflow/access.py); a throwing one names nobody."""
    value = _properties(event).get(DELIVERED_BY)
    if value is None:
        return []
    kind = etree.QName(event).localname
    if kind in ("endEvent", "intermediateThrowEvent"):
        return [Problem(name, f"deliveredBy is for events that catch a message, not on a {kind}", event.get("id"),
                        event.sourceline)]
    if (kind == "startEvent" and etree.QName(event.getparent()).localname == "process"
            and CUSTOMER in value.split()):
        return [Problem(name, "deliveredBy customer needs a case to authenticate the customer for: not on a "
                        "process's start event", event.get("id"), event.sourceline)]
    return [Problem(name, problem, event.get("id"), event.sourceline)
            for problem in deliverer_problems(value, settings.known_roles)]


def _human_task_problems(
    name: str, task_id: str, task: etree._Element, human: dict[str, etree._Element], parsed: ParsedDeployment
) -> list[Problem]:
    problems = []
    props = _properties(task)
    line = task.sourceline
    form = props.get("formJsonSchemaFilename")
    if form is not None and parsed.form(form) is None:
        problems.append(Problem(name, f"formJsonSchemaFilename {form!r} is not in the deployed files", task_id, line))
    separate = props.get("separateFrom")
    for other in separate_from_ids(separate):
        if other == task_id:
            problems.append(Problem(name, "separateFrom names the task itself", task_id, line))
        elif other not in human:
            problems.append(Problem(name, f"separateFrom names {other!r}, which is no user task of this process",
                                    task_id, line))
    if separate is not None and not separate_from_ids(separate):
        problems.append(Problem(name, "separateFrom names no task", task_id, line))
    due = props.get("dueIn")
    if due is not None:
        try:
            isodate.parse_duration(due)
        except (isodate.ISO8601Error, ValueError):
            problems.append(Problem(name, f"dueIn {due!r} is not an ISO 8601 duration (e.g. P3D, PT4H)", task_id, line))
    assign_to = props.get("assignTo")
    if assign_to is not None and not assign_to.isidentifier():
        problems.append(Problem(name, f"assignTo {assign_to!r} must name a process variable", task_id, line))
    priority = props.get("priority")
    if priority is not None and not (priority.isascii() and priority.isdigit() and 0 <= int(priority) <= 100):
        problems.append(Problem(name, f"priority {priority!r} must be a whole number from 0 to 100", task_id, line))
    return problems


def _service_task_problems(name: str, task: etree._Element, registry: HandlerRegistry) -> list[Problem]:
    task_id, line = task.get("id"), task.sourceline
    operator = task.find("bpmn:extensionElements/spiff:serviceTaskOperator", NS)
    if operator is None:
        return [Problem(name, "service task names no operator (spiffworkflow:serviceTaskOperator)", task_id, line)]
    op_name = operator.get("id")
    params = {p.get("id"): p for p in operator.iterfind("spiff:parameters/spiff:parameter", NS)}
    problems = []
    handler = registry.get(op_name)
    if handler is None:
        problems.append(Problem(name, f"unknown service task operator {op_name!r} (known: "
                                f"{', '.join(registry.names()) or 'none'})", task_id, line))
    else:
        for missing in sorted(handler.required - params.keys()):
            problems.append(Problem(name, f"operator {op_name!r} needs parameter {missing!r}", task_id, line))
        for extra in sorted(params.keys() - handler.required - handler.optional):
            problems.append(Problem(name, f"operator {op_name!r} has no parameter {extra!r}", task_id, line))
    for pid, param in params.items():
        value = param.get("value")
        if value is None or not value.strip():
            problems.append(Problem(name, f"parameter {pid!r} has no value expression", task_id, param.sourceline))
        else:
            problems += code_problems(name, task_id, param.sourceline, value, script=False)
    return problems


def _timer_problems(name: str, timer: etree._Element) -> list[Problem]:
    event_id = _owner_id(timer.getparent())
    problems = []
    for child in timer:
        if not isinstance(child.tag, str):
            continue
        kind = etree.QName(child).localname
        text = (child.text or "").strip()
        if not text:
            problems.append(Problem(name, f"timer {kind} is empty", event_id, child.sourceline))
            continue
        found = code_problems(name, event_id, child.sourceline, text, script=False)
        problems += found
        if found:
            continue
        try:
            literal = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            continue  # an expression over process data: checked when it runs
        if not isinstance(literal, str):
            problems.append(Problem(name, f"timer {kind} must give an ISO 8601 string", event_id, child.sourceline))
            continue
        try:
            if kind == "timeDuration":
                TimerEventDefinition.parse_iso_duration(literal)
            elif kind == "timeDate":
                datetime.fromisoformat(literal)
            else:
                TimerEventDefinition.parse_iso_recurring_interval(literal)
        except Exception:
            problems.append(Problem(name, f"timer {kind} {literal!r} is not valid ISO 8601", event_id,
                                    child.sourceline))
    return problems
