"""`insureflow message --name NAME --correlation KEY=VALUE`: a message by name reaches the one case its
correlation picks, or starts the process whose start event catches it; the answer says which, and the exit
code tells nobody-catches-it (3) and several-cases-match (5) apart."""

from __future__ import annotations

from tests.cli.conftest import Cli
from tests.conftest import FIXTURES


def _waiting_for_cancel(run: Cli, key: str, claimant: str) -> int:
    started = run.json("start", "claim_review", "--as", "clerk", "--business-key", key)
    run.json("complete", str(started["open_tasks"][0]["id"]), "--as", "clerk", "--data",
             f'{{"amount": 500, "claimant": "{claimant}"}}')
    return started["id"]


def test_a_message_by_name_is_delivered_by_correlation_or_starts_its_process(deployed_cli: Cli) -> None:
    run = deployed_cli
    assert run("deploy", str(FIXTURES / "bpmn_message_start")).exit_code == 0
    first, second = _waiting_for_cancel(run, "CLM-1", "Li"), _waiting_for_cancel(run, "CLM-2", "Han")

    ambiguous = run("message", "--name", "cancel", "--as", "clerk")
    assert ambiguous.exit_code == 5 and "2 cases wait for message 'cancel'" in ambiguous.stderr
    sent = run.json("message", "--name", "cancel", "--correlation", "claimant=Han", "--data", '{"reason": "x"}',
                    "--as", "clerk")
    assert (sent["outcome"], sent["instance"]["id"], sent["instance"]["status"]) == ("delivered", second, "completed")
    text = run("message", "--name", "cancel", "--correlation", "business_key=CLM-1", "--as", "clerk").output
    assert f"message 'cancel' delivered instance {first}" in text

    started = run.json("message", "--name", "complaint_filed", "--data", '{"text": "slow"}', "--as", "clerk")
    assert started["outcome"] == "started" and started["instance"]["open_tasks"][0]["task"] == "review_complaint"

    nobody = run("message", "--name", "cancel", "--correlation", "claimant=Zhao", "--as", "clerk")
    assert nobody.exit_code == 3 and "no case waits for message 'cancel' with claimant=Zhao" in nobody.stderr
    assert run("message", "--name", "cancel", "--correlation", "claimant").exit_code == 2
    assert run("message", "7", "cancel", "--name", "cancel").exit_code == 2
