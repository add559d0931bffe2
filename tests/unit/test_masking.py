"""Masking personal data: in clear only for the holder of a step of the case whose role needs it
(engine/workflow/access.py decides who holds a step); identifiers keep their last 4 characters,
free text keeps nothing."""

from __future__ import annotations

import pytest

from webui.masking import mask, mask_value, sees_personal_data, shows_clear

CASE = {
    "claimant_name": "Li Hua",
    "claimant_id_number": "110105198503141016",
    "payee_account": "6222020200112233445",
    "phone": "13812345601",
    "health_declaration": "Type 2 diabetes since 2019",
    "shared_account": False,
    "claim": {"holder_phone": "13912345602", "amount": 68000},
    "history": [{"delta": {"bank_account": {"before": None, "after": "6222000011112222"}}}],
}


@pytest.mark.parametrize("role", ["agent", "compliance", "underwriter", "senior_underwriter", "claims_clerk", "siu",
                                  "finance"])
def test_roles_that_identify_contact_or_pay_the_customer_see_it_in_clear_while_they_hold_a_step(role: str) -> None:
    assert mask(CASE, shows_clear({role}, holder=True)) == CASE
    assert mask(CASE, shows_clear({role}, holder=False))["claimant_id_number"] == "••••1016"


@pytest.mark.parametrize("role", ["auditor", "adjuster", "surveyor", "claims_manager", "analyst", "admin"])
def test_other_roles_see_identifiers_masked_to_their_last_four_characters(role: str) -> None:
    masked = mask(CASE, shows_clear({role}, holder=True))
    assert masked["claimant_id_number"] == "••••1016" and masked["payee_account"] == "••••3445"
    assert masked["phone"] == "••••5601" and masked["claim"]["holder_phone"] == "••••5602"
    assert masked["history"][0]["delta"]["bank_account"] == {"before": None, "after": "••••2222"}


def test_free_text_health_declarations_are_masked_whole() -> None:
    assert mask(CASE, False)["health_declaration"] == "••••"


def test_what_is_not_personal_is_left_as_it_is() -> None:
    masked = mask(CASE, False)
    assert masked["claimant_name"] == "Li Hua" and masked["shared_account"] is False
    assert masked["claim"]["amount"] == 68000


def test_one_clear_role_among_several_is_enough() -> None:
    assert sees_personal_data({"auditor", "finance"}) and not sees_personal_data({"auditor", "adjuster"})


@pytest.mark.parametrize(("value", "shown"), [("1234", "••••"), ("", "••••"), ("12345", "••••2345")])
def test_a_value_of_four_characters_or_fewer_is_masked_whole(value: str, shown: str) -> None:
    assert mask_value(value) == shown
