"""Chinese resident ID numbers (GB 11643-1999), mainland mobile numbers, and the ISO 7064 MOD 11-2
check character both the ID number and InsureFlow's policy numbers use. Pure functions, no database.

The arithmetic is python-stdnum's (`stdnum.cn.ric`, `stdnum.iso7064.mod_11_2`). Its full `ric.validate` is
not used: it refuses a region code that did not yet exist in the holder's birth year, but a number is issued
where the holder is registered when the card is made, often decades after birth, so real numbers would be
refused. The region code is decoded, not judged."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from stdnum.cn import ric
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_11_2

from .common import age_on

_DIGITS = re.compile(r"[0-9]+")
_ID_CHARACTERS = re.compile(r"[0-9]*X?")  # digits; X only as the check character
# Mainland mobile numbers: 11 digits, 13x–19x, optionally with the country code.
_MOBILE = re.compile(r"(?:\+?86)?1[3-9][0-9]{9}")
_PHONE_SEPARATORS = re.compile(r"[\s-]")


@dataclass(frozen=True)
class IdCheck:
    """What an ID number says, and every reason it is not valid (empty when valid)."""

    valid: bool
    reasons: list[str] = field(default_factory=list)
    birth_date: date | None = None
    gender: str | None = None  # "M" / "F"
    age: int | None = None
    region_code: str | None = None


def iso7064_mod11_2(digits: str) -> str:
    """The ISO 7064 MOD 11-2 check character ('0'–'9' or 'X') of a string of ASCII digits."""
    if not digits or not _DIGITS.fullmatch(digits):
        raise ValueError("the check character is computed over ASCII digits only")
    return mod_11_2.calc_check_digit(digits)


def check_digit(first17: str) -> str:
    """The 18th character of a resident ID number from its first 17 digits."""
    if len(first17) != 17 or not _DIGITS.fullmatch(first17):
        raise ValueError("a resident ID check digit needs exactly 17 ASCII digits")
    return ric.calc_check_digit(first17 + "0")  # stdnum takes the number with a check place


def _birth_date(value: str) -> date | None:
    try:
        return ric.get_birth_date(value)
    except ValidationError:
        return None


def parse_id_number(value: str, today: date) -> IdCheck:
    """Check an 18-character resident ID number and decode its region, birth date and gender."""
    number = "".join(value.split()).upper()  # spaces as typed; a lower-case x is the same check character
    reasons: list[str] = []
    if not _ID_CHARACTERS.fullmatch(number):
        reasons.append("characters")
    if len(number) != 18:
        reasons.append("length")
    if reasons:
        # Without the 18-character shape the positions of the fields are unknown.
        return IdCheck(valid=False, reasons=reasons)
    body, last = number[:17], number[17]
    if check_digit(body) != last:
        reasons.append("check_digit")
    born = _birth_date(number)
    if born is None:
        reasons.append("birth_date")
    elif born > today:
        reasons.append("future_birth_date")
    return IdCheck(
        valid=not reasons,
        reasons=reasons,
        birth_date=born,
        gender="M" if int(number[16]) % 2 else "F",
        age=age_on(born, today) if born is not None and born <= today else None,
        region_code=number[:6],
    )


def valid_phone(value: str) -> bool:
    """Whether `value` is a mainland mobile number (spaces, hyphens and a +86 / 86 prefix allowed)."""
    if not isinstance(value, str):
        return False
    return _MOBILE.fullmatch(_PHONE_SEPARATORS.sub("", value)) is not None
