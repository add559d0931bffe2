"""SQL statements counted per request, for the benchmarks: with INSUREFLOW_COUNT_SQL=1 in the server's environment
every answer carries `X-SQL-Statements`, the number of statements its request sent to the database (each
`cursor.execute`, BEGIN and SAVEPOINT included; a driver's implicit BEGIN and the COMMIT are not statements
SQLAlchemy sends, so they are not counted). Off by default: production answers never carry it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from sqlalchemy import Engine, event

from engine.workflow.runtime import WorkflowCache

ENVIRONMENT = "INSUREFLOW_COUNT_SQL"
HEADER = "X-SQL-Statements"
# With it, also: the answering process's id and its workflow cache (entries, bound, hits, misses), as
# `pid=…;size=…;capacity=…;hits=…;misses=…`: the benchmark's memory figure reads each worker's RSS and hit rate.
CACHE_HEADER = "X-Workflow-Cache"


def enabled() -> bool:
    """Whether the server was asked to count."""
    return os.environ.get(ENVIRONMENT, "") not in ("", "0")


def count_statements(app: Flask, engine: Engine, cache: WorkflowCache | None = None) -> None:
    """Count the statements `engine` executes during each request and send the count as a response header; with
    `cache`, its figures too."""
    counter = threading.local()  # gunicorn's sync workers serve one request at a time; threads stay apart anyway

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        counter.n = getattr(counter, "n", 0) + 1

    inner = app.wsgi_app

    def counting(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        counter.n = 0

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            extra = [(HEADER, str(counter.n))]
            if cache is not None:
                extra.append((CACHE_HEADER, ";".join(f"{k}={v}" for k, v in
                                                     {"pid": os.getpid(), **cache.stats()}.items())))
            return start_response(status, [*headers, *extra], exc_info)

        return inner(environ, start)

    app.wsgi_app = counting  # type: ignore[method-assign]
