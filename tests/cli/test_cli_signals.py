"""`insureflow signal NAME`: a broadcast to every case waiting for the signal; the local operator (or an
administrator named with --as) sends it, nobody waiting is exit 3, staff are refused with exit 4."""

from __future__ import annotations

from tests.cli.conftest import Cli
from tests.conftest import FIXTURES


def _held(run: Cli) -> int:
    started = run.json("start", "payout_hold", "--as", "clerk")
    run.json("complete", str(started["open_tasks"][0]["id"]), "--as", "clerk")
    return started["id"]


def test_a_signal_reaches_every_waiting_case(run: Cli) -> None:
    assert run("deploy", str(FIXTURES / "bpmn_signals")).exit_code == 0
    first, second = _held(run), _held(run)

    refused = run("signal", "payouts_resumed", "--as", "clerk")
    assert refused.exit_code == 4 and "may not send signals" in refused.stderr
    text = run("signal", "payouts_resumed", "--data", '{"by": "treasury"}').output
    assert "signal 'payouts_resumed' reached 2 case(s)" in text
    assert f"instance {first}: completed" in text and f"instance {second}: completed" in text

    nobody = run("signal", "payouts_resumed")
    assert nobody.exit_code == 3 and "no case waits for signal 'payouts_resumed'" in nobody.stderr
