"""Issue 12 item 17: each product line its own underwriting — a home is asked about the building, never about
health, and has no age rule its rates do not have; the life and health lines' age limits are their products' rated
ages; the underwriter may accept with an exclusion (on the policy) or a reduced sum insured (re-priced), or postpone
(a letter, not a decline). Real diagrams, tables, forms and handlers on both databases; every scenario ends with a
consistent replay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.demo.data import PRODUCTS
from tasks.records import PolicyRecord, UnderwritingOutcomeRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_decisions import refused
from tests.bpmn.test_sales_files import decide
from tests.bpmn.test_sales_scenarios import (
    application,
    assert_replays,
    needs,
    open_keys,
    quote,
    registration,
    rows,
    sale_at_application,
    sold,
)
from tests.bpmn.test_underwriting_controls import decided, sent, task_data
from tests.bpmn.test_underwriting_scenarios import AUTO_LIMIT, handed_back, outcome, result_of, underwrite


def home_application(construction: str = "reinforced_concrete", building_age_years: int = 12,
                     occupancy: str = "owner_occupied", flood_zone: bool = False) -> dict[str, Any]:
    """The application of a home: the building's features, no health questions."""
    return {"product_line": "property", "construction": construction, "building_age_years": building_age_years,
            "occupancy": occupancy, "flood_zone": flood_zone}


# --- item 17: each product line its own rules ----------------------------------------------------

def home_sale(insurer: Insurer) -> int:
    """A HOME01 sale of a 76-year-old (the product's rates cover 18-80), waiting for the application."""
    return sale_at_application(insurer, registration(birth=date(1950, 3, 1)), needs(goal="property"),
                               quote("HOME01", 500_000, 10))


def test_a_home_is_underwritten_on_the_building_without_health_questions_or_an_age_limit(insurer: Insurer) -> None:
    sale = home_sale(insurer)
    assert task_data(insurer, sale, "application")["product_line"] == "property"  # the form's prefilled line
    assert refused(insurer, sale, "application", "agent", {"product_line": "property"}) == {
        "building_age_years": "is required", "construction": "is required", "flood_zone": "is required",
        "occupancy": "is required"}  # a home has no death benefit: nobody is asked to name beneficiaries

    insurer.complete(sale, "application", "agent", home_application())

    data = insurer.data(sale)
    assert (decided(insurer, sale, "score_property_risk"), data["customer"]["age"]) == ({"risk_class": "standard"}, 76)
    assert not [e for e in insurer.history(sale) if e["task"] == "score_risk"]  # no life and health rules
    assert not {"smoker", "height_cm", "chronic_disease"} & set(data)
    assert (data["beneficiary_designation"], data["beneficiaries"]) == ("legal_heirs", [])  # issue_policy's default
    assert open_keys(insurer, sale) == ["accept_terms"]
    assert outcome(insurer, sale) == ["accept"]
    assert_replays(insurer, sale)


def test_a_home_in_a_flood_zone_goes_to_an_underwriter_who_excludes_flood(insurer: Insurer) -> None:
    sale = home_sale(insurer)
    insurer.complete(sale, "application", "agent", home_application(flood_zone=True))
    assert open_keys(insurer, sale) == ["manual_underwriting"]
    assert refused(insurer, sale, "manual_underwriting", "uw", {"decision": "accept_with_exclusion",
                                                                "note": "Flood zone."}) == {
        "exclusion_clause": "is required"}

    insurer.complete(sale, "manual_underwriting", "uw", {
        "decision": "accept_with_exclusion", "exclusion_clause": "Flood and storm surge damage",
        "note": "The district floods every few years."})

    assert open_keys(insurer, sale) == ["accept_terms"]
    assert sold(insurer, sale) == "waiting"
    [policy] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    assert policy.exclusions == "Flood and storm surge damage"
    [record] = rows(insurer, UnderwritingOutcomeRecord, UnderwritingOutcomeRecord.instance_id == sale)
    assert (record.decision, record.exclusion) == ("accept", "Flood and storm surge damage")
    assert_replays(insurer, sale)


@pytest.mark.parametrize(("code", "line", "min_age", "max_age"), [
    (code, line, min_age, max_age) for code, _, _, line, _, min_age, max_age, _, _ in PRODUCTS if line != "property"])
def test_the_age_rule_of_each_life_and_health_line_is_its_products_rated_ages(
        code: str, line: str, min_age: int, max_age: int) -> None:
    base = {"product_line": line, "smoker": False, "bmi": 22.0, "chronic_disease": False, "occupation_class": 1,
            "sum_insured": 100000, "fraud_history": {"prior_declines": 0, "prior_claims": 0}}
    at_max = decide("underwriting_risk.dmn", {**base, "customer": {"customer_id": 1, "age": max_age}})
    above = decide("underwriting_risk.dmn", {**base, "customer": {"customer_id": 1, "age": max_age + 1}})
    assert (at_max["risk_class"], above["risk_class"]) == ("standard", "decline"), code


def test_a_reduced_sum_insured_reprices_the_premium_and_the_policy_is_issued_on_it(insurer: Insurer) -> None:
    sale = underwrite(insurer, sum_insured=AUTO_LIMIT + 10_000)  # above the automatic limit: an underwriter
    # A "reduced" sum that is not below the sum applied for is no decision: the task comes back.
    insurer.complete(sale, "manual_underwriting", "uw", {"decision": "reduced_sum", "reduced_sum_insured": 600_000,
                                                         "note": "Typo."})
    assert (open_keys(insurer, sale), outcome(insurer, sale)) == (["manual_underwriting"], [])

    insurer.complete(sale, "manual_underwriting", "uw", {"decision": "reduced_sum", "reduced_sum_insured": 300_000,
                                                         "note": "Income does not support more cover."})

    assert handed_back(insurer, sale) == ("accept", 1, Decimal("737.10"))  # 300,000 / 1,000 × 2.457
    assert insurer.data(sale)["sum_insured"] == 300_000
    assert open_keys(insurer, sale) == ["accept_terms"]  # cheaper than quoted: still suitable
    assert sold(insurer, sale) == "waiting"
    [policy] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    assert (policy.sum_insured, policy.annual_premium) == (Decimal("300000.00"), Decimal("737.10"))
    assert_replays(insurer, sale)


def test_postponement_ends_the_sale_with_a_letter_and_is_no_decline(insurer: Insurer) -> None:
    sale = underwrite(insurer, application(chronic_disease=True))
    assert refused(insurer, sale, "manual_underwriting", "uw", {"decision": "postpone", "note": "Surgery."}) == {
        "postpone_months": "is required"}

    insurer.complete(sale, "manual_underwriting", "uw",
                     {"decision": "postpone", "postpone_months": 6, "note": "Surgery next month; apply after it."})

    assert insurer.status(sale) == "completed"
    assert outcome(insurer, sale) == ["postpone"]
    assert sent(insurer) == [("application_postponed", "letter", {"product_code": "MED01", "postpone_months": 6})]
    later = underwrite(insurer)
    assert result_of(insurer, later, "svc_anti_fraud_lookup")["prior_declines"] == 0
    assert_replays(insurer, sale)
