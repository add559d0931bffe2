"""Deployed diagrams drawn in the staff's language: the names in the XML replaced from the deployment's
translation (engine/translations.py) when served for drawing; the deployed file itself never changes."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import get_locale

from engine import deployments
from engine.runtime import Runtime
from engine.translations import LANGUAGES, relabel


def drawing_lang(asked: str | None) -> str | None:
    """The language a diagram is drawn in: one its names are translated to, or None for the deployed file."""
    return asked if asked in LANGUAGES else None


def lang_arg() -> dict[str, Any]:
    """The `lang` argument for a diagram's URL: the user's language when diagrams are translated to it (in the
    URL, so that a cached diagram is never shown in the other language)."""
    lang = drawing_lang(str(get_locale()))
    return {"lang": lang} if lang else {}


def drawn(rt: Runtime, deployment_id: int, name: str, content: bytes) -> bytes:
    """A deployed BPMN file as the viewer draws it in the language the URL asks for."""
    lang = drawing_lang(request.args.get("lang"))
    if lang is None:
        return content
    with rt.uow(read_only=True) as uow:
        parsed = rt.specs.get(uow.session, deployment_id)
    return relabel(name, content, parsed.texts.get(lang))


def names_in_latest(rt: Runtime, lang: str, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Steps' names in the language by the newest version of their process, for lists that name a step without a
    case (an inbox filter, the dashboard): (process key, task key) → name."""
    if not wanted or drawing_lang(lang) is None:
        return {}
    latest = {p.key: p.deployment_id for p in deployments.list_processes(rt)}
    found = {}
    with rt.uow(read_only=True) as uow:
        for process_key, task_key in wanted:
            if process_key in latest:
                name = rt.specs.get(uow.session, latest[process_key]).name_in(lang, process_key, task_key)
                if name:
                    found[(process_key, task_key)] = name
    return found
