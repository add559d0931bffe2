"""What SpiffWorkflow's parser cannot run, misreads or reports without saying where: each problem with file,
element, line and, for the constructs analysts meet most, how to fix it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property

from lxml import etree
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from .errors import Problem
from .xml_safety import element_at_line

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "spiff": SPIFF}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
CONTAINERS = ("subProcess", "transaction", "adHocSubProcess")
# SpiffWorkflow follows several outgoing flows only from gateways and start events.
BRANCHING = GATEWAYS | {"startEvent"}
# Event definitions name a root element of the deployment, looked up across its files as SpiffWorkflow does.
EVENT_REFS = {"messageEventDefinition": ("messageRef", "message"), "errorEventDefinition": ("errorRef", "error"),
              "signalEventDefinition": ("signalRef", "signal"),
              "escalationEventDefinition": ("escalationRef", "escalation")}
DECISION_HINT = ("<bpmn:extensionElements><spiffworkflow:calledDecisionId>{}</spiffworkflow:calledDecisionId>"
                 "</bpmn:extensionElements>")
# The elements SpiffWorkflow can turn into task specs.
PARSED_TAGS = frozenset(SpiffBpmnParser.PARSER_CLASSES) | frozenset(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES)
DATA_STORES = {f"{{{BPMN}}}dataStore": "data store", f"{{{BPMN}}}dataStoreReference": "data store reference"}
DATA_STORE_HINT = ("SpiffWorkflow 3.2 has no data store implementation here; keep the data in process variables, "
                   "or read and write it with a service task")


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _bpmn(node: etree._Element, *names: str) -> bool:
    return isinstance(node.tag, str) and etree.QName(node).namespace == BPMN and _local(node) in names


class DiagramIndex:
    """The BPMN and DMN files of a deployment, indexed for the questions the checks ask."""

    def __init__(self, trees: Mapping[str, etree._ElementTree]):
        self.trees = dict(trees)
        self.bpmn = {name: tree for name, tree in self.trees.items() if tree.getroot().tag == f"{{{BPMN}}}definitions"}
        self.dmn = {name: tree for name, tree in self.trees.items() if name not in self.bpmn}
        self._file_of_root = {tree.getroot(): name for name, tree in self.trees.items()}
        self._flows: dict[etree._Element, tuple[set[str], dict[str, list[etree._Element]]]] = {}

    @cached_property
    def processes(self) -> dict[str, tuple[str, etree._Element]]:
        """Process id → (file, process element), over every BPMN file."""
        return {p.get("id"): (name, p) for name, tree in sorted(self.bpmn.items())
                for p in tree.iterfind("bpmn:process", NS) if p.get("id")}

    @cached_property
    def root_elements(self) -> dict[str, set[str]]:
        """Ids of messages, errors, signals and escalations across all BPMN files."""
        found: dict[str, set[str]] = {kind: set() for _, kind in EVENT_REFS.values()}
        for tree in self.bpmn.values():
            for kind, ids in found.items():
                ids.update(n.get("id") for n in tree.iterfind(f".//bpmn:{kind}", NS) if n.get("id"))
        return found

    @cached_property
    def decisions(self) -> dict[str, str]:
        """Decision id → the DMN file that holds it."""
        return {d.get("id"): name for name, tree in sorted(self.dmn.items())
                for d in tree.getroot().xpath("./*[local-name()='decision']") if d.get("id")}

    def file_of(self, node: etree._Element) -> str | None:
        """The file an element was parsed from."""
        return self._file_of_root.get(node.getroottree().getroot())

    def find(self, file: str, element_id: str) -> etree._Element | None:
        """The element with this id in `file` (diagram elements before SpiffWorkflow extension elements)."""
        tree = self.trees.get(file)
        if tree is None:
            return None
        nodes = [n for n in tree.iter() if isinstance(n.tag, str) and n.get("id") == element_id]
        return next((n for n in nodes if etree.QName(n).namespace != SPIFF), nodes[0] if nodes else None)

    def flows(self, process: etree._Element) -> tuple[set[str], dict[str, list[etree._Element]]]:
        """Every id in a process (SpiffWorkflow resolves references process-wide) and its flows by source."""
        if process not in self._flows:
            ids = {n.get("id") for n in process.iter() if isinstance(n.tag, str) and n.get("id")}
            outgoing: dict[str, list[etree._Element]] = {}
            for flow in process.iter(f"{{{BPMN}}}sequenceFlow"):
                outgoing.setdefault(flow.get("sourceRef"), []).append(flow)
            self._flows[process] = ids, outgoing
        return self._flows[process]


def _process_of(node: etree._Element) -> etree._Element | None:
    """The executable process holding `node`; None outside one (SpiffWorkflow never parses the rest)."""
    while node is not None and not _bpmn(node, "process"):
        node = node.getparent()
    return node if node is not None and node.get("isExecutable", "true") == "true" else None


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
    process = _process_of(node) if check is not None else None
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
    node_id, kind, line = node.get("id"), _local(node), node.sourceline
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
    kind = _local(definition)
    if kind == "timerEventDefinition" and not any(
            _bpmn(child, "timeDate", "timeDuration", "timeCycle") for child in definition):
        return [Problem(file, "timer has no timeDuration, timeDate or timeCycle", event_id, definition.sourceline)]
    if not _bpmn(definition, *EVENT_REFS):
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
    process = _process_of(node)
    if process is not None and node.get("id"):
        for flow in index.flows(process)[1].get(node.get("id"), []):
            problems += _node_problems(file, flow, index)
    in_flow = node.getparent() is not None and _bpmn(node.getparent(), "process", *CONTAINERS)
    if not problems and process is not None and in_flow and node.tag not in PARSED_TAGS | {f"{{{BPMN}}}sequenceFlow"}:
        problems.append(Problem(file, f"{_local(node)} is not supported by SpiffWorkflow 3.2: model this step with "
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
