"""`insureflow payments ledger`: what the payment gateway holds beside what the database holds."""

from __future__ import annotations

import sys

import click

from services import payment_ledger

from .cli_context import Context, handled, pass_ctx
from .output import EXIT_INVALID, table


def register(cli: click.Group) -> None:
    """Attach the payment commands to the main group."""
    cli.add_command(payments)


@click.group()
def payments() -> None:
    """Payments at the gateway and in the database."""


@payments.command("ledger")
@click.option("--claim", "claim_number", metavar="NO", help="Only this claim's payouts.")
@click.option("--policy", "policy_number", metavar="NO", help="Only this policy's refunds.")
@pass_ctx
@handled
def payments_ledger(ctx: Context, claim_number: str | None, policy_number: str | None) -> None:
    """List every payment the gateway booked beside the database's record of it; exit 6 on a mismatch."""
    lines = payment_ledger.ledger_lines(ctx.app.runtime, claim_number, policy_number)
    problems = [line for line in lines if line.problem]
    text = table([[line.key, line.gateway_outcome or "-", line.gateway_amount, line.recorded_status or "-",
                   line.recorded_amount, line.problem or "ok"] for line in lines],
                 ["KEY", "GATEWAY", "AMOUNT", "DATABASE", "AMOUNT", "CHECK"])
    text.append(f"{len(lines)} payment key(s), {len(problems)} mismatch(es)")
    ctx.out.result({"ok": not problems, "payments": lines}, text)
    if problems:
        sys.exit(EXIT_INVALID)
