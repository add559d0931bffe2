"""Steps' names in the staff's language, for lists that name a step without a case (an inbox filter, the
dashboard): by the newest version of their process, from the deployment's translation
(engine/workflow/translations.py)."""

from __future__ import annotations

from engine.workflow import LANGUAGES, Runtime, deployments


def step_names(rt: Runtime, lang: str, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(process key, task key) → the step's name in the language, for those the newest version translates."""
    if not wanted or lang not in LANGUAGES:
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
