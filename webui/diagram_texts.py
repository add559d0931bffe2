"""Deployed diagrams drawn in the staff's language: the names in the XML replaced from the deployment's
translation (engine/workflow/translations.py) when served for drawing; the deployed file itself never changes."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import get_locale

from engine.workflow import LANGUAGES, ParsedDeployment, relabel


def drawing_lang(asked: str | None) -> str | None:
    """The language a diagram is drawn in: one its names are translated to, or None for the deployed file."""
    return asked if asked in LANGUAGES else None


def lang_arg() -> dict[str, Any]:
    """The `lang` argument for a diagram's URL: the user's language when diagrams are translated to it (in the
    URL, so that a cached diagram is never shown in the other language)."""
    lang = drawing_lang(str(get_locale()))
    return {"lang": lang} if lang else {}


def drawn(parsed: ParsedDeployment, name: str, content: bytes) -> bytes:
    """A deployed BPMN file as the viewer draws it in the language the URL asks for."""
    lang = drawing_lang(request.args.get("lang"))
    return content if lang is None else relabel(name, content, parsed.texts.get(lang))
