"""`insureflow demo`: a sale from first contact to an issued policy and a claim from first notice to
payout, driven through the engine step by step and told as it happens; and the demo cases that
`init --demo` leaves at different steps so that every role's inbox has work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from engine import worker
from engine.workflow import OPERATOR, Progress, Runtime, actor_for, instances, quiet, task_service
from engine.workflow import describe as describe_decision
from engine.workflow.models import HumanTaskModel
from tasks.common import BUSINESS_TZ
from tasks.idcard import check_digit
from tasks.records import ClaimRecord, PolicyRecord

from .cancellation import STORY_PREMIUM_ACCOUNT, cancel_in_cooling_off
from .data import beneficiary_designation, demo_identity

Say = Callable[[str], None]
STORY_CUSTOMER = ("Sun Li 孙丽", "310101", "19880612", 128, "13601234567", "shanghai")


class Driver:
    """Drives instances through the engine as the named staff, telling each step."""

    def __init__(self, rt: Runtime, say: Say, progress: Progress = quiet):
        self.rt, self.say, self.progress = rt, say, progress
        self.seen: dict[int, int] = {}
        self.steps = 0

    def _stepped(self) -> None:
        self.steps += 1
        self.progress("demo cases", self.steps, None)

    def _actor(self, user: str) -> Any:
        with self.rt.uow() as uow:
            return actor_for(uow, user)

    def start(self, process: str, user: str) -> int:
        """Start a process and tell what happened."""
        summary = instances.start_instance(self.rt, process, {}, self._actor(user))
        self.tell(summary.id)
        self._stepped()
        return summary.id

    def do(self, instance_id: int, task_key: str, user: str, data: dict[str, Any]) -> str:
        """Complete the open task `task_key` as `user` and tell what happened."""
        with self.rt.uow() as uow:
            task = uow.session.scalar(select(HumanTaskModel).where(
                HumanTaskModel.instance_id == instance_id, HumanTaskModel.status == "open",
                HumanTaskModel.task_key == task_key))
        if task is None:
            raise RuntimeError(f"the demo expected {task_key} to be open in case {instance_id}")
        status = task_service.complete(self.rt, task.id, self._actor(user), data).status
        self.tell(instance_id)
        self._stepped()
        return status

    def tell(self, instance_id: int) -> None:
        """Print the events since the last look, and what the case waits for now."""
        for event in instances.instance_history(self.rt, instance_id, OPERATOR):
            if event["seq"] <= self.seen.get(instance_id, 0):
                continue
            self.seen[instance_id] = event["seq"]
            line = _describe(event)
            if line:
                self.say(line)
        shown = instances.show_instance(self.rt, instance_id, OPERATOR)
        for task in shown.open_tasks:
            who = task["assignee"] or task["role"]
            self.say(f"    … now waiting for “{task['name']}” ({who})")


def _describe(event: dict[str, Any]) -> str | None:
    payload, kind = event["payload"], event["type"]
    if kind == "instance_started":
        return f"  ▶ {payload['process']} v{payload['version']} started by {event['actor']}"
    if kind == "task_completed":
        return f"  ✔ {event['actor']} completed {event['task']}"
    if kind == "decision_evaluated":
        return f"  ⚖ rule table: {describe_decision(payload)}"
    if kind == "effect_intended":
        return f"  ⇢ system: {payload['operator']} recorded the instruction {payload['result']['key']} for the bank"
    if kind in ("handler_executed", "effect_settled"):
        result = payload.get("result")
        brief = result
        if isinstance(result, dict):
            brief = {k: v for k, v in result.items() if not isinstance(v, dict | list)}
        return f"  ⚙ system: {payload['operator']} → {brief}"
    if kind == "timer_fired":
        return f"  ⏰ timer {event['task']} fired"
    if kind == "message_delivered":
        return f"  ✉ message {payload['name']} received"
    if kind == "incident_raised":
        return f"  ⚠ incident at {event['task']}: {payload['error']}"
    if kind == "instance_completed":
        return "  ■ case completed"
    return None


def _story_identity() -> dict[str, Any]:
    name, region_code, birth, sequence, phone, region = STORY_CUSTOMER
    first17 = f"{region_code}{birth}{sequence:03d}"
    return {"consent": True, "name": name, "id_number": first17 + check_digit(first17),
            "birth_date": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}", "phone": phone, "region": region}


def sell_policy(d: Driver) -> dict[str, Any]:
    """A sale that goes straight through: suitable product, automatic underwriting, policy issued."""
    d.say("SALE — an agent sells medical cover to a new customer")
    sale = d.start("sales", "agent")
    d.do(sale, "customer_registration", "agent", _story_identity())
    d.do(sale, "needs_analysis", "agent", {"income": 360000, "dependents": 1, "existing_cover": 0,
                                           "goal": "medical", "risk_tolerance": "low"})
    d.do(sale, "present_quote", "agent", {"product_code": "MED01", "sum_insured": 300000, "term_years": 5})
    d.do(sale, "application", "agent", {"product_line": "medical", "smoker": False, "height_cm": 165,
                                        "weight_kg": 56,
                                        "chronic_disease": False, "occupation_class": 1,
                                        "beneficiary_designation": "legal_heirs"})
    d.do(sale, "accept_terms", "agent", {"accepted": True})
    d.do(sale, "premium_payment", "agent", {"method": "transfer", "payer_name": STORY_CUSTOMER[0],
                                               "payer_account": STORY_PREMIUM_ACCOUNT})
    policy = instances.show_instance(d.rt, sale, OPERATOR).data["policy"]
    d.say(f"  policy {policy['policy_number']} issued; the customer is asked to sign the policy receipt")
    signed = d.rt.clock().astimezone(BUSINESS_TZ).date().isoformat()
    d.do(sale, "record_receipt", "agent", {"receipt_signed_on": signed, "receipt_form": "paper"})
    receipt = instances.show_instance(d.rt, sale, OPERATOR).data["receipt"]
    d.say(f"  receipt signed on {receipt['receipt_date']}: cooling-off until {receipt['cooling_off_end']}")
    return {"sale": sale, "policy": {**policy, **{k: receipt[k] for k in ("receipt_date", "cooling_off_end")}}}


def settle_claim(d: Driver, days_ago: int = 6) -> dict[str, Any]:
    """A hospital claim on a demo policy, above the approval limit, from first notice to payout."""
    name, id_number, _phone = demo_identity(0)
    d.say("CLAIM — a hospital stay on policy PDEMO0001, reported by the claims clerk")
    with d.rt.uow() as uow:
        earlier = uow.session.scalar(select(func.count(ClaimRecord.id)).join(
            PolicyRecord, PolicyRecord.id == ClaimRecord.policy_id).where(PolicyRecord.number == "PDEMO0001")) or 0
    incident = (d.rt.clock() - timedelta(days=days_ago + earlier)).date().isoformat()
    claim = d.start("claims", "claims.clerk")
    d.do(claim, "register_claim", "claims.clerk", {
        "policy_number": "PDEMO0001", "claimant_name": name, "claimant_id_number": id_number,
        "incident_date": incident, "claim_type": "hospitalization", "cause_of_loss": "illness",
        "description": "Appendectomy, 4 nights",
        "claimed_amount": 68000, "documents": ["claim_form", "id_copy", "bank_card", "medical_invoice",
                                               "discharge_summary"],
        "payee_account": "6222020200112233445", "region": "beijing"})
    suggested = instances.show_instance(d.rt, claim, OPERATOR).data["suggestion"]["suggested_amount"]
    d.do(claim, "assess_amount", "adjuster",
         {"decision": "pay", "payable_amount": suggested, "note": "covered in full"})
    d.do(claim, "approve_payout", "claims.manager", {"approved": True, "reason": "documents complete"})
    data = instances.show_instance(d.rt, claim, OPERATOR).data["claim"]
    d.say(f"  claim {data['claim_number']} paid; the customer can follow it on the status page with the last "
          f"4 characters of the ID number ({id_number[-4:]})")
    return {"claim": claim, "claim_number": data["claim_number"]}


def deny_claim(d: Driver) -> dict[str, Any]:
    """A small outpatient bill after an accident on PDEMO0006 that the deductible swallows: denied with a coded
    reason and the written denial notice (拒赔通知书), never paid as 0."""
    name, id_number, _phone = demo_identity(5)
    d.say("DENIAL — an outpatient bill within the deductible of PDEMO0006")
    claim = d.start("claims", "claims.clerk")
    d.do(claim, "register_claim", "claims.clerk", {
        "policy_number": "PDEMO0006", "claimant_name": name, "claimant_id_number": id_number,
        "incident_date": (d.rt.clock() - timedelta(days=2)).date().isoformat(), "claim_type": "outpatient",
        "cause_of_loss": "accident", "description": "A sprained ankle: a doctor's visit and a bandage",
        "claimed_amount": 300,
        "documents": ["claim_form", "id_copy", "bank_card", "medical_invoice"],
        "payee_account": "6222020200155667788", "region": "shenzhen"})
    d.do(claim, "assess_amount", "adjuster", {
        "decision": "deny", "denial_code": "below_deductible",
        "denial_reason": "The bill of 300 CNY is within the policy's deductible of 500 CNY a year."})
    data = instances.show_instance(d.rt, claim, OPERATOR).data["claim"]
    d.say(f"  claim {data['claim_number']} denied (below_deductible); the claimant is sent the written denial "
          "notice with the reason and how to ask for a review")
    return {"claim": claim, "claim_number": data["claim_number"]}


def tell_story(rt: Runtime, say: Say) -> dict[str, Any]:
    """Run the sale, the claim, a denial and a cooling-off cancellation, then let the cooling-off period pass."""
    d = Driver(rt, say)
    sale = sell_policy(d)
    claim = settle_claim(d)
    denied = deny_claim(d)
    cancelled = cancel_in_cooling_off(d, sell_policy(d), _story_identity()["id_number"])
    d.say("COOLING-OFF — sixteen days later the worker confirms the policy")
    report = worker.tick(rt, rt.clock() + timedelta(days=16))
    d.tell(sale["sale"])
    return {"policy_number": sale["policy"]["policy_number"], "claim_number": claim["claim_number"],
            "timers_fired": report.timers_fired, "cancelled_sale": cancelled["sale_status"],
            "denied_claim": denied["claim_number"]}


def _claim_form(index: int, policy: str, claim_type: str, amount: float, days_ago: int, documents: list[str],
                region: str, now: Any) -> dict[str, Any]:
    name, id_number, _phone = demo_identity(index)
    return {"policy_number": policy, "claimant_name": name, "claimant_id_number": id_number,
            "incident_date": (now - timedelta(days=days_ago)).date().isoformat(), "claim_type": claim_type,
            # Injuries and property losses are accidents; the demo's other losses are illnesses.
            "cause_of_loss": "accident" if claim_type in ("accident_injury", "property_damage") else "illness",
            "description": f"{claim_type.replace('_', ' ')} (demo case)", "claimed_amount": amount,
            "documents": ["claim_form", "id_copy", "bank_card", *documents], "payee_account": f"62220202001{index:08d}",
            "region": region}


def leave_cases(rt: Runtime, gateway: Any, progress: Progress = quiet) -> int:
    """Open cases at different steps so that every role's inbox has work; the number left (`progress` is told
    after each step)."""
    d = Driver(rt, lambda _line: None, progress)
    now = rt.clock()
    started = []
    needs = d.start("sales", "agent")
    d.do(needs, "customer_registration", "agent", _story_identity())
    started.append(needs)  # the agent: needs analysis
    unsuitable = d.start("sales", "agent")
    d.do(unsuitable, "customer_registration", "agent", {**_story_identity(), "name": "Sun Li 孙丽"})
    d.do(unsuitable, "needs_analysis", "agent", {"income": 60000, "dependents": 0, "existing_cover": 0,
                                                 "goal": "savings", "risk_tolerance": "low"})
    d.do(unsuitable, "present_quote", "agent", {"product_code": "INV01", "sum_insured": 200000, "term_years": 10})
    d.do(unsuitable, "customer_acknowledgement", "agent", {"acknowledged": True,
                                                            "customer_statement": "I understand the risk."})
    started.append(unsuitable)  # compliance: approve the unsuitable sale
    refer = d.start("sales", "agent")
    d.do(refer, "customer_registration", "agent", _story_identity())
    d.do(refer, "needs_analysis", "agent", {"income": 400000, "dependents": 2, "existing_cover": 0,
                                            "goal": "medical", "risk_tolerance": "medium"})
    d.do(refer, "present_quote", "agent", {"product_code": "MED01", "sum_insured": 300000, "term_years": 5})
    d.do(refer, "application", "agent", {"product_line": "medical", "smoker": False, "height_cm": 170,
                                         "weight_kg": 72, "chronic_disease": True,
                                         "occupation_class": 2, "health_declaration": "Type 2 diabetes since 2019",
                                         "beneficiary_designation": "legal_heirs"})
    started.append(refer)  # the underwriter: manual underwriting
    started.append(sell_policy(d)["sale"])  # a policy in its cooling-off period: the customer may still cancel
    claims = [
        (0, "PDEMO0001", "outpatient", 3200, 10, ["medical_invoice"], "beijing", "adjuster"),
        (1, "PDEMO0002", "property_damage", 80000, 4, ["photos", "repair_estimate"], "shanghai", "surveyor"),
        (4, "PDEMO0005", "property_damage", 5000, 3, ["repair_estimate"], "hangzhou", "clerk"),
        (3, "PDEMO0004", "accident_injury", 300000, 5, ["medical_invoice", "police_report"], "chengdu", "siu"),
    ]
    for index, policy, claim_type, amount, days_ago, documents, region, _who in claims:
        case = d.start("claims", "claims.clerk")
        d.do(case, "register_claim", "claims.clerk",
             _claim_form(index, policy, claim_type, amount, days_ago, documents, region, now))
        started.append(case)
    started.append(_death_claim(d, now))  # the adjuster: a beneficiary's death claim
    approval = d.start("claims", "claims.clerk")
    d.do(approval, "register_claim", "claims.clerk", _claim_form(
        0, "PDEMO0001", "hospitalization", 60000, 20, ["medical_invoice", "discharge_summary"], "beijing", now))
    d.do(approval, "assess_amount", "adjuster", {"decision": "pay", "payable_amount": 59500,
                                                 "note": "as invoiced less deductible"})
    started.append(approval)  # the claims manager: approve the payout
    failed = d.start("claims", "claims.clerk")
    d.do(failed, "register_claim", "claims.clerk", _claim_form(
        2, "PDEMO0003", "disability", 20000, 12, ["medical_invoice"], "guangzhou", now))
    gateway.script = ["decline"]  # the bank refuses the first payment: finance has a failure to resolve
    d.do(failed, "assess_amount", "adjuster", {"decision": "pay", "payable_amount": 20000, "note": "agreed"})
    started.append(failed)
    return len(started)


def _death_claim(d: Driver, now: Any) -> int:
    """Zhao Jun (PDEMO0007) died; his wife, named for 60 % of the death benefit, claims her share."""
    wife = beneficiary_designation(7)[0]
    case = d.start("claims", "claims.clerk")
    d.do(case, "register_claim", "claims.clerk", {
        "policy_number": "PDEMO0007", "claimant_name": wife["name"], "claimant_id_number": wife["id_number"],
        "incident_date": (now - timedelta(days=8)).date().isoformat(), "claim_type": "death",
        "cause_of_loss": "illness", "description": "The insured died of a stroke (demo case).",
        "claimed_amount": 300000, "documents": ["claim_form", "id_copy", "bank_card", "death_certificate"],
        "payee_account": "6222020200177665544", "region": "hangzhou"})
    return case
