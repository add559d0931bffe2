"""`insureflow payments ledger`: what the payment gateway holds beside what the database holds."""

from __future__ import annotations

import sys

import click

from tasks.gateway_ledger import LedgerGateway
from tasks.payment_ledger import LedgerLine, reconcile, subject_prefix

from .cli_context import Context, handled, pass_ctx
from .output import EXIT_INVALID, EXIT_NOT_FOUND, fail, table


def register(cli: click.Group) -> None:
    """Attach the payment commands to the main group."""
    cli.add_command(payments)


@click.group()
def payments() -> None:
    """Payments at the gateway and in the database."""


def ledger_lines(ctx: Context, prefix: str = "") -> list[LedgerLine]:
    """Every payment key of the instance (or those starting with `prefix`), both sides matched."""
    rt = ctx.app.runtime
    gateway = rt.services.gateway
    if not isinstance(gateway, LedgerGateway):  # an instance folder always has one; a test harness may not
        fail("this instance's gateway keeps no ledger to compare with", EXIT_INVALID)
    with rt.uow(read_only=True) as uow:
        return reconcile(uow.session, gateway.entries(prefix), rt.clock(), prefix)


@payments.command("ledger")
@click.option("--claim", "claim_number", metavar="NO", help="Only this claim's payouts.")
@click.option("--policy", "policy_number", metavar="NO", help="Only this policy's refunds.")
@pass_ctx
@handled
def payments_ledger(ctx: Context, claim_number: str | None, policy_number: str | None) -> None:
    """List every payment the gateway booked beside the database's record of it; exit 6 on a mismatch."""
    prefix: str | None = ""
    if claim_number is not None or policy_number is not None:
        with ctx.app.runtime.uow(read_only=True) as uow:
            prefix = subject_prefix(uow.session, claim_number, policy_number)
        if prefix is None:
            fail(f"no {'claim' if claim_number is not None else 'policy'} {claim_number or policy_number}",
                 EXIT_NOT_FOUND)
    lines = ledger_lines(ctx, prefix or "")
    problems = [line for line in lines if line.problem]
    text = table([[line.key, line.gateway_outcome or "-", line.gateway_amount, line.recorded_status or "-",
                   line.recorded_amount, line.problem or "ok"] for line in lines],
                 ["KEY", "GATEWAY", "AMOUNT", "DATABASE", "AMOUNT", "CHECK"])
    text.append(f"{len(lines)} payment key(s), {len(problems)} mismatch(es)")
    ctx.out.result({"ok": not problems, "payments": lines}, text)
    if problems:
        sys.exit(EXIT_INVALID)
