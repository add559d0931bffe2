"""The remaining cover a payable amount may not pass: the form checker behind `x-within-cover`."""

from __future__ import annotations

from decimal import Decimal

from tasks.cover import cover_problems, remaining_cover
from tests.domain.test_claims_handlers import add_customer, add_policy, file_claim

FORM = {"properties": {"payable_amount": {"type": "number", "x-within-cover": True}, "note": {"type": "string"}}}


def test_an_amount_above_the_remaining_sum_insured_of_the_cases_claim_is_a_field_error(domain) -> None:
    with domain.session_factory() as session:
        customer = add_customer(session, domain.services.cipher)
        policy = add_policy(session, customer, sum_insured="100000", remaining="6000")
        id_number = domain.services.cipher.decrypt(customer.id_number_enc)
        file_claim(domain, session, policy, id_number, instance_id=31)

        assert remaining_cover(session, 31) == Decimal("6000.00")
        assert cover_problems(session, 31, FORM, {"payable_amount": 6000}) == {}
        problems = cover_problems(session, 31, FORM, {"payable_amount": 6000.01})
        assert problems["payable_amount"].as_code() == {"kind": "above_remaining_cover",
                                                        "params": {"remaining": "6000.00"}}
        assert {path: str(problem) for path, problem in problems.items()} == {
            "payable_amount": "is more than the remaining sum insured of 6000.00 CNY: at most 6000.00 can be paid"}


def test_fields_not_marked_cases_without_a_claim_and_values_that_are_not_numbers_are_left_alone(domain) -> None:
    with domain.session_factory() as session:
        customer = add_customer(session, domain.services.cipher)
        policy = add_policy(session, customer, sum_insured="100000", remaining="10")
        file_claim(domain, session, policy, domain.services.cipher.decrypt(customer.id_number_enc), instance_id=32)

        assert cover_problems(session, 32, {"properties": {"payable_amount": {"type": "number"}}},
                              {"payable_amount": 99}) == {}
        assert cover_problems(session, 33, FORM, {"payable_amount": 99}) == {}  # the case opened no claim
        for value in ("99", True, None, float("nan")):
            assert cover_problems(session, 32, FORM, {"payable_amount": value}) == {}
