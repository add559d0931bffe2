"""Business numbers from a counter row per series (today's claims: `claim:20261207`). One atomic statement
takes the next number, so registrations running at once on any number of app servers each get their own
without racing for max + 1; the row stays locked to the transaction that took it until it commits."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from .records import DomainBase


class NumberSequenceRecord(DomainBase):
    """The last number given in one series."""

    __tablename__ = "number_sequences"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


def next_in_series(session: Session, name: str) -> int:
    """The next number of the series `name` (1 for a new series), taken in the session's transaction."""
    table = NumberSequenceRecord.__table__
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (insert(table).values(name=name, value=1)
                 .on_conflict_do_update(index_elements=[table.c.name], set_={"value": table.c.value + 1})
                 .returning(table.c.value))
    return int(session.execute(statement).scalar_one())
