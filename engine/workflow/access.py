"""Need to know: who may see a case, act on it, and see its personal data in clear — decided here, once.

A person's relations to a case (README "Who sees a case"):
- `starter`: started it;
- `holder`: holds one of its open tasks now — assigned to them, or offered to their role and not yet
  taken by anyone (the pool offers it to them: they must read the case to decide to take it);
- `performer`: did one of its tasks (or held one that was later released back or withdrawn);
- `manager`: manages (may assign tasks of) a role that one of its tasks was for;
- `duty`: holds a role with a duty across every case of the process (settings `duty_roles`: SIU and
  claims managers on claims, compliance on sales);
- `reader`: reads every case without acting on any (auditor, admin).

Every relation reads the case; every relation but `reader` acts on it (deliver a message, upload a file).
Personal fields are shown in clear to the `holder` only; anyone else sees them masked, and reveals them
through the logged unmask (engine/audit/case_audit.py) when they hold that permission.

A message names who may deliver it on its catching event (`deliveredBy`, validated at deploy): `starter`,
`holder` and role names, space-separated. A catching event that declares nobody takes the message from
the engine alone (the worker, another case, the local operator). `customer` (alone) marks a message the
customer sends: it comes only through the public path that authenticates the customer for that one case
with the claim's access code (`customer` relation, tasks/claim_access.py); no staff member, nor the
operator, delivers it, and a customer delivers nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.orm import Session

from engine.errors import ForbiddenError

from .actors import Actor
from .authorization import managed_roles
from .models import HumanTaskModel, InstanceModel
from .settings import EngineSettings

READERS = frozenset({"auditor", "admin"})
ACTING = frozenset({"starter", "holder", "performer", "manager", "duty", "operator", "customer"})
DELIVERED_BY = "deliveredBy"
CUSTOMER = "customer"
DELIVERER_WORDS = frozenset({"starter", "holder", CUSTOMER})


@dataclass(frozen=True)
class CaseAccess:
    """What one person may do with one case, and why."""

    relations: frozenset[str]

    @property
    def read(self) -> bool:
        """Whether they may see the case at all."""
        return bool(self.relations)

    @property
    def act(self) -> bool:
        """Whether they may act on it (beyond the tasks the task rules let them do)."""
        return bool(self.relations & ACTING)

    @property
    def clear(self) -> bool:
        """Whether its personal fields are shown to them in clear."""
        return "holder" in self.relations


OPERATOR_ACCESS = CaseAccess(frozenset({"operator"}))


def case_access(session: Session, settings: EngineSettings, instance: Any, actor: Actor) -> CaseAccess:
    """The actor's relations to the case (an InstanceModel or store record)."""
    if actor.is_operator:
        return OPERATOR_ACCESS
    if actor.customer_of is not None:  # a customer is related to their own case only, and to nothing else in it
        return CaseAccess(frozenset({CUSTOMER} if instance.id == actor.customer_of else ()))
    relations: set[str] = set()
    if instance.started_by == actor.username:
        relations.add("starter")
    if actor.roles & READERS:
        relations.add("reader")
    if actor.roles & settings.duty_roles.get(instance.process_key, frozenset()):
        relations.add("duty")
    managed = managed_roles(settings, actor.roles)
    for status, role, assignee, completed_by in session.execute(select(
            HumanTaskModel.status, HumanTaskModel.candidate_role, HumanTaskModel.assignee,
            HumanTaskModel.completed_by).where(HumanTaskModel.instance_id == instance.id)):
        if status == "open" and (assignee == actor.username
                                 or (assignee is None and role is not None and role in actor.roles)):
            relations.add("holder")
        elif actor.username in (assignee, completed_by):
            relations.add("performer")
        if role is not None and role in managed:
            relations.add("manager")
    return CaseAccess(frozenset(relations))


def check_read(session: Session, settings: EngineSettings, instance: Any, actor: Actor) -> CaseAccess:
    """The actor's access; ForbiddenError when they have no part in the case."""
    access = case_access(session, settings, instance, actor)
    if not access.read:
        raise ForbiddenError(f"{actor.username} has no part in instance {instance.id}")
    return access


def check_act(session: Session, settings: EngineSettings, instance: Any, actor: Actor) -> CaseAccess:
    """The actor's access; ForbiddenError unless they may act on the case (reading it is not enough)."""
    access = check_read(session, settings, instance, actor)
    if not access.act:
        raise ForbiddenError(f"{actor.username} may read instance {instance.id} but not act on it")
    return access


def deliverers(task_spec: Any) -> list[str]:
    """The `deliveredBy` words of a catching event: `starter`, `holder` and role names."""
    return ((task_spec.extensions or {}).get("properties", {}).get(DELIVERED_BY) or "").split()


def check_deliver(access: CaseAccess, actor: Actor, catchers: list[Any], name: str, instance_id: int) -> None:
    """The actor may hand message `name` to every event of the case that would catch it (their specs:
    engine/workflow/waits.message_catchers). A customer's message comes from the customer alone, and the customer
    delivers nothing else."""
    for spec in catchers:
        allowed = deliverers(spec)
        if CUSTOMER in allowed:
            if CUSTOMER not in access.relations:
                raise ForbiddenError(f"message {name!r} is sent by the customer: it comes only through the customer's "
                                     f"own authenticated path (the claim status page), never from staff")
            continue
        if CUSTOMER in access.relations:
            raise ForbiddenError(f"message {name!r} is not one a customer sends")
        if actor.is_operator:
            continue
        if not allowed:
            raise ForbiddenError(f"message {name!r} of instance {instance_id} is taken from the engine only "
                                 f"({spec.bpmn_name or spec.bpmn_id} declares no deliveredBy)")
        if not (("starter" in allowed and "starter" in access.relations)
                or ("holder" in allowed and "holder" in access.relations)
                or actor.roles & set(allowed)):
            raise ForbiddenError(f"{actor.username} may not deliver message {name!r} to instance {instance_id}: "
                                 f"it is delivered by {' or '.join(allowed)}")


def deliverer_problems(value: str, known_roles: frozenset[str]) -> list[str]:
    """What is wrong with a `deliveredBy` value (deploy-time check)."""
    words = value.split()
    if not words:
        return ["deliveredBy names nobody (leave it out to take the message from the engine only)"]
    if CUSTOMER in words and len(words) > 1:
        return ["deliveredBy customer stands alone: a customer's message comes only through the customer's path"]
    return [f"deliveredBy names {word!r}, which is neither starter, holder nor a known role (nor customer)"
            for word in words if word not in DELIVERER_WORDS and word not in known_roles]



def visible_cases(settings: EngineSettings, actor: Actor) -> ColumnElement[bool]:
    """The cases the actor may read, as a condition on InstanceModel for a query (the same relations as
    `case_access`, decided by the database: a search never loads a case it may not show)."""
    if actor.is_operator or actor.roles & READERS:
        return true()
    task = HumanTaskModel
    own = [task.assignee == actor.username, task.completed_by == actor.username]
    if actor.roles:
        own.append(and_(task.status == "open", task.assignee.is_(None), task.candidate_role.in_(sorted(actor.roles))))
    managed = managed_roles(settings, actor.roles)
    if managed:
        own.append(task.candidate_role.in_(sorted(managed)))
    duty = sorted(process for process, roles in settings.duty_roles.items() if actor.roles & roles)
    return or_(InstanceModel.started_by == actor.username, InstanceModel.process_key.in_(duty),
               exists().where(task.instance_id == InstanceModel.id, or_(*own)))
