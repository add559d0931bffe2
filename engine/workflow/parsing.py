"""Turning a deployment's files into SpiffWorkflow specs (and saying exactly what is wrong)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import AdHocSubprocessSpec, BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.data_spec import BpmnDataStoreSpecification
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser

from engine.errors import Problem

from .decisions import RecordingDMNEngine
from .diagram_index import DiagramIndex
from .parser_problems import exception_problems, missing_call_problems
from .service_results import ServiceTask
from .translations import Texts, collect_texts, translation_of
from .xml_safety import element_at_line, parse_untrusted_xml

KINDS = {".bpmn": "bpmn", ".dmn": "dmn", ".json": "form"}


def file_kind(name: str) -> str | None:
    """'bpmn', 'dmn', 'form' or 'i18n' (a translation, `claims.zh.json`) by the file's name; None for anything
    else."""
    if translation_of(name):
        return "i18n"
    return KINDS.get(PurePosixPath(name).suffix.lower())


def content_hash(files: Mapping[str, bytes]) -> str:
    """sha256 over the set: each file's name and content hash, in name order."""
    outer = hashlib.sha256()
    for name in sorted(files):
        outer.update(name.encode() + b"\0" + hashlib.sha256(files[name]).hexdigest().encode() + b"\n")
    return outer.hexdigest()


@dataclass
class ProcessSpecs:
    """An executable process: its spec and the specs of everything it calls."""

    key: str
    name: str
    file: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]


@dataclass
class ParsedDeployment:
    """The specs and forms of one file set."""

    processes: dict[str, ProcessSpecs] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    trees: dict[str, etree._ElementTree] = field(default_factory=dict)
    translations: dict[str, Any] = field(default_factory=dict)  # translation file → its JSON (engine/translations)
    texts: dict[str, Texts] = field(default_factory=dict)  # language → the diagrams' texts in it

    def form(self, filename: str) -> dict[str, Any] | None:
        """The JSON Schema a task names with `formJsonSchemaFilename`."""
        return self.forms.get(PurePosixPath(filename).name)

    def name_in(self, lang: str, process_key: str, element: str) -> str | None:
        """A diagram element's name in a staff language (a translation, or a user task's form title), if any."""
        texts = self.texts.get(lang)
        process = self.processes.get(process_key)
        return texts.name(element, process.file if process else None) if texts else None


_DMN_VALIDATORS: dict[str, BpmnValidator] = {}


@lru_cache(maxsize=1)
def _dmn_schema_files() -> dict[str, str]:
    # SpiffWorkflow keeps the DMN namespace → XSD map on parser instances, not on the class.
    return dict(SpiffBpmnParser().dmn_schemas)


def _xsd_problems(name: str, tree: etree._ElementTree, kind: str) -> list[Problem]:
    if kind == "bpmn":
        VALIDATOR.preprocess(tree)
        schema = VALIDATOR.validator
    else:
        ns = tree.getroot().nsmap.get(tree.getroot().prefix)
        xsd = _dmn_schema_files().get(ns)
        if xsd is None:
            return [Problem(name, f"unknown DMN namespace {ns!r}", line=tree.getroot().sourceline)]
        if ns not in _DMN_VALIDATORS:
            _DMN_VALIDATORS[ns] = BpmnValidator(xsd)
        schema = _DMN_VALIDATORS[ns].validator
    if schema.validate(tree):
        return []
    return [
        Problem(name, f"schema: {err.message}", element=element_at_line(tree, err.line), line=err.line)
        for err in schema.error_log
    ]


class _Parser(SpiffBpmnParser):
    """SpiffBpmnParser that reads past data stores, so that a file holding one still shows its other problems,
    and gives every business rule task a DMN engine that records what it decided (engine/workflow/decisions.py)."""

    OVERRIDE_PARSER_CLASSES = {**SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("serviceTask"): (ServiceTaskParser, ServiceTask)}

    def get_engine(self, decision_ref: str, node: etree._Element) -> RecordingDMNEngine:
        engine = super().get_engine(decision_ref, node)
        return RecordingDMNEngine(engine.decision_table, decision_ref)

    def _add_data_stores(self, bpmn: etree._ElementTree) -> None:
        # SpiffWorkflow 3.2 raises on the first data store without naming the element. Validation refuses data
        # stores one by one with file, element and line (parser_problems); here they only stand in, and would
        # raise NotImplementedError if ever read or written.
        for node in bpmn.xpath(".//bpmn:dataStore", namespaces=self.namespaces):
            self.data_stores[node.get("id")] = BpmnDataStoreSpecification(node.get("id"), node.get("name"))


def parse_deployment(
    files: Mapping[str, bytes], *, check_schema: bool = True
) -> tuple[ParsedDeployment, list[Problem]]:
    """Parse every file; the problems list is complete unless a file could not be read at all."""
    parsed = ParsedDeployment()
    problems: list[Problem] = []
    parser = _Parser()
    dmn_trees, bpmn_trees = [], []
    for name in sorted(files):
        kind = file_kind(name)
        content = files[name]
        if kind in ("form", "i18n"):
            try:
                schema = json.loads(content)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                problems.append(Problem(name, f"not valid JSON: {exc}"))
                continue
            if kind == "i18n":
                parsed.translations[name] = schema
                continue
            base = PurePosixPath(name).name
            if base in parsed.forms:
                problems.append(Problem(name, f"two form files are named {base!r}"))
            parsed.forms[base] = schema
            continue
        if kind is None:
            problems.append(Problem(name, "only .bpmn, .dmn and .json (form schema; a translation named like "
                                    "claims.zh.json) files can be deployed"))
            continue
        tree, found = parse_untrusted_xml(name, content)
        problems += found
        if tree is None:
            continue
        if check_schema:
            found = _xsd_problems(name, tree, kind)
            problems += found
            if found:
                continue
        parsed.trees[name] = tree
        (bpmn_trees if kind == "bpmn" else dmn_trees).append((name, tree))
    index = DiagramIndex(dict(dmn_trees + bpmn_trees))
    # SpiffWorkflow raises ValidationException, and plain errors on some malformed input: both become problems.
    for name, tree in dmn_trees:
        try:
            parser.add_dmn_xml(tree.getroot(), filename=name)
        except Exception as exc:
            problems += exception_problems(exc, name, index, what="decision table")
    for name, tree in bpmn_trees:
        try:
            parser.add_bpmn_xml(tree, filename=name)
        except Exception as exc:
            problems += exception_problems(exc, name, index)
    executable = parser.get_process_ids()
    if not executable and not problems:
        problems.append(Problem(", ".join(sorted(n for n, _ in bpmn_trees)) or "(no BPMN file)",
                                "no executable process (isExecutable=\"true\")"))
    for key in executable:
        process_parser = parser.get_process_parser(key)
        file = process_parser.filename
        try:
            spec = parser.get_spec(key)
            # SpiffWorkflow would name a missing called process, but not the call activity naming it.
            missing = missing_call_problems(index, key)
            subprocess_specs = {} if missing else parser.get_subprocess_specs(key)
        except Exception as exc:
            problems += exception_problems(exc, file, index)
            continue
        if missing:
            problems += missing
            continue
        for each in (spec, *subprocess_specs.values()):
            link_loop_children(each)
            link_event_subprocesses(each)
            link_ad_hoc_paths(each)
        parsed.processes[key] = ProcessSpecs(key, process_parser.get_name() or key, file, spec, subprocess_specs)
    parsed.texts = collect_texts(parsed.trees, parsed.translations, parsed.forms)
    return parsed, list(dict.fromkeys(problems))


def link_loop_children(spec: BpmnProcessSpec) -> None:
    """Connect every loop's and multi-instance's child spec to its parent, as SpiffWorkflow's own
    deserializer does. The library links them only when a loop first runs; a case loaded onto a freshly
    parsed spec (another worker, a restart) mid-loop would otherwise never merge its finished
    iterations and wait forever with nothing ready."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            child = spec.task_specs[task_spec.task_spec]
            if not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


# SpiffWorkflow 3.2 adds two more links to a parsed spec while a case runs. Made once here instead, the library's own
# guards (`if self not in spec.inputs` in `BpmnStartTask.trigger_wf`, `if self.start not in task_spec.inputs` in
# `AdHocSubprocessSpec.add_path`) find them in place and change nothing, so the spec parsed once per deployment and
# shared by all its cases stays as parsed.


def link_event_subprocesses(spec: BpmnProcessSpec) -> None:
    """Give every event subprocess started by a message, signal or other caught event the links SpiffWorkflow makes
    when the event first arrives (`trigger_wf`): the process start as its input and the process end as its output.

    Made at run time, that link changed the shared spec — every case started afterwards ran the subprocess as an
    ordinary branch from its start — and it was missing from a freshly parsed spec, so a case reloaded (another
    worker, a restart) while the subprocess ran failed when it finished ("No input task connected"). The start's
    own outputs are left as parsed: a start task predicts its children from them, so an untriggered case never gets
    a task for the subprocess. The end join waits for the unfinished tasks of the case, not for its inputs, so the
    extra input never holds it. (The output is inert as in SpiffWorkflow, where a triggered task never predicts its
    children: the case ends on its main path's data.)"""
    start, end = spec.start, spec.end
    for name in getattr(start, "trigger_specs", ()):
        event_subprocess = spec.task_specs[name]
        if start not in event_subprocess.inputs:
            event_subprocess._connect_notify(start)
        if end not in event_subprocess.outputs:
            event_subprocess.connect(end)


def link_ad_hoc_paths(spec: BpmnProcessSpec) -> None:
    """Give each conditional path of an ad hoc subprocess the subprocess's start as its input, as SpiffWorkflow does
    when the path is first taken (`add_path`). There the start also gains the path as an output, on the shared spec:
    the start of every later run would then create a task for the path whatever its condition. The start's outputs
    stay as parsed."""
    if isinstance(spec, AdHocSubprocessSpec):
        for path in spec.conditional_paths:
            if spec.start not in path.inputs:
                path._connect_notify(spec.start)
