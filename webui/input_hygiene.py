"""Input from outside, checked in one place: JSON bodies read strictly, ids in URLs bounded.

JSON — every API body (webargs) and `request.get_json` — is read strictly.
Python's json module takes `NaN` and `Infinity` as numbers (a NaN amount slips past every comparison and
makes the answer invalid JSON), recurses once per nesting level (a 100,000-deep body is a RecursionError,
a 500), and decodes `"\\ud800"` into a lone surrogate that no database or encoder can store. Each of these
is refused here as malformed input (400), before any view sees the data. An operation that reads a JSON body
refuses a body in another media type (415) and, where the body is required, its absence (400): the body is
never silently dropped, so a start without its data is no 201. An id in a URL beyond what any
id column holds (2^31−1 on PostgreSQL) matches no route (404) instead of overflowing the database driver.
Text that holds NUL or control characters is refused by the engine's form check (422), for every face.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NoReturn

from flask import Request, request
from flask import abort as http_abort
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.routing import IntegerConverter

from engine.workflow import jsonutil

MAX_DEPTH = 64
MAX_ID = 2**31 - 1  # PostgreSQL's integer; SQLite's is larger


def _refuse(message: str, doc: str = "(body)", pos: int = 0) -> NoReturn:
    # Never an empty `doc`: webargs reads a decode error on an empty document as "no body at all".
    raise json.JSONDecodeError(message, doc or "(body)", pos)


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH before the recursive parser sees it (brackets in strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for pos, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                _refuse(f"nested deeper than {MAX_DEPTH} levels", text, pos)
        elif char in "]}":
            depth -= 1


def _no_constant(name: str) -> NoReturn:
    _refuse(f"{name} is not a number JSON allows")


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            _refuse("a string holds a lone surrogate (\\ud800–\\udfff not in a pair)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def strict_loads(data: str | bytes) -> Any:
    """json.loads that refuses NaN/Infinity, deep nesting and lone surrogates (json.JSONDecodeError), and reads
    a number with a fraction or exponent as Decimal (money is Decimal end to end)."""
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            _refuse(f"not UTF-8: {exc.reason}", "(body)", exc.start)
    _check_depth(data)
    value = json.loads(data, parse_constant=_no_constant, parse_float=Decimal)  # amounts exact, never float
    _check_text(value)
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, reading strictly (`request.get_json`) and writing a Decimal as the exact JSON
    number it is (`29000.00`; Flask's own writes it as a string)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return strict_loads(s)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return jsonutil.dumps(obj, indent=kwargs.get("indent"), separators=kwargs.get("separators"),
                              sort_keys=kwargs.get("sort_keys", self.sort_keys), default=self.default)


class StrictParser(FlaskParser):
    """webargs' Flask parser, reading bodies strictly; a refused body is 400 with the reason."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return strict_loads(req.get_data(cache=True))

    def _handle_invalid_json_error(self, error: Exception, req: Request, *args: Any, **kwargs: Any) -> NoReturn:
        reason = getattr(error, "msg", str(error))
        abort(400, exc=error, messages={"json": [f"invalid JSON body: {reason}"]})


def check_json_body(required: bool) -> None:
    """A JSON operation's body: another media type is 415, and no body where one is required is 400."""
    present = bool(request.get_data(cache=True))
    if present and not is_json_request(request):
        http_abort(415, f"send the body as application/json, not {request.mimetype or 'without a Content-Type'}")
    if required and not present:
        http_abort(400, "this operation needs a JSON body (Content-Type: application/json)")


class StrictBlueprint(Blueprint):
    """The API's blueprints: flask-smorest's, with the strict parser and JSON bodies checked (check_json_body)."""

    ARGUMENTS_PARSER = StrictParser()

    def arguments(self, schema: Any, *, location: str = "json", required: bool = True,
                  **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """flask-smorest's `arguments`; a JSON body is checked for its media type and presence first."""
        parse = super().arguments(schema, location=location, required=required, **kwargs)
        if location != "json":
            return parse

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            parsed = parse(view)

            @functools.wraps(parsed)  # keeps flask-smorest's _apidoc
            def checked(*args: Any, **kw: Any) -> Any:
                check_json_body(required)
                return parsed(*args, **kw)

            return checked

        return decorator


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in every route: 0 … MAX_ID, anything larger is no route (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
