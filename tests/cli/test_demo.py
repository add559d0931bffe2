"""`init --demo` populates every inbox; `insureflow demo` tells the story; no personal data in plaintext."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner

from insureflow.cli import cli
from services.demo.data import BENEFICIARIES, CUSTOMERS, beneficiary_designation, demo_identity
from services.demo.story import STORY_CUSTOMER, _story_identity

INBOXES = {
    "agent": "Needs analysis", "compliance": "Compliance approval", "underwriter": "Manual underwriting",
    "claims.clerk": "Request missing documents", "adjuster": "Assess amount", "claims.manager": "Approve payout",
    "siu": "Investigate suspected fraud", "finance": "Resolve payment failure",
    "surveyor.zhang": "Conduct survey and report",
}


def _run(folder: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--instance", str(folder), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def test_the_demo_fills_every_inbox_tells_the_story_and_keeps_personal_data_encrypted(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    printed = _run(folder, "init", "--demo")
    assert "login claims.clerk / claims_clerk-demo" in printed and "cases left at different steps" in printed
    created = int(printed.split(" demo user(s) created")[0].rsplit(" ", 1)[-1])
    logins = [line for line in printed.splitlines() if line.startswith("demo: login ")]
    assert len(logins) == created  # every user the demo made is printed, the regional surveyors included
    for user in INBOXES:
        assert any(line.startswith(f"demo: login {user} / ") for line in logins), user
    assert "surveys claims in shanghai, hangzhou" in printed
    policies = [line for line in printed.splitlines() if line.startswith("demo: policy PDEMO")]
    assert len(policies) == 7 and "holder Zhao Jun" in policies[-1]
    for user, task in INBOXES.items():
        inbox = json.loads(_run(folder, "--json", "tasks", "--as", user))
        assert task in [t["name"] for t in inbox["tasks"]], (user, inbox)

    story = _run(folder, "demo")
    assert "WHERE TO LOOK" in story and "/dashboard" in story and "insureflow init --demo" in story
    for step in ("SALE", "customer_registration", "issue_policy", "policy P", "CLAIM", "register_claim",
                 "approve_payout", "pay_claim", "claim C", "DENIAL", "close_claim", "below_deductible",
                 "denied (below_deductible)", "CANCELLATION", "customer_confirmation",
                 "approve_refund", "pay_refund", "back to the account the premium came from", "terminate_policy",
                 "COOLING-OFF", "confirm_policy", "case completed"):
        assert step in story, step
    assert "'status': 'accepted'" in story.split("CANCELLATION")[1]  # the refund was paid, not refused
    assert "incident" not in story

    replayed = json.loads(_run(folder, "--json", "replay", "--all"))
    assert replayed["ok"] and len(replayed["results"]) >= 11
    assert json.loads(_run(folder, "--json", "verify"))["ok"]

    raw = b"".join(p.read_bytes() for p in folder.glob("insureflow.db*"))
    people = [demo_identity(i) for i in range(len(CUSTOMERS))]
    secrets = [STORY_CUSTOMER[4], _story_identity()["id_number"], "6222020200112233445", "6222020200100000000"]
    secrets += [id_number for _, id_number, _ in people] + [phone for _, _, phone in people]
    secrets += [b["id_number"] for policy in BENEFICIARIES for b in beneficiary_designation(policy)]
    for secret in secrets:
        assert secret.encode() not in raw, secret


@pytest.mark.parametrize("moment", ["2028-02-29T09:30:00+08:00", "2031-12-31T23:50:00+08:00",
                                    "2027-02-08T10:00:00+08:00"],
                         ids=["leap day", "new year's eve", "spring festival"])
def test_the_demo_leaves_work_in_every_inbox_on_any_day(tmp_path: Path, moment: str) -> None:
    """The system clock pinned (time-machine) on awkward days, including years the statutory calendar
    may not know yet: the demo counts its dates back from that moment and tells the same story."""
    with time_machine.travel(datetime.fromisoformat(moment), tick=True):
        folder = tmp_path / "demo"
        _run(folder, "init", "--demo")
        for user, task in INBOXES.items():
            inbox = json.loads(_run(folder, "--json", "tasks", "--as", user))
            assert task in [t["name"] for t in inbox["tasks"]], (user, inbox)
        cases = json.loads(_run(folder, "--json", "instances", "--process", "sales"))["instances"]
        # a policy issued and in its cooling-off period: the sale waits for its end, no task open
        assert any(c["status"] == "waiting" and c["business_key"] and not c["open_tasks"] for c in cases)
