"""Validators for vehicle identifiers: VIN (ISO 3779 / GB 16735) and Chinese licence plates."""

from __future__ import annotations

import re

VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q
_TRANSLIT = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # plate letters: no I, no O
_REGULAR = re.compile(rf"^[{PROVINCES}][{_L}][{_L}0-9]{{5}}$")
_NEV_SMALL = re.compile(rf"^[{PROVINCES}][{_L}][DF][{_L}0-9][0-9]{{4}}$")
_NEV_LARGE = re.compile(rf"^[{PROVINCES}][{_L}][0-9]{{5}}[DF]$")


def N_(message: str) -> str:
    """Mark a message for translation; the service layer translates it when shown."""
    return message


class InvalidIdentifier(ValueError):
    """The identifier is malformed; str() is a message for the user."""


def vin_check_digit(vin: str) -> str:
    """Return the check digit (0-9 or X) that position 9 of this 17-character VIN must hold."""
    total = sum(_TRANSLIT[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    rem = total % 11
    return "X" if rem == 10 else str(rem)


def normalize_vin(raw: str) -> str:
    """Return the VIN in canonical form, or raise InvalidIdentifier with a clear reason."""
    vin = re.sub(r"[\s-]", "", raw or "").upper()
    if len(vin) != 17:
        raise InvalidIdentifier(N_("A VIN has exactly 17 characters."))
    bad = sorted({c for c in vin if c not in VIN_ALPHABET})
    if bad:
        if set(bad) & set("IOQ"):
            raise InvalidIdentifier(N_("A VIN never contains the letters I, O or Q."))
        raise InvalidIdentifier(N_("A VIN contains only digits and capital letters."))
    ninth = vin[8]
    if not (ninth.isdigit() or ninth == "X"):
        # GB 16735 makes position 9 a check digit for every vehicle sold in China.
        raise InvalidIdentifier(N_("A VIN's 9th character is a check digit: 0-9 or X."))
    if vin_check_digit(vin) != ninth:
        raise InvalidIdentifier(N_("This VIN's check digit (9th character) does not match."))
    return vin


def normalize_plate(raw: str) -> str:
    """Return the plate in canonical form, or raise InvalidIdentifier with a clear reason."""
    plate = re.sub(r"[\s·•.\-]", "", raw or "").upper()
    if not plate or plate[0] not in PROVINCES:
        raise InvalidIdentifier(N_("A plate starts with a province character, such as 京 or 粤."))
    if len(plate) == 7 and _REGULAR.match(plate):
        return plate
    if len(plate) == 8 and (_NEV_SMALL.match(plate) or _NEV_LARGE.match(plate)):
        return plate
    if len(plate) not in (7, 8):
        raise InvalidIdentifier(
            N_("A plate has 7 characters (8 for new-energy vehicles), such as 粤B12345.")
        )
    raise InvalidIdentifier(N_("This is not a valid Chinese plate number."))
