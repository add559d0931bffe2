"""Checking a translation file (engine/workflow/translations.py) against the diagram or decision table it translates:
every text people read translated, no key that names nothing, and each text safe to show — strings only, bounded, no
markup (names end up in HTML and SVG), and instructions that read no process data the English ones do not."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import jinja2
from lxml import etree

from engine.errors import Problem

from .translations import (
    LANGUAGES,
    MAX_INSTRUCTIONS,
    MAX_NAME,
    SECTIONS,
    form_title,
    source_file,
    translatable,
    translation_of,
)

_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _text_problem(text: str, limit: int, *, template: bool) -> str | None:
    """Why a translated text may not be shown: too long, unprintable, or markup (names end up in HTML and SVG)."""
    if len(text) > limit:
        return f"{len(text):,} characters; at most {limit:,}"
    if not text.strip():
        return "is empty"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone surrogate (not text)"
    allowed = "\n\t" if template else ""
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cn") and c not in allowed for c in text):
        return "holds control or unassigned characters"
    if re.search(r"[<>]", _TAG.sub("", text) if template else text):
        return "holds '<' or '>': markup is not allowed in a translation (write 小于, 大于)"
    return None


def _data_names(template: str) -> set[str]:
    """The names a Jinja template's tags mention (variables, filters, keywords): what it may read."""
    return {n for tag in _TAG.findall(template) for n in _NAME.findall(_STRING.sub("", tag))}


def _instruction_problem(english: str, text: str) -> str | None:
    try:
        jinja2.Environment(autoescape=True).parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return f"is not a valid template: {exc.message} (line {exc.lineno})"
    extra = sorted(_data_names(text) - _data_names(english))
    if extra:
        return f"reads {', '.join(extra)}, which the English instructions do not (keep their {{{{ … }}}} parts)"
    return None


def check_translation(name: str, data: Any, source: str | None, tree: etree._ElementTree | None,
                      forms: Mapping[str, Any]) -> list[Problem]:
    """Every problem of one translation file against the file it translates."""
    lang, _stem = translation_of(name) or ("", "")
    if lang not in LANGUAGES:
        return [Problem(name, f"no staff language {lang!r} (translations are for: {', '.join(LANGUAGES)})")]
    if source is None:
        return [Problem(name, "translates no diagram or decision table: name it like the file it translates, "
                        f"e.g. claims.{lang}.json beside claims.bpmn")]
    if tree is None:
        return []  # the file it translates has its own problems
    if not isinstance(data, dict):
        return [Problem(name, "a translation file must be a JSON object")]
    kind = "bpmn" if source.endswith(".bpmn") else "dmn"
    sections = SECTIONS[kind]
    problems = [Problem(name, f"unknown section {key!r} (a {kind.upper()} translation has: {', '.join(sections)})")
                for key in sorted(set(data) - set(sections))]
    for key in sections:
        if not isinstance(data.get(key, {}), dict):
            problems.append(Problem(name, f"{key!r} must be an object of element id → text"))
    if problems:
        return problems
    wanted = translatable(tree, kind)
    names, instructions, values = data.get("names", {}), data.get("instructions", {}), data.get("values", {})
    for element, (what, english) in sorted(wanted.names.items()):
        if element not in names and not (what in ("userTask", "manualTask")
                                         and form_title(forms, wanted.forms.get(element), lang)):
            problems.append(Problem(name, f"no {lang} name for {what} {english!r} of {source}", element))
    for element in sorted(wanted.instructions):
        if element not in instructions:
            english = wanted.names.get(element, ("", element))[1]
            problems.append(Problem(name, f"no {lang} instructions for {english!r} of {source}", element))
    for section, known, limit in (("names", wanted.names, MAX_NAME), ("instructions", wanted.instructions,
                                                                       MAX_INSTRUCTIONS)):
        for element, text in sorted(data.get(section, {}).items()):
            if element not in known:
                what = "named element" if section == "names" else "task with instructions"
                problems.append(Problem(name, f"{section}: {element!r} is no {what} of {source}", element))
            elif not isinstance(text, str):
                problems.append(Problem(name, f"{section}: the text must be a string", element))
            else:
                why = _text_problem(text, limit, template=section == "instructions")
                if why is None and section == "instructions":
                    why = _instruction_problem(wanted.instructions[element], text)
                if why:
                    problems.append(Problem(name, f"{section}: {why}", element))
    for output, texts in sorted(values.items()):
        if output not in wanted.values:
            problems.append(Problem(name, f"values: {output!r} is no output of {source}", output))
            continue
        if not isinstance(texts, dict):
            problems.append(Problem(name, "values: an output's values must be an object of English → text", output))
            continue
        for english, text in sorted(texts.items()):
            why = ("the table never gives this value" if english not in wanted.values[output]
                   else "the text must be a string" if not isinstance(text, str) else _text_problem(text, MAX_NAME,
                                                                                                  template=False))
            if why:
                problems.append(Problem(name, f"values: {english!r}: {why}", output))
    return problems


def translation_problems(files: Mapping[str, bytes], trees: Mapping[str, etree._ElementTree],
                         translations: Mapping[str, Any], forms: Mapping[str, Any]) -> list[Problem]:
    """Every problem of a file set's translation files (those that are not valid JSON are reported by parsing)."""
    problems = []
    for name in sorted(n for n in files if translation_of(n) and n in translations):
        source = source_file(name, files)
        problems += check_translation(name, translations[name], source, trees.get(source or ""), forms)
    return problems
