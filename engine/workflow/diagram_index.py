"""A deployment's BPMN and DMN files indexed for the questions the parser checks ask: processes, root elements
(messages, errors, signals, escalations), decisions, elements by id, flows by source."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiff": SPIFF}
# Event definitions name a root element of the deployment, looked up across its files as SpiffWorkflow does.
EVENT_REFS = {"messageEventDefinition": ("messageRef", "message"), "errorEventDefinition": ("errorRef", "error"),
              "signalEventDefinition": ("signalRef", "signal"),
              "escalationEventDefinition": ("escalationRef", "escalation")}


def local_name(node: etree._Element) -> str:
    """An element's tag without its namespace ("" for comments and processing instructions)."""
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def is_bpmn(node: etree._Element, *names: str) -> bool:
    """Whether the element is a BPMN element with one of these names."""
    return isinstance(node.tag, str) and etree.QName(node).namespace == BPMN and local_name(node) in names


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


def process_of(node: etree._Element) -> etree._Element | None:
    """The executable process holding `node`; None outside one (SpiffWorkflow never parses the rest)."""
    while node is not None and not is_bpmn(node, "process"):
        node = node.getparent()
    return node if node is not None and node.get("isExecutable", "true") == "true" else None
