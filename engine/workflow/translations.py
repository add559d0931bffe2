"""Diagram texts in the staff's language: a translation file deploys beside each diagram and decision table.

`claims.zh.json` beside `claims.bpmn` (and `claim_denial.zh.json` beside `claim_denial.dmn`) gives the Chinese
of every text the file shows people — element, lane and process names, the user tasks' instructions, a decision
table's name, column labels and rule annotations — keyed by element id (bpmn/README.md, "Translations"):

    {"names": {"<element id>": "…"}, "instructions": {"<task id>": "…"},
     "values": {"<output name>": {"<English output value>": "…"}}}

A user task whose form carries its title in the language (`x-title-zh`) needs no name here: the form's title is
its name. Translations are untrusted input like the diagrams: strings only, bounded, no markup, and the
instructions may read no process data the English instructions do not read.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from lxml import etree

from .xml_safety import parse_untrusted_xml

LANGUAGES = ("zh",)  # the staff's languages besides English, the language the analysts draw in
SUFFIX = re.compile(r"\.(?P<lang>[a-z]{2})\.json$")
SECTIONS = {"bpmn": ("names", "instructions"), "dmn": ("names", "values")}
MAX_NAME = 300
MAX_INSTRUCTIONS = 20_000
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# Named BPMN elements whose name is a key the engine matches on, never shown as a label.
NOT_LABELS = frozenset({"message", "error", "signal", "escalation", "dataInput", "dataOutput", "dataStore",
                        "correlationProperty", "correlationKey", "itemDefinition", "definitions"})


def translation_of(name: str) -> tuple[str, str] | None:
    """(language, the file's name without extension) for a translation file's name such as `claims.zh.json`."""
    found = SUFFIX.search(name)
    return (found["lang"], name[:found.start()]) if found else None


def source_file(name: str, files: Mapping[str, Any]) -> str | None:
    """The diagram or decision table a translation file translates: same folder and name, `.bpmn` or `.dmn`."""
    _lang, stem = translation_of(name) or ("", "")
    return next((stem + ext for ext in (".bpmn", ".dmn") if stem + ext in files), None)


@dataclass(frozen=True)
class Translatable:
    """What a diagram or decision table shows people: element id → (what it is, English text)."""

    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    instructions: dict[str, str] = field(default_factory=dict)
    forms: dict[str, str] = field(default_factory=dict)  # user task id → its form's file name
    values: dict[str, set[str]] = field(default_factory=dict)  # output name → the string values it gives
    output_ids: dict[str, str] = field(default_factory=dict)  # output name → the output column's id


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def translatable(tree: etree._ElementTree, kind: str) -> Translatable:
    """Every text of a BPMN or DMN file that people read, by element id."""
    found = Translatable()
    for node in tree.iter():
        if not isinstance(node.tag, str) or not node.get("id"):
            continue
        local, element = _local(node), node.get("id")
        if kind == "bpmn" and etree.QName(node).namespace == BPMN:
            if (node.get("name") or "").strip() and local not in NOT_LABELS:
                found.names[element] = (local, node.get("name"))
            text = node.findtext(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}instructionsForEndUser")
            if text and text.strip():
                found.instructions[element] = text
            form = node.find(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}properties/"
                             f"{{{SPIFF}}}property[@name='formJsonSchemaFilename']")
            if form is not None and form.get("value"):
                found.forms[element] = PurePosixPath(form.get("value")).name
        elif kind == "dmn":
            text = {"decision": node.get("name"), "input": node.get("label"), "output": node.get("label"),
                    "rule": next((c.text for c in node if isinstance(c.tag, str) and _local(c) == "description"),
                                 None)}.get(local)
            if text and text.strip():
                found.names[element] = (local, text)
            if local == "output" and node.get("name"):
                found.values.setdefault(node.get("name"), set())
                found.output_ids[node.get("name")] = element
    if kind == "dmn":
        for table in tree.iter("{*}decisionTable"):
            outputs = [o.get("name") for o in table if isinstance(o.tag, str) and _local(o) == "output"]
            for rule in table.iter("{*}rule"):
                entries = [e for e in rule if isinstance(e.tag, str) and _local(e) == "outputEntry"]
                for output, entry in zip(outputs, entries, strict=False):
                    value = _literal(entry.findtext("{*}text"))
                    if output and isinstance(value, str) and value.strip():
                        found.values.setdefault(output, set()).add(value)
    return found


def _literal(text: str | None) -> Any:
    try:
        return ast.literal_eval((text or "").strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def form_title(forms: Mapping[str, Any], form: str | None, lang: str) -> str | None:
    """A form's title in the language (`x-title-zh`), which names the user task that shows it."""
    schema = forms.get(form or "")
    value = schema.get(f"x-title-{lang}") if isinstance(schema, dict) else None
    return value if isinstance(value, str) and value.strip() else None


@dataclass
class Texts:
    """One language's texts of a deployment: element names and instructions by file, output values by name."""

    names: dict[str, dict[str, str]] = field(default_factory=dict)  # source file → element id → text
    instructions: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # output name → English value → text
    outputs: dict[str, str] = field(default_factory=dict)  # a decision table's output name → its label
    inputs: dict[str, str] = field(default_factory=dict)  # an input column as a decision record names it → label

    def name(self, element: str, file: str | None = None) -> str | None:
        """An element's name, from its own file when known (ids are unique within one file only)."""
        return self._find(self.names, element, file)

    def decision(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A decision record (engine/workflow/decisions.py) with the table's name, the matched rules' annotations
        and the outputs' labels and values in the language."""
        outputs = {self.outputs.get(key, key): self.values.get(key, {}).get(value, value) if isinstance(value, str)
                   else value for key, value in (payload.get("outputs") or {}).items()}
        rules = [{**rule, "annotation": self.name(str(rule.get("id"))) or rule.get("annotation", "")}
                 for rule in payload.get("rules") or [] if isinstance(rule, dict)]
        inputs = {self.inputs.get(key, key): value for key, value in (payload.get("inputs") or {}).items()}
        return {**payload, "decision": self.name(str(payload.get("decision"))) or payload.get("decision"),
                "rules": rules, "outputs": outputs, "inputs": inputs}

    def instructions_of(self, element: str, file: str | None = None) -> str | None:
        """A user task's instructions."""
        return self._find(self.instructions, element, file)

    @staticmethod
    def _find(by_file: dict[str, dict[str, str]], element: str, file: str | None) -> str | None:
        if file is not None and element in by_file.get(file, {}):
            return by_file[file][element]
        return next((texts[element] for texts in by_file.values() if element in texts), None)


def collect_texts(trees: Mapping[str, etree._ElementTree], translations: Mapping[str, Any],
                  forms: Mapping[str, Any]) -> dict[str, Texts]:
    """Every language's texts of a parsed file set (a user task's form title stands in for a missing name)."""
    result = {lang: Texts() for lang in LANGUAGES}
    for name, data in translations.items():
        lang, stem = translation_of(name) or ("", "")
        texts = result.get(lang)
        if texts is None or not isinstance(data, dict):
            continue
        source = next((stem + ext for ext in (".bpmn", ".dmn") if stem + ext in trees), None)
        if source is None:
            continue
        for section, target in (("names", texts.names), ("instructions", texts.instructions)):
            given = data.get(section)
            if isinstance(given, dict):
                target[source] = {k: v for k, v in given.items() if isinstance(v, str)}
        if source.endswith(".dmn"):
            own = texts.names.get(source, {})
            for output, element in translatable(trees[source], "dmn").output_ids.items():
                if element in own:
                    texts.outputs[output] = own[element]
            texts.inputs.update(_input_labels(trees[source], own))
        for output, given in (data.get("values") or {}).items() if isinstance(data.get("values"), dict) else ():
            if isinstance(given, dict):
                texts.values.setdefault(output, {}).update({k: v for k, v in given.items() if isinstance(v, str)})
    for name, tree in trees.items():
        if not name.endswith(".bpmn"):
            continue
        wanted = translatable(tree, "bpmn")
        for lang, texts in result.items():
            own = texts.names.setdefault(name, {})
            for element, form in wanted.forms.items():
                title = form_title(forms, form, lang)
                if title and element not in own:
                    own[element] = title
    return result


def relabel(name: str, content: bytes, texts: Texts | None) -> bytes:
    """A deployed diagram with its element names in the language, for drawing (the stored file is unchanged).
    Only names people read change; message and error names, which the engine matches on, stay."""
    own = texts.names.get(name) if texts else None
    if not own:
        return content
    tree, _problems = parse_untrusted_xml(name, content)
    if tree is None:
        return content
    wanted = translatable(tree, "bpmn")
    for node in tree.iter(f"{{{BPMN}}}*"):
        element = node.get("id")
        if element in wanted.names and element in own:
            node.set("name", own[element])
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def editor_rows(files: Mapping[str, str], source: str, lang: str) -> tuple[str, list[dict[str, Any]]]:
    """The studio's table of a draft file's texts: the translation file's name, and a row per text people read —
    section, element id, what it is, the English, the translation so far, and the form title that stands in when
    a user task's name is left empty."""
    name = source.rsplit(".", 1)[0] + f".{lang}.json"
    tree, _problems = parse_untrusted_xml(source, files.get(source, "").encode())
    if tree is None or lang not in LANGUAGES:
        return name, []
    try:
        data = json.loads(files.get(name) or "{}")
    except json.JSONDecodeError:
        data = {}
    data = data if isinstance(data, dict) else {}
    forms = {}
    for file, text in files.items():
        if file.endswith(".json") and not translation_of(file):
            with suppress(json.JSONDecodeError):
                forms[PurePosixPath(file).name] = json.loads(text)
    wanted = translatable(tree, "bpmn" if source.endswith(".bpmn") else "dmn")

    def given(section: str, element: str) -> str:
        texts = data.get(section)
        value = texts.get(element) if isinstance(texts, dict) else None
        return value if isinstance(value, str) else ""

    rows = [{"section": "names", "id": element, "what": what, "english": english, "text": given("names", element),
             "standIn": form_title(forms, wanted.forms.get(element), lang) or ""}
            for element, (what, english) in wanted.names.items()]
    rows += [{"section": "instructions", "id": element, "what": wanted.names.get(element, ("task", ""))[0],
              "english": english, "text": given("instructions", element), "standIn": ""}
             for element, english in wanted.instructions.items()]
    return name, rows


def _input_labels(tree: etree._ElementTree, own: Mapping[str, str]) -> dict[str, str]:
    """A decision table's input columns that its decision records name by their label (engine/workflow/decisions.py: the
    others by the variable they read), each with its translated label."""
    found = {}
    for column in tree.iter("{*}input"):
        if column.get("id") not in own:
            continue
        expression = "".join(column.xpath("./*[local-name()='inputExpression']/*[local-name()='text']/text()"))
        if expression.strip().isidentifier():
            continue  # named by the variable it reads: shown with that field's label (and as money where it is)
        found[column.get("label") or column.get("id")] = own[column.get("id")]
    return found
