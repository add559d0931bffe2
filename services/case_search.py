"""Finding a case: staff type a claim or policy number, a customer's resident ID number or part of a
name, and narrow by process and status; they see only the cases they may read (need to know)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.workflow import Actor, CaseFilter, CaseHit, Runtime, search_cases
from tasks.case_links import cases_for

PAGE_SIZE = 20
MAX_TEXT = 100


@dataclass(frozen=True)
class CaseQuery:
    """What a search asks for (blank text: every case the searcher may read)."""

    text: str = ""
    process_key: str | None = None
    status: str | None = None
    page: int = 1


@dataclass(frozen=True)
class CaseSearchView:
    """A page of found cases."""

    query: CaseQuery
    hits: tuple[CaseHit, ...]
    total: int
    page: int
    pages: int


def find_cases(rt: Runtime, actor: Actor, query: CaseQuery) -> CaseSearchView:
    """The page of cases matching the query among those the actor may read, newest first."""
    text = query.text.strip()[:MAX_TEXT]
    page = max(1, min(query.page, 10_000))
    with rt.uow(read_only=True) as uow:
        keys = ids = None
        if text:
            links = cases_for(uow.session, rt.services.cipher, text)
            keys, ids = links.business_keys, links.instance_ids
        hits, total = search_cases(uow, rt.settings, actor, CaseFilter(
            business_keys=keys, instance_ids=ids, process_key=query.process_key or None,
            status=query.status or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE))
    return CaseSearchView(query, tuple(hits), total, page, max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE))
