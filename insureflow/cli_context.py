"""What every command shares: the global options, the wired app, error handling, --data parsing."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from engine.errors import EngineError, InvalidInputError, NotFoundError
from engine.workflow import OPERATOR, Actor, jsonutil
from services import accounts

from . import instance_folder
from .bootstrap import App, build_app
from .instance_folder import InstanceFolderError
from .output import Printer, fail


class Context:
    """The global options and the lazily wired app."""

    def __init__(self, instance: str | None, as_json: bool):
        self.folder = instance_folder.resolve(instance)
        self.out = Printer(as_json)
        self._app: App | None = None

    @property
    def app(self) -> App:
        """The wired application of the selected instance folder."""
        if self._app is None:
            self._app = build_app(instance_folder.load(self.folder))
            click.get_current_context().find_root().call_on_close(self._app.db.dispose)
        return self._app

    def actor(self, username: str | None) -> Actor:
        """The named user, or the local operator when none is named."""
        if username is None:
            return OPERATOR
        return accounts.acting_user(self.app.runtime, username)


# The user a command acts as, where one must be named.
as_option = click.option("--as", "as_user", required=True, metavar="USER", help="Act as this user.")


def handled(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn engine errors into one line on standard error and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx: Context = click.get_current_context().find_object(Context)
        try:
            return func(*args, **kwargs)
        except EngineError as exc:
            sys.exit(ctx.out.error(exc))
        except InstanceFolderError as exc:
            fail(str(exc))

    return wrapper


pass_ctx = click.make_pass_decorator(Context)


def parse_data(text: str | None) -> dict[str, Any] | None:
    """--data JSON, which must be an object."""
    if text is None:
        return None
    try:
        value = jsonutil.loads(text)  # amounts exact: 1234.50 is Decimal("1234.50")
    except jsonutil.JSONDecodeError as exc:
        raise InvalidInputError(f"--data is not valid JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(value, dict):
        raise InvalidInputError("--data must be a JSON object")
    return value


def read_files(paths: tuple[str, ...]) -> dict[str, bytes]:
    """BPMN, DMN and form files from files and folders; names relative to the folder given."""
    files: dict[str, bytes] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise NotFoundError(f"{raw}: no such file or folder")
        if path.is_dir():
            for item in sorted(path.rglob("*")):
                if item.is_file() and item.suffix.lower() in (".bpmn", ".dmn", ".json"):
                    files[item.relative_to(path).as_posix()] = item.read_bytes()
        else:
            files[path.name] = path.read_bytes()
    return files
