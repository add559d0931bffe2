"""Every text of the web UI has a Chinese translation, and the compiled catalogues are in use — the analysts' texts
too: every element, lane and instruction of the shipped diagrams, every form title, field title and choice label,
and every decision table's name, column labels and rule annotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from lxml import etree

from engine.workflow.parsing import file_kind, parse_deployment
from engine.workflow.translations import translatable
from insureflow.cli_context import read_files

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "webui" / "translations"
SHIPPED = ROOT / "bpmn"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "N_": None}


def _texts_in_sources() -> set[str]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue(lang: str):
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=lang)


def test_every_ui_text_has_a_chinese_translation() -> None:
    catalogue = _catalogue("zh")
    translated = {m.id for m in catalogue if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(_texts_in_sources() - translated)
    assert not missing, f"run `make translations-update` and translate in webui/translations/zh: {missing}"


def test_the_english_catalogue_lists_the_same_texts() -> None:
    chinese = {m.id for m in _catalogue("zh") if m.id}
    english = {m.id for m in _catalogue("en") if m.id}
    assert chinese == english and len(chinese) > 150


def test_the_compiled_catalogues_are_newer_than_their_sources() -> None:
    for lang in ("zh", "en"):
        po = CATALOGUES / lang / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, f"run `make assets` to compile {po}"


def _chinese(text: Any) -> bool:
    return isinstance(text, str) and any("\u4e00" <= c <= "\u9fff" for c in text)


def test_every_text_of_the_shipped_diagrams_and_decision_tables_has_its_chinese() -> None:
    """Each named element (tasks, events, gateways, flows), lane, process and instruction text of every diagram,
    and each decision table's name, input and output labels and rule annotations, from its translation file (a
    user task's name may come from its form's `x-title-zh`)."""
    files = read_files((str(SHIPPED),))
    parsed, problems = parse_deployment(files)
    assert not problems
    zh = parsed.texts["zh"]
    missing = []
    for name, content in sorted(files.items()):
        kind = file_kind(name)
        if kind not in ("bpmn", "dmn"):
            continue
        wanted = translatable(etree.ElementTree(etree.fromstring(content)), kind)
        missing += [f"{name} [{element}] {what} {english!r}" for element, (what, english) in wanted.names.items()
                    if not _chinese(zh.name(element, name))]
        missing += [f"{name} [{element}] instructions" for element in wanted.instructions
                    if not _chinese(zh.instructions_of(element, name))]
    assert not missing, missing
    outputs = [(name, o.get("label")) for name, content in files.items() if file_kind(name) == "dmn"
               for o in etree.fromstring(content).iter("{*}output")]
    assert len(outputs) > 20 and all(label for _name, label in outputs)  # every output has a label to translate


def _form_gaps(spec: Any, where: str) -> list[str]:
    """Titles without `x-title-zh` and choices without `x-enum-titles-zh` in a form schema (conditions in `if`
    are never shown)."""
    if not isinstance(spec, dict):
        return []
    gaps = []
    if "title" in spec and not _chinese(spec.get("x-title-zh")):
        gaps.append(f"{where}: title {spec['title']!r}")
    if "enum" in spec and spec.get("type") != "boolean":
        labels = spec.get("x-enum-titles-zh")
        if not (isinstance(labels, list) and len(labels) == len(spec["enum"]) and all(
                isinstance(label, str) and label.strip() for label in labels)):
            gaps.append(f"{where}: choices {spec['enum']!r}")
    for name, child in (spec.get("properties") or {}).items():
        gaps += _form_gaps(child, f"{where}/{name}")
    gaps += _form_gaps(spec.get("items"), f"{where}[]")
    for key in ("allOf", "anyOf", "oneOf"):
        for index, child in enumerate(spec.get(key) or []):
            gaps += _form_gaps(child, f"{where}/{key}/{index}")
    for key in ("then", "else"):
        gaps += _form_gaps(spec.get(key), f"{where}/{key}")
    return gaps


def test_every_form_title_field_and_choice_of_the_shipped_forms_has_its_chinese() -> None:
    forms = sorted((SHIPPED / "forms").glob("*.json"))
    assert len(forms) > 30
    gaps = [gap for form in forms for gap in _form_gaps(json.loads(form.read_text(encoding="utf-8")), form.name)]
    assert not gaps, gaps
