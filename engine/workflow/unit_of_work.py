"""The unit of work: owns one session and one transaction, commits only when told."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import ConflictError

from .database import READ_ONLY

AFTER_COMMIT = "insureflow.after_commit"


def after_commit(session: Session, callback: Callable[[], None], *, first: bool = False) -> None:
    """Run `callback` once the session's transaction has committed (never after a rollback); `first` runs it
    before the callbacks already registered."""
    callbacks = session.info.setdefault(AFTER_COMMIT, [])
    callbacks.insert(0 if first else len(callbacks), callback)


class UnitOfWork:
    """`with uow:` opens a transaction; `uow.commit()` makes it durable; leaving without it rolls back."""

    def __init__(self, session_factory: sessionmaker[Session], read_only: bool = False):
        self._session_factory = session_factory
        self._read_only = read_only
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self.session.begin()
        if self._read_only:  # take the connection now, so that its transaction begins as a reader
            self.session.connection(execution_options={READ_ONLY: True})
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.info.pop(AFTER_COMMIT, None)
        # close() rolls back whatever was not committed and detaches loaded objects without
        # expiring them, so read-only callers can use what they loaded after the block.
        self.session.close()
        if isinstance(exc, StaleDataError):
            raise ConflictError("the case was changed by someone else meanwhile; reload and try again") from exc
        if isinstance(exc, IntegrityError):
            # A unique key hit by a concurrent writer (e.g. the next history number) — never a lost update.
            raise ConflictError("the case was changed by someone else at the same moment; try again") from exc
        if isinstance(exc, OperationalError) and _is_serialization_failure(exc):
            raise ConflictError("the case is being changed by someone else; try again") from exc

    def commit(self) -> None:
        """Make everything done in this unit durable, then run what waited for that."""
        try:
            self.session.commit()
        except StaleDataError as exc:
            raise ConflictError("the case was changed by someone else meanwhile; reload and try again") from exc
        for callback in self.session.info.pop(AFTER_COMMIT, []):
            callback()

    def rollback(self) -> None:
        """Drop everything done in this unit."""
        self.session.rollback()


def _is_serialization_failure(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "could not serialize" in text or "deadlock detected" in text or "database is locked" in text
