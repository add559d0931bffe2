"""`insureflow claim-code NUMBER`: re-send a claim's acknowledgement with a fresh access code (README "Claim
status": claims opened before access codes, or a claimant who lost theirs). The code is never printed: it goes
to the claimant only."""

from __future__ import annotations

import click

from services.claim_access import reissue_code

from .cli_context import Context, handled, pass_ctx


def register(cli: click.Group) -> None:
    """Attach the claim commands to the main group."""
    cli.add_command(claim_code)


@click.command("claim-code")
@click.argument("claim_number")
@click.option("--as", "as_user", metavar="USER", help="Act as this claims clerk or manager (default: the operator).")
@pass_ctx
@handled
def claim_code(ctx: Context, claim_number: str, as_user: str | None) -> None:
    """Send the claimant of CLAIM_NUMBER a new access code (the old one stops working)."""
    actor = ctx.actor(as_user)
    sent = reissue_code(ctx.app.runtime, claim_number, actor)
    ctx.out.result({"claim_number": claim_number.strip(), "notification_id": sent},
                   [f"a new access code for claim {claim_number.strip()} was queued to the claimant "
                    f"(notification {sent}); the old code no longer works"])
