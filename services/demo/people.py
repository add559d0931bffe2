"""Who and what the demo holds, printed when it is made: every login with its roles (the surveyors with the
regions they survey), and the demo policies with their holders — all invented people, so their numbers may
be shown to let a tester report a claim."""

from __future__ import annotations

from dataclasses import dataclass

from engine.workflow import DEFAULT_ROLES

from .data import CUSTOMERS, POLICIES, PRODUCTS, SURVEYORS, id_number

# Second people for the four-eyes steps that a colleague of the same role must take (a compliance
# approval is countersigned, an AML review confirmed, by another compliance officer).
SECOND_OFFICERS = (("compliance.2", "compliance"),)

# What each demo policy is there to show (policy number → note).
POLICY_NOTES = {
    "PDEMO0004": "young policy: a large accident claim is referred to the SIU",
    "PDEMO0006": "in its waiting period; the story's denial",
    "PDEMO0007": "names two beneficiaries; a death claim waits for the adjuster",
}


def demo_password(role: str) -> str:
    """The printed demo password of a role's demo user."""
    return f"{role}-demo"


@dataclass(frozen=True)
class DemoLogin:
    """One demo user: how to sign in and what they do."""

    username: str
    password: str
    roles: tuple[str, ...]
    note: str = ""

    def line(self) -> str:
        """The login as one printed line."""
        return (f"{self.username} / {self.password} ({', '.join(self.roles)})"
                + (f" — {self.note}" if self.note else ""))


@dataclass(frozen=True)
class DemoPolicy:
    """One demo policy in force and its holder (the insured person too)."""

    number: str
    product: str
    holder: str
    holder_id_number: str
    region: str
    note: str = ""

    def line(self) -> str:
        """The policy as one printed line."""
        return (f"{self.number} {self.product} — holder {self.holder}, ID {self.holder_id_number}, {self.region}"
                + (f" — {self.note}" if self.note else ""))


def demo_logins() -> list[DemoLogin]:
    """Every demo user the demo creates: one per role, the second officers and the regional surveyors."""
    notes = {"surveyor": "covers no region: survey tasks go to the regional surveyors below",
             "claims_manager": "also sees the dashboard (/dashboard)", "auditor": "read-only, /audit",
             "analyst": "/studio"}
    logins = [DemoLogin(role.replace("_", "."), demo_password(role), (role,), notes.get(role, ""))
              for role in DEFAULT_ROLES]
    logins += [DemoLogin(name, demo_password(role), (role,), "the second person of a four-eyes step")
               for name, role in SECOND_OFFICERS]
    logins += [DemoLogin(name, demo_password("surveyor"), ("surveyor",),
                         f"{display}; surveys claims in {', '.join(regions)}") for name, display, regions in SURVEYORS]
    return logins


def demo_policies() -> list[DemoPolicy]:
    """The demo policies in force, with the holder a claim names as claimant."""
    products = {code: name for code, name, *_ in PRODUCTS}
    policies = []
    for index, (who, product, *_rest) in enumerate(POLICIES, start=1):
        name, region_code, birth, sequence, _phone, region = CUSTOMERS[who]
        number = f"PDEMO{index:04d}"
        policies.append(DemoPolicy(number, f"{product} {products[product]}", name,
                                   id_number(region_code, birth, sequence), region, POLICY_NOTES.get(number, "")))
    return policies


def where_to_look() -> list[str]:
    """What to open after the story, and as whom."""
    return [
        "WHERE TO LOOK — start the web app (`make run`, or `insureflow serve`) and sign in:",
        "  adjuster / adjuster-demo: the inbox holds the death claim on PDEMO0007 and other claims to assess",
        "  claims.manager / claims_manager-demo: the team's inbox, approvals, and the dashboard (/dashboard)",
        "  auditor / auditor-demo: /audit — step through any case, verify its chain, export its report",
        "  analyst / analyst-demo: /studio — the diagrams, decision tables and forms",
        "  the customer's side: /status with a claim number from the story above",
        "  every login, and the demo policies with their holders: `insureflow init --demo` prints them",
    ]
