"""Database engines: SQLite (embedded, WAL, one writer at a time) and PostgreSQL (scale-out)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from engine.workflow import jsonutil

# JSON columns hold amounts as exact decimals, like everything else the engine stores (engine/workflow/jsonutil.py).
_JSON = {"json_serializer": jsonutil.dumps, "json_deserializer": jsonutil.loads}


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """An SQLAlchemy engine tuned for InsureFlow's access pattern; the pool sizes apply to PostgreSQL (SQLite's
    connections are files)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30}, **_JSON)
        if engine.url.database and engine.url.database != ":memory:":
            private_file(engine.url.database)
        _tune_sqlite(engine)
    else:
        engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow,
                               **_JSON)
    event.listen(engine, "before_cursor_execute", _refuse_writes_while_reading)
    return engine


READS_ONLY_CALL = "insureflow_reads_only_call"  # set on a connection while a reads-only handler runs on it
_READING = ("SELECT", "WITH", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "PRAGMA")


class WriteWhileReadingError(RuntimeError):
    """A handler marked reads-only tried to write."""


def _refuse_writes_while_reading(conn: object, _cursor: object, statement: str, *_args: object) -> None:
    handler = conn.info.get(READS_ONLY_CALL)  # type: ignore[attr-defined]
    if handler and not statement.lstrip()[:9].upper().startswith(_READING):
        raise WriteWhileReadingError(f"handler {handler} is marked reads-only but tried to write: "
                                     f"{statement.split(None, 3)[:3]}")


def private_file(path: str | os.PathLike[str]) -> None:
    """Create the file readable and writable by its owner only (0600) if it does not exist yet: it holds the
    instance's data. SQLite gives its -wal and -shm files the database file's permissions."""
    with contextlib.suppress(FileExistsError, FileNotFoundError):  # a missing folder: SQLite says so itself
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def write_private(path: str | os.PathLike[str], content: bytes) -> None:
    """Create `path` readable and writable by its owner only (0600) holding `content`; FileExistsError when it
    exists (a key or a checkpoint is never overwritten)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Takes effect only while the file is empty (a new database): a finished case's state (~3 KB) then
        # shares its page instead of leaving most of a 4 KB page empty.
        cursor.execute("PRAGMA page_size=8192")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: object) -> None:
        # Every transaction that may write takes the write lock up front. A deferred transaction that
        # reads and then writes can fail with SQLITE_BUSY_SNAPSHOT instead of waiting; an immediate
        # one waits its turn and then reads the state the previous writer left — the single-writer
        # lock. Read-only units (inboxes, case pages, sign-in checks) read a WAL snapshot instead
        # and never wait for writers.
        options = conn.get_execution_options()  # type: ignore[attr-defined]
        if options.get(ONE_STATEMENT, False):
            return  # one statement on its own: SQLite runs it in a transaction of its own (autocommit)
        conn.exec_driver_sql("BEGIN" if options.get(READ_ONLY, False) else "BEGIN IMMEDIATE")  # type: ignore[attr-defined]


READ_ONLY = "insureflow_read_only"
ONE_STATEMENT = "insureflow_one_statement"


@contextlib.contextmanager
def one_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for a single read that needs no transaction around it (the statement is its own snapshot):
    no BEGIN, no session, no rollback — who is calling, asked on every request. Never for a write, nor for
    two reads that must agree with each other."""
    options = {ONE_STATEMENT: True} if engine.dialect.name == "sqlite" else {"isolation_level": "AUTOCOMMIT"}
    with engine.connect().execution_options(**options) as conn:
        yield conn


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit; the engine flushes when it needs to."""
    factory = sessionmaker(engine, expire_on_commit=False, autoflush=False)
    _hold_loaded_objects(factory)
    return factory


def _hold_loaded_objects(factory: sessionmaker[Session]) -> None:
    """A session (one engine operation) holds every object it loaded or added until it closes. The identity
    map references objects weakly: a record one handler loaded and let go of would be loaded again by the
    next handler of the same step (a claim, its policy, its product — several queries a step). Sessions last one
    operation, so what they hold goes with them."""

    @event.listens_for(factory, "after_attach")
    def _hold(session: Session, instance: object) -> None:
        session.info.setdefault(_HELD, set()).add(instance)

    @event.listens_for(factory, "loaded_as_persistent")
    def _hold_loaded(session: Session, instance: object) -> None:
        session.info.setdefault(_HELD, set()).add(instance)


_HELD = "insureflow_held_objects"
