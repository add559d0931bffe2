"""What SpiffWorkflow's parser cannot run, misreads or reports without saying where: each problem with file,
element, line and, for the constructs analysts meet most, how to fix it."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.errors import Problem

from .diagram_index import BPMN, EVENT_REFS, NS, DiagramIndex, is_bpmn, local_name, process_of
from .xml_safety import element_at_line

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
CONTAINERS = ("subProcess", "transaction", "adHocSubProcess")
# SpiffWorkflow follows several outgoing flows only from gateways and start events.
BRANCHING = GATEWAYS | {"startEvent"}
DECISION_HINT = ("<bpmn:extensionElements><spiffworkflow:calledDecisionId>{}</spiffworkflow:calledDecisionId>"
                 "</bpmn:extensionElements>")
# The elements SpiffWorkflow can turn into task specs.
PARSED_TAGS = frozenset(SpiffBpmnParser.PARSER_CLASSES) | frozenset(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES)
DATA_STORES = {f"{{{BPMN}}}dataStore": "data store", f"{{{BPMN}}}dataStoreReference": "data store reference"}
DATA_STORE_HINT = ("SpiffWorkflow 3.2 has no data store implementation here; keep the data in process variables, "
                   "or read and write it with a service task")


def structure_problems(index: DiagramIndex) -> list[Problem]:
    """Every construct of the deployment's BPMN files that SpiffWorkflow would refuse, misread or ignore."""
    return [problem for file, tree in sorted(index.bpmn.items()) for node in tree.iter(*_CHECKS, *DATA_STORES)
            for problem in _node_problems(file, node, index)
            ] + [problem for file in sorted(index.dmn) for problem in _decision_file_problems(file, index)]


def _decision_file_problems(file: str, index: DiagramIndex) -> list[Problem]:
    """SpiffWorkflow reads one decision per DMN file (and fails on more without saying where)."""
    root = index.dmn[file].getroot()
    decisions = root.xpath("./*[local-name()='decision']")
    if not decisions:
        return [Problem(file, "the file holds no decision", None, root.sourceline)]
    names = ", ".join(repr(d.get("id")) for d in decisions)
    return [Problem(file, f"SpiffWorkflow 3.2 reads one decision per DMN file and this one holds {len(decisions)} "
                    f"({names}): move {extra.get('id')!r} into a file of its own", extra.get("id"), extra.sourceline)
            for extra in decisions[1:]]


def missing_call_problems(index: DiagramIndex, process_id: str) -> list[Problem]:
    """The call activities reachable from a process that call a process no file of the deployment defines."""
    problems: list[Problem] = []
    seen, todo = {process_id}, [process_id] if process_id in index.processes else []
    while todo:
        file, process = index.processes[todo.pop()]
        for call in process.iter(f"{{{BPMN}}}callActivity"):
            called = call.get("calledElement")
            if called in index.processes and called not in seen:
                seen.add(called)
                todo.append(called)
            elif called not in index.processes:
                problems += _call_problems(file, call, index)
    return problems


def _node_problems(file: str, node: etree._Element, index: DiagramIndex) -> list[Problem]:
    if node.tag in DATA_STORES:
        label = f" {node.get('name')!r}" if node.get("name") else ""
        return [Problem(file, f"{DATA_STORES[node.tag]}{label} is not supported: {DATA_STORE_HINT}", node.get("id"),
                        node.sourceline)]
    check = _CHECKS.get(node.tag)
    process = process_of(node) if check is not None else None
    return check(file, node, index, process) if check is not None and process is not None else []


def _decision_problems(file: str, task: etree._Element, index: DiagramIndex) -> list[Problem]:
    ref = task.get(f"{{{CAMUNDA}}}decisionRef")
    called = (task.findtext("bpmn:extensionElements/spiff:calledDecisionId", namespaces=NS) or "").strip()
    if ref is not None and called:
        message = (f"camunda:decisionRef {ref!r} is not supported and would be ignored; remove it (the task names "
                   f"its decision with spiffworkflow:calledDecisionId {called!r})")
    elif ref is not None:
        message = (f"camunda:decisionRef {ref!r} is not supported; use spiffworkflow:calledDecisionId: "
                   + DECISION_HINT.format(ref))
    elif not called:
        message = "business rule task names no decision; use spiffworkflow:calledDecisionId: " + DECISION_HINT.format(
            "decision_id")
    else:  # a decision SpiffWorkflow misses because its file holds several is explained there
        return _decision_file_problems(index.decisions[called], index) if called in index.decisions else []
    return [Problem(file, message, task.get("id"), task.sourceline)]


def _call_problems(file: str, call: etree._Element, index: DiagramIndex) -> list[Problem]:
    called = call.get("calledElement")
    if not called:
        message = "call activity names no process; set calledElement to the id of a process of this deployment"
    elif called not in index.processes:
        message = (f"call activity calls process {called!r}, which no BPMN file of this deployment defines (defined: "
                   f"{', '.join(sorted(index.processes)) or 'none'}); deploy its file with this one or correct "
                   "calledElement")
    else:
        return []
    return [Problem(file, message, call.get("id"), call.sourceline)]


def _flow_problems(file: str, flow: etree._Element, index: DiagramIndex, process: etree._Element) -> list[Problem]:
    ids = index.flows(process)[0]
    return [Problem(file, f"sequence flow {verb} {flow.get(attr)!r}, which is no element of process "
                    f"{process.get('id')!r}; connect it to an existing element", flow.get("id"), flow.sourceline)
            for attr, verb in (("sourceRef", "starts at"), ("targetRef", "leads to")) if flow.get(attr) not in ids]


def _script_problems(file: str, task: etree._Element) -> list[Problem]:
    if (task.findtext("bpmn:script", namespaces=NS) or "").strip():
        return []
    return [Problem(file, "script task has no script; write it in bpmn:script, or make it a plain task",
                    task.get("id"), task.sourceline)]


def _flow_node_problems(file: str, node: etree._Element, index: DiagramIndex, process: etree._Element) -> list[Problem]:
    """Outgoing flows, a boundary event's attachment and event definitions of any flow node."""
    ids, outgoing = index.flows(process)
    node_id, kind, line = node.get("id"), local_name(node), node.sourceline
    flows = outgoing.get(node_id, [])
    problems = []
    if kind in GATEWAYS and not flows:
        problems.append(Problem(file, f"{kind} has no outgoing sequence flow: the process would stop here; connect "
                                "it onward or remove it", node_id, line))
    if kind not in BRANCHING and len(flows) > 1:
        problems.append(Problem(file, f"{len(flows)} outgoing sequence flows ({', '.join(f.get('id') for f in flows)}) "
                                f"leave this {kind}, but SpiffWorkflow follows exactly one: split after it with a "
                                "parallel gateway (all paths) or an exclusive gateway (one path)", node_id, line))
    default = node.get("default")
    if default is not None and default not in {f.get("id") for f in flows}:
        problems.append(Problem(file, f"default flow {default!r} is not an outgoing sequence flow of this {kind}",
                                node_id, line))
    attached = node.get("attachedToRef")
    if kind == "boundaryEvent" and attached not in ids:
        problems.append(Problem(file, f"boundary event is attached to {attached!r}, which is no element of process "
                                f"{process.get('id')!r}", node_id, line))
    for definition in node:
        problems += _event_definition_problems(file, node_id, definition, index)
    if kind == "scriptTask":
        problems += _script_problems(file, node)
    if kind == "businessRuleTask":
        problems += _decision_problems(file, node, index)
    if kind == "callActivity":
        problems += _call_problems(file, node, index)
    return problems


def _event_definition_problems(file: str, event_id: str, definition: etree._Element,
                               index: DiagramIndex) -> list[Problem]:
    kind = local_name(definition)
    if kind == "timerEventDefinition" and not any(
            is_bpmn(child, "timeDate", "timeDuration", "timeCycle") for child in definition):
        return [Problem(file, "timer has no timeDuration, timeDate or timeCycle", event_id, definition.sourceline)]
    if not is_bpmn(definition, *EVENT_REFS):
        return []
    attr, target = EVENT_REFS[kind]
    ref = definition.get(attr)
    known = index.root_elements[target]
    if ref is None or ref in known:
        return []
    return [Problem(file, f"{attr} {ref!r} names no bpmn:{target} of this deployment (defined: "
                    f"{', '.join(sorted(known)) or 'none'})", event_id, definition.sourceline)]


_CHECKS = {f"{{{BPMN}}}sequenceFlow": _flow_problems}
_CHECKS.update({f"{{{BPMN}}}{name}": _flow_node_problems for name in (
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
    "callActivity", *CONTAINERS, "startEvent", "endEvent",
    "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", *GATEWAYS)})


# --- SpiffWorkflow's exceptions -----------------------------------------------------------------------------

def exception_problems(exc: Exception, default_file: str, index: DiagramIndex, what: str = "element") -> list[Problem]:
    """A parser error as problems naming file, element and line wherever any of them can be known; an error our
    own checks explain (a Camunda attribute, a dangling reference…) is replaced by that explanation."""
    file = getattr(exc, "file_name", None) or None
    element = getattr(exc, "id", None) or None
    name = getattr(exc, "name", None) or None
    line = _line(getattr(exc, "line_number", None)) or _line(getattr(exc, "sourceline", None))
    held = list(_raising_nodes(exc))
    node = None
    if element or name:
        attr, value = ("id", element) if element else ("name", name)
        node = next((n for n in held if n.get(attr) == value), None)
        if node is None and element:
            node = index.find(file or default_file, element) or next(
                (found for each in sorted(index.trees) if (found := index.find(each, element)) is not None), None)
    elif line is None and held:
        node = held[0]
    file = (index.file_of(node) if node is not None else None) or file or default_file
    if node is not None:
        explained = _explain(file, node, index)
        if explained:
            return explained
        element = node.get("id") or _owner_id(node)
        line = line or node.sourceline
    elif line is not None and file in index.trees:
        element = element or element_at_line(index.trees[file], line)
    elif file in index.dmn and _decision_file_problems(file, index):
        return _decision_file_problems(file, index)
    return [Problem(file, _message(exc, what), element, line)]


def _explain(file: str, node: etree._Element, index: DiagramIndex) -> list[Problem]:
    """Our own problems with an element SpiffWorkflow refused, and with the flows leaving it (a flow to nowhere
    is reported by SpiffWorkflow at its source)."""
    problems = _node_problems(file, node, index)
    process = process_of(node)
    if process is not None and node.get("id"):
        for flow in index.flows(process)[1].get(node.get("id"), []):
            problems += _node_problems(file, flow, index)
    in_flow = node.getparent() is not None and is_bpmn(node.getparent(), "process", *CONTAINERS)
    if not problems and process is not None and in_flow and node.tag not in PARSED_TAGS | {f"{{{BPMN}}}sequenceFlow"}:
        problems.append(Problem(file, f"{local_name(node)} is not supported by SpiffWorkflow 3.2: model this step with "
                                "another kind of task, gateway or event", node.get("id"), node.sourceline))
    return problems


def _owner_id(node: etree._Element) -> str | None:
    """The id of the element or of its nearest ancestor with one, short of the file's root."""
    while node is not None and node.getparent() is not None and node.get("id") is None:
        node = node.getparent()
    return node.get("id") if node is not None and node.getparent() is not None else None


def _line(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _raising_nodes(exc: BaseException) -> Iterator[etree._Element]:
    """XML elements SpiffWorkflow was reading where it raised, innermost first. Some of its errors name no
    element at all ("Message identifier is missing"); the element is still in the raising frame."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith("SpiffWorkflow."):
            frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        values = list(frame.f_locals.values())
        values.insert(0, getattr(frame.f_locals.get("self"), "node", None))
        for value in values:
            if isinstance(value, etree._Element) and isinstance(value.tag, str) and value.getparent() is not None:
                yield value


def _message(exc: Exception, what: str) -> str:
    slip: BaseException | None = exc
    if isinstance(exc, SpiffWorkflowException):
        # SpiffWorkflow wraps its own slips (a TypeError, a KeyError) in a ValidationException holding their repr.
        slip = exc.__context__
        if slip is None or isinstance(slip, SpiffWorkflowException) or exc.args[:1] != (repr(slip),):
            text = " ".join([str(exc.args[0]) if exc.args else "", *getattr(exc, "notes", [])])
            return text.strip().split("\n")[0].strip()
    return f"SpiffWorkflow cannot read this {what} ({type(slip).__name__}: {slip})"
