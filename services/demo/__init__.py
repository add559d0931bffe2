"""The demo instance: a user for every role, reference data, invented customers and policies, the diagrams under
bpmn/ deployed and cases left at different steps (`insureflow init --demo`, `insureflow demo`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from engine.identity import add_user
from engine.workflow import DEFAULT_ROLES, OPERATOR, Progress, Runtime, deployments, quiet
from engine.workflow.models import InstanceModel, UserModel

from .cancellation import seed_refund_accounts
from .data import SURVEYORS, seed_customers, seed_reference_data
from .people import SECOND_OFFICERS, demo_logins, demo_password, demo_policies
from .story import leave_cases

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"


def load_demo(rt: Runtime, progress: Progress = quiet) -> dict[str, Any]:
    """Create demo users and reference data (idempotent) and deploy bpmn/ when it holds diagrams; `progress` is
    told after each stage and each step of the demo cases."""
    created = []
    with rt.uow() as uow:
        for role in DEFAULT_ROLES:
            name = role.replace("_", ".")
            if uow.session.scalar(select(UserModel).where(UserModel.username == name)) is None:
                add_user(uow.session, rt.settings, name, [role], demo_password(role), rt.clock())
                created.append(name)
        for username, role in SECOND_OFFICERS:
            if uow.session.scalar(select(UserModel).where(UserModel.username == username)) is None:
                add_user(uow.session, rt.settings, username, [role], demo_password(role), rt.clock())
                created.append(username)
        for username, display, _regions in SURVEYORS:
            if uow.session.scalar(select(UserModel).where(UserModel.username == username)) is None:
                add_user(uow.session, rt.settings, username, ["surveyor"], demo_password("surveyor"), rt.clock(),
                         display)
                created.append(username)
        seed_reference_data(uow.session, rt.clock())
        seed_customers(uow.session, rt.services.cipher, rt.clock())
        seed_refund_accounts(uow.session, rt.services.cipher, rt.clock())
        uow.commit()
    progress("demo users and data", 1, 1)
    files = {
        p.relative_to(BPMN_DIR).as_posix(): p.read_bytes()
        for p in sorted(BPMN_DIR.rglob("*")) if p.is_file() and p.suffix in (".bpmn", ".dmn", ".json")
    }
    deployment = None
    cases = 0
    if any(name.endswith(".bpmn") for name in files):
        deployment = deployments.deploy(rt, files, OPERATOR, "demo")
        progress("deploy bpmn/", 1, 1)
        with rt.uow() as uow:
            fresh = uow.session.scalar(select(func.count(InstanceModel.id))) == 0
        if fresh:
            cases = leave_cases(rt, rt.services.gateway, progress)
    logins = [login.line() for login in demo_logins()]
    summary = ([f"{len(created)} demo user(s) created; every demo login:"] + [f"login {line}" for line in logins]
               + ["demo policies in force (invented people; report a claim with the holder's name and ID):"]
               + [f"policy {policy.line()}" for policy in demo_policies()])
    if deployment:
        summary.append(f"deployment {deployment.id} with {len(deployment.processes)} process(es)")
    if cases:
        summary.append(f"{cases} cases left at different steps for the inboxes")
    return {"users_created": created, "logins": logins, "cases": cases,
            "deployment": deployment.id if deployment else None, "summary": summary}
