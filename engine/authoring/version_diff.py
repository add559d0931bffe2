"""What changed between two versions of a process: elements added, removed and changed in its diagrams
(attributes, spiff extension properties, operators and parameters, conditions, timers, scripts, lanes),
its decision tables (inputs, outputs, rules) and its forms (fields and their schemas). Layout (BPMNDI)
is not a change: moving a shape changes nothing that runs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from lxml import etree

from engine.errors import InvalidInputError
from engine.workflow.deployments import VersionInfo, version_files
from engine.workflow.parsing import file_kind
from engine.workflow.runtime import Runtime
from engine.workflow.translations import source_file
from engine.workflow.xml_safety import parse_untrusted_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# BPMN elements with an id that are part of their owner rather than elements of their own.
_NOT_ELEMENTS = {"definitions", "laneSet", "ioSpecification", "inputSet", "outputSet"}
_DMN_ELEMENTS = {"decision", "input", "output", "rule"}
# Containers that add nothing to an aspect's name.
_TRANSPARENT = {"extensionElements", "properties", "parameters"}
_LABELS = {"serviceTaskOperator@id": "operator", "serviceTaskOperator@resultVariable": "result variable",
           "conditionExpression": "condition", "calledDecisionId": "decision",
           "instructionsForEndUser": "instructions"}


@dataclass(frozen=True)
class Change:
    """One element added, removed or changed; `details` lists each changed aspect with both values."""

    file: str
    element: str | None
    kind: str  # added, removed, changed
    type: str
    name: str = ""
    details: list[dict[str, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class VersionDiff:
    """The changes between two versions of one process."""

    key: str
    old: VersionInfo
    new: VersionInfo
    changes: list[Change]


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _tracked_bpmn(node: etree._Element) -> bool:
    if not isinstance(node.tag, str) or node.get("id") is None or etree.QName(node).namespace != BPMN:
        return False
    name = _local(node)
    if name in _NOT_ELEMENTS or name.endswith("EventDefinition"):
        return False
    parent = node.getparent()
    while parent is not None:  # nothing inside extension elements is a diagram element
        if _local(parent) == "extensionElements":
            return False
        parent = parent.getparent()
    return True


def _tracked_dmn(node: etree._Element) -> bool:
    return isinstance(node.tag, str) and node.get("id") is not None and _local(node) in _DMN_ELEMENTS


def _attrs(node: etree._Element, path: str, out: dict[str, str]) -> None:
    for key, value in node.attrib.items():
        qname = etree.QName(key)
        if qname.localname == "id" or qname.namespace == XSI:  # xsi:type is how a tool spells it, not what runs
            continue
        aspect = f"{path}@{qname.localname}" if path else qname.localname
        out[_LABELS.get(aspect, aspect)] = value


def _walk(node: etree._Element, path: str, out: dict[str, str], tracked: Any) -> None:
    counts: dict[str, int] = {}
    children = [c for c in node if isinstance(c.tag, str) and not tracked(c)]
    for child in children:
        counts[_local(child)] = counts.get(_local(child), 0) + 1
    seen: dict[str, int] = {}
    members = []
    for child in children:
        name = _local(child)
        if name in ("incoming", "outgoing"):  # the sequence flows' own source and target say this
            continue
        if name == "flowNodeRef":
            members.append((child.text or "").strip())
            continue
        if etree.QName(child).namespace == SPIFF and name == "property":
            out[f"property {child.get('name')}"] = child.get("value", "")
            continue
        if etree.QName(child).namespace == SPIFF and name == "parameter":
            out[f"parameter {child.get('id')}"] = child.get("value", "")
            continue
        seen[name] = seen.get(name, 0) + 1
        step = name if counts[name] == 1 else f"{name}[{seen[name]}]"
        here = path if name in _TRANSPARENT else (f"{path}/{step}" if path else step)
        text = (child.text or "").strip()
        if text:
            out[_LABELS.get(here, here)] = text
        _attrs(child, here, out)
        _walk(child, here, out, tracked)
    if members:
        out["members"] = ", ".join(sorted(members))


def _elements(tree: etree._ElementTree, tracked: Any) -> dict[str, tuple[str, str, dict[str, str]]]:
    """id → (type, name, aspects) of every element of a diagram or decision table."""
    found = {}
    for node in tree.iter():
        if not tracked(node):
            continue
        aspects: dict[str, str] = {}
        _attrs(node, "", aspects)
        _walk(node, "", aspects, tracked)
        found[node.get("id")] = (_local(node), node.get("name") or node.get("label") or "", aspects)
    return found


def _compare(file: str, old: Mapping[str, tuple[str, str, dict[str, str]]],
             new: Mapping[str, tuple[str, str, dict[str, str]]]) -> list[Change]:
    changes = []
    for element in sorted(old.keys() | new.keys()):
        if element not in new:
            kind, name, _ = old[element]
            changes.append(Change(file, element, "removed", kind, name))
        elif element not in old:
            kind, name, _ = new[element]
            changes.append(Change(file, element, "added", kind, name))
        else:
            (old_kind, _, before), (kind, name, after) = old[element], new[element]
            details = [{"aspect": "type", "old": old_kind, "new": kind}] if old_kind != kind else []
            details += [{"aspect": aspect, "old": before.get(aspect), "new": after.get(aspect)}
                        for aspect in sorted(before.keys() | after.keys()) if before.get(aspect) != after.get(aspect)]
            if details:
                changes.append(Change(file, element, "changed", kind, name, details))
    return changes


def _form_elements(schema: Any) -> dict[str, tuple[str, str, dict[str, str]]]:
    if not isinstance(schema, dict):
        return {}
    found: dict[str, tuple[str, str, dict[str, str]]] = {}
    form = {k: json.dumps(v, ensure_ascii=False, sort_keys=True) for k, v in schema.items() if k != "properties"}
    found["(form)"] = ("form", str(schema.get("title", "")), form)
    for name, spec in (schema.get("properties") or {}).items():
        aspects = ({k: json.dumps(v, ensure_ascii=False, sort_keys=True) for k, v in spec.items()}
                   if isinstance(spec, dict) else {"schema": json.dumps(spec)})
        found[name] = ("field", str(spec.get("title", "")) if isinstance(spec, dict) else "", aspects)
    return found


def _translation_elements(data: Any) -> dict[str, tuple[str, str, dict[str, str]]]:
    """A translation file's texts by element id: each id with its name, instructions and values."""
    found: dict[str, tuple[str, str, dict[str, str]]] = {}
    for section, texts in (data.items() if isinstance(data, dict) else ()):
        for element, text in (texts.items() if isinstance(texts, dict) else ()):
            shown = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, sort_keys=True)
            name, aspects = found.get(element, ("translation", "", {}))[1:]
            found[element] = ("translation", name or (shown if section == "names" else ""),
                              {**aspects, section: shown})
    return found


def _read(name: str, content: bytes) -> Any:
    kind = file_kind(name)
    if kind in ("form", "i18n"):
        try:
            return json.loads(content)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"{name} is not valid JSON: {exc}") from exc
    tree, problems = parse_untrusted_xml(name, content)
    if tree is None:
        raise InvalidInputError(str(problems[0]))
    return tree


def _file_elements(name: str, content: bytes) -> dict[str, tuple[str, str, dict[str, str]]]:
    kind, parsed = file_kind(name), _read(name, content)
    if kind == "form":
        return _form_elements(parsed)
    if kind == "i18n":
        return _translation_elements(parsed)
    return _elements(parsed, _tracked_bpmn if kind == "bpmn" else _tracked_dmn)


def diff_files(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[Change]:
    """Every element added, removed or changed from one file set to the other."""
    changes = []
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            changes.append(Change(name, None, "removed", "file"))
        elif name not in old:
            changes.append(Change(name, None, "added", "file"))
            if file_kind(name) in ("bpmn", "dmn", "form", "i18n"):
                changes += _compare(name, {}, _file_elements(name, new[name]))
        elif old[name] != new[name] and file_kind(name):
            changes += _compare(name, _file_elements(name, old[name]), _file_elements(name, new[name]))
    return changes


def process_files(files: Mapping[str, bytes], key: str) -> dict[str, bytes]:
    """The files a process needs: its diagram, the diagrams of what it calls, the decision tables its
    business rule tasks name and the forms its user tasks name."""
    trees: dict[str, etree._ElementTree] = {}
    for name, content in files.items():
        if file_kind(name) in ("bpmn", "dmn"):
            tree, _problems = parse_untrusted_xml(name, content)
            if tree is not None:
                trees[name] = tree
    processes, decisions = {}, {}
    for name, tree in trees.items():
        for node in tree.iter(f"{{{BPMN}}}process"):
            processes[node.get("id")] = (name, node)
        for node in tree.xpath("//*[local-name()='decision']"):
            decisions[node.get("id")] = name
    forms = {PurePosixPath(n).name: n for n in files if file_kind(n) == "form"}
    wanted: set[str] = set()
    queue, seen = [key], set()
    while queue:
        pid = queue.pop()
        if pid in seen or pid not in processes:
            continue
        seen.add(pid)
        name, process = processes[pid]
        wanted.add(name)
        for node in process.iter():
            if not isinstance(node.tag, str):
                continue
            local = _local(node)
            if local == "callActivity" and node.get("calledElement"):
                queue.append(node.get("calledElement"))
            elif local == "calledDecisionId" and (node.text or "").strip() in decisions:
                wanted.add(decisions[(node.text or "").strip()])
            elif local == "property" and node.get("name") == "formJsonSchemaFilename":
                form = forms.get(PurePosixPath(node.get("value", "")).name)
                if form:
                    wanted.add(form)
    # Each diagram's and decision table's translations go with it (engine/workflow/translations.py).
    wanted |= {name for name in files if file_kind(name) == "i18n" and source_file(name, files) in wanted}
    return {name: files[name] for name in sorted(wanted)}


def diff_versions(rt: Runtime, key: str, old_version: int, new_version: int) -> VersionDiff:
    """What changed in a process from one version to another (only the files the process needs)."""
    old, old_files = version_files(rt, key, old_version)
    new, new_files = version_files(rt, key, new_version)
    return VersionDiff(key, old, new, diff_files(process_files(old_files, key), process_files(new_files, key)))
