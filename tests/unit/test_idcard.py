"""Resident ID numbers (GB 11643-1999), mainland mobile numbers and the ISO 7064 MOD 11-2 check character."""

from __future__ import annotations

from datetime import date
from itertools import product

import pytest

from tasks.idcard import check_digit, iso7064_mod11_2, parse_id_number, valid_phone

TODAY = date(2026, 11, 2)


def with_check(first17: str) -> str:
    """A full ID number whose check digit is right, so a test isolates one other defect."""
    return first17 + check_digit(first17)


# --- check digit --------------------------------------------------------------------------------

@pytest.mark.parametrize(("first17", "expected"), [
    ("11010519491231002", "X"),
    ("44052418800101001", "4"),
    ("11010119900307387", "X"),
    ("32010619900101001", "6"),  # weighted sum 149, 149 mod 11 = 6
    ("11010120000101001", "0"),  # weighted sum 45, 45 mod 11 = 1
])
def test_check_digit_of_known_vectors(first17: str, expected: str) -> None:
    assert check_digit(first17) == expected


def test_check_digit_covers_every_remainder_of_the_mapping() -> None:
    # Vary the last body digit (weight 2) and the one before (weight 4) to reach all 11 remainders.
    seen = {check_digit(f"110105194912310{a}{b}") for a, b in product("0123456789", repeat=2)}
    assert seen == set("10X98765432")


@pytest.mark.parametrize("bad", ["1101051949123100", "110105194912310021", "1101051949123100A",
                                 "１１０１０５１９４９１２３１００２"])
def test_check_digit_refuses_anything_but_17_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        check_digit(bad)


def test_the_gb_11643_weights_are_the_iso_7064_mod_11_2_weights() -> None:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643-1999, table 1
    assert tuple(pow(2, 17 - i, 11) for i in range(17)) == weights
    for first17 in ("11010519491231002", "44052418800101001", "00000000000000000", "99999999999999999"):
        assert iso7064_mod11_2(first17) == check_digit(first17)


def test_iso_7064_mod_11_2_catches_every_single_digit_error_and_neighbour_swap() -> None:
    digits = "2600012345"
    check = iso7064_mod11_2(digits)
    for i, replacement in product(range(len(digits)), "0123456789"):
        if replacement != digits[i]:
            assert iso7064_mod11_2(digits[:i] + replacement + digits[i + 1:]) != check
    for i in range(len(digits) - 1):
        if digits[i] != digits[i + 1]:
            assert iso7064_mod11_2(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]) != check


def test_iso_7064_mod_11_2_refuses_an_empty_or_non_digit_string() -> None:
    for bad in ("", "12a4", "-1"):
        with pytest.raises(ValueError):
            iso7064_mod11_2(bad)


# --- valid ID numbers ---------------------------------------------------------------------------

def test_a_valid_id_number_decodes_region_birth_date_gender_and_age() -> None:
    check = parse_id_number("11010519491231002X", TODAY)
    assert check.valid is True
    assert check.reasons == []
    assert check.region_code == "110105"
    assert check.birth_date == date(1949, 12, 31)
    assert check.gender == "F"  # 17th digit 2 is even
    assert check.age == 76


def test_an_odd_17th_digit_is_male() -> None:
    check = parse_id_number("440524188001010014", TODAY)
    assert check.valid is True
    assert check.gender == "M"
    assert check.birth_date == date(1880, 1, 1)
    assert check.age == 146


def test_a_lower_case_x_and_surrounding_spaces_are_accepted() -> None:
    check = parse_id_number(" 11010519491231002x ", TODAY)
    assert check.valid is True
    assert check.birth_date == date(1949, 12, 31)


def test_age_turns_on_the_birthday_itself() -> None:
    number = with_check("11010519901102001")  # born 1990-11-02
    assert parse_id_number(number, date(2026, 11, 1)).age == 35
    assert parse_id_number(number, date(2026, 11, 2)).age == 36


def test_a_birth_date_of_today_is_valid_with_age_zero() -> None:
    check = parse_id_number(with_check("11010520261102001"), TODAY)
    assert check.valid is True
    assert check.age == 0


def test_29_february_is_a_birth_date_in_a_leap_year() -> None:
    check = parse_id_number(with_check("11010520000229001"), TODAY)
    assert check.valid is True
    assert check.birth_date == date(2000, 2, 29)


# --- invalid ID numbers -------------------------------------------------------------------------

def test_a_wrong_check_digit_is_named_and_the_fields_are_still_decoded() -> None:
    check = parse_id_number("110105194912310021", TODAY)
    assert check.valid is False
    assert check.reasons == ["check_digit"]
    assert check.birth_date == date(1949, 12, 31)


@pytest.mark.parametrize("number", ["11010519491231002", "1101051949123100201", ""])
def test_a_number_that_is_not_18_characters_long_is_invalid_for_its_length(number: str) -> None:
    check = parse_id_number(number, TODAY)
    assert check.valid is False
    assert check.reasons == ["length"]
    assert check.birth_date is None and check.gender is None and check.age is None


@pytest.mark.parametrize("number", ["1101A519491231002X", "11010519491231002Y", "X10105194912310021",
                                    "１１０１０５１９４９１２３１００２X"])
def test_letters_other_than_a_final_x_are_invalid_characters(number: str) -> None:
    check = parse_id_number(number, TODAY)
    assert check.valid is False
    assert check.reasons == ["characters"]


def test_a_wrong_length_and_a_letter_are_both_reported() -> None:
    check = parse_id_number("1101A519491231002", TODAY)
    assert set(check.reasons) == {"characters", "length"}


@pytest.mark.parametrize("first17", ["11010519490230002", "11010519491301002", "11010519490100002",
                                     "11010519010229002"])
def test_an_impossible_birth_date_is_invalid(first17: str) -> None:
    check = parse_id_number(with_check(first17), TODAY)
    assert check.valid is False
    assert check.reasons == ["birth_date"]
    assert check.birth_date is None and check.age is None


def test_a_birth_date_after_today_is_invalid() -> None:
    check = parse_id_number(with_check("11010520261103001"), TODAY)
    assert check.valid is False
    assert check.reasons == ["future_birth_date"]
    assert check.birth_date == date(2026, 11, 3)
    assert check.age is None


def test_every_failed_reason_is_reported_together() -> None:
    first17 = "11010519490230002"  # 30 February
    wrong = "0" if check_digit(first17) != "0" else "1"
    check = parse_id_number(first17 + wrong, TODAY)
    assert check.valid is False
    assert set(check.reasons) == {"check_digit", "birth_date"}


# --- mobile numbers -----------------------------------------------------------------------------

@pytest.mark.parametrize("phone", ["13812345678", "19912345678", "15000000000", "+8613812345678", "8613812345678",
                                   "138 1234 5678", "138-1234-5678", "+86 138-1234-5678"])
def test_mainland_mobile_numbers_are_valid(phone: str) -> None:
    assert valid_phone(phone) is True


@pytest.mark.parametrize("phone", ["12812345678", "10812345678", "1381234567", "138123456789", "23812345678",
                                   "+8513812345678", "+86 1381234567", "1381234567a", "010-12345678", "",
                                   "１３８１２３４５６７８", "138_1234_5678"])
def test_other_numbers_are_not_mobile_numbers(phone: str) -> None:
    assert valid_phone(phone) is False


def test_a_phone_that_is_not_a_string_is_not_valid() -> None:
    assert valid_phone(13812345678) is False  # type: ignore[arg-type]
