"""Field errors in the user's language, translated from what the engine says is wrong as data — the kind of
problem (a JSON Schema keyword or a domain check's name) and its parameters — never from English text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _

Params = Mapping[str, Any]


def _bound(params: Params) -> str:
    return str(params.get("value", ""))


def _length(params: Params) -> str:
    value = params.get("value")
    return _("This field must not be empty.") if value in (None, 1) else _(
        "Enter at least %(n)s characters.", n=value)


def _too_long(params: Params) -> str:
    value = params.get("value")
    return _("This text is too long: at most %(n)s characters.", n=value) if value else _("This text is too long.")


def _type(params: Params) -> str:
    value = params.get("value")
    named = set(value) if isinstance(value, list) else {value}
    if "integer" in named:
        return _("Enter a whole number.")
    if "number" in named:
        return _("Enter a number.")
    return _("This value has the wrong type.")


def _format(params: Params) -> str:
    return _("Enter a valid date (YYYY-MM-DD).") if params.get("value") == "date" else _(
        "This is not in the expected format.")


def _const(params: Params) -> str:
    return _("This box must be ticked.") if params.get("value") is True else _("This value is not allowed here.")


# kind → the sentence that says it; a kind not listed is shown as the engine's message.
_BY_KIND: dict[str, Callable[[Params], str]] = {
    "required": lambda p: _("This field is required."),
    "minLength": _length,
    "minItems": lambda p: _("This field must not be empty."),
    "minProperties": lambda p: _("This field must not be empty."),
    "maxLength": _too_long,
    "maxItems": lambda p: _("Choose at most %(n)s.", n=_bound(p)),
    "pattern": lambda p: _("This is not in the expected format."),
    "format": _format,
    "type": _type,
    "exclusiveMinimum": lambda p: _("Must be more than %(n)s.", n=_bound(p)),
    "minimum": lambda p: _("Must be at least %(n)s.", n=_bound(p)),
    "exclusiveMaximum": lambda p: _("Must be less than %(n)s.", n=_bound(p)),
    "maximum": lambda p: _("Must be at most %(n)s.", n=_bound(p)),
    "enum": lambda p: _("Choose one of the listed options."),
    "const": _const,
    "not_allowed": lambda p: _("Some fields must be left empty with this answer."),
    "uniqueItems": lambda p: _("Each option may be chosen only once."),
    "unknown_field": lambda p: _("This is not a field of this form."),
    "document_not_uploaded": lambda p: _("This file was not uploaded for this case; upload it again."),
    "document_mismatch": lambda p: _("This file was not uploaded for this case; upload it again."),
    "above_remaining_cover": lambda p: _("At most %(n)s CNY can be paid: the remaining sum insured.",
                                         n=p.get("remaining", "")),
    "above_share": lambda p: _("At most %(n)s CNY can be paid: the beneficiary's share of the sum insured.",
                               n=p.get("remaining", "")),
    "control_character": lambda p: _("Remove the control characters from this text."),
    "not_finite": lambda p: _("Enter a number."),
    "shares_total": lambda p: _("The shares add up to %(n)s %%; they must add up to 100 %%.", n=p.get("total", "")),
    "heirs_named": lambda p: _("Name nobody here when the benefit goes to the legal heirs."),
    "no_beneficiary": lambda p: _("Name at least one beneficiary, or choose the legal heirs."),
    "same_beneficiary": lambda p: _("This is the same person as beneficiary %(n)s.", n=p.get("n", "")),
    "invalid_id_number": lambda p: _("This is not a valid resident ID number."),
    "share_range": lambda p: _("Enter a share above 0 and at most 100 percent."),
}


def localize(kind: str, params: Params, message: str) -> str:
    """One field's problem in the user's language; the engine's message when the kind has no sentence."""
    say = _BY_KIND.get(kind)
    return str(say(params)) if say is not None else message


def localized_errors(details: Mapping[str, Any]) -> dict[str, str]:
    """The field messages of an InvalidInputError (`details.fields`), translated by their kinds (`details.codes`)."""
    codes = details.get("codes") or {}
    errors = {}
    for path, message in (details.get("fields") or {}).items():
        code = codes.get(path) if isinstance(codes.get(path), Mapping) else {}
        errors[str(path)] = localize(str(code.get("kind", "")), code.get("params") or {}, str(message))
    return errors
