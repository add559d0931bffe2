"""The managers' dashboard: where their teams' work waits, what is overdue and with whom, and — for those
who manage claims — claims paid and denied per week and the median time from first notice of loss to payout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.errors import ForbiddenError
from engine.workflow import Actor, Overdue, Runtime, StepLoad, managed_roles, open_steps, overdue_tasks
from tasks.claim_stats import ClaimFigures, claim_figures

# Whoever manages one of these roles sees the claims figures.
CLAIMS_ROLES = frozenset({"claims_clerk", "surveyor", "adjuster"})
WEEKS = 8


@dataclass(frozen=True)
class DashboardView:
    """What one manager's dashboard shows, as of `now`."""

    now: datetime
    roles: tuple[str, ...]  # the roles whose work is counted: those the manager may hand work to
    steps: tuple[StepLoad, ...]
    overdue_by_role: tuple[tuple[str, int], ...]
    overdue_by_person: tuple[Overdue, ...]  # claimed tasks only
    claims: ClaimFigures | None

    @property
    def overdue_total(self) -> int:
        """Every overdue task counted."""
        return sum(n for _, n in self.overdue_by_role)


def may_see_dashboard(rt: Runtime, actor: Actor) -> bool:
    """Whether the actor manages anyone's work (claims managers, senior underwriters, administrators)."""
    return bool(managed_roles(rt.settings, actor.roles))


def manager_dashboard(rt: Runtime, actor: Actor, weeks: int = WEEKS) -> DashboardView:
    """The dashboard of the roles the actor manages; ForbiddenError for someone who manages nobody."""
    roles = managed_roles(rt.settings, actor.roles)
    if not roles:
        raise ForbiddenError(f"{actor.username} manages no team: the dashboard is for managers")
    with rt.uow(read_only=True) as uow:
        now = rt.clock()
        steps = open_steps(uow, roles, now)
        overdue = overdue_tasks(uow, roles, now)
        claims = claim_figures(uow.session, now, weeks) if roles & CLAIMS_ROLES else None
    by_role: dict[str, int] = {}
    for item in overdue:
        by_role[item.role] = by_role.get(item.role, 0) + item.tasks
    return DashboardView(
        now, tuple(sorted(roles)), tuple(steps),
        tuple(sorted(by_role.items(), key=lambda kv: (-kv[1], kv[0]))),
        tuple(o for o in overdue if o.person is not None), claims)
