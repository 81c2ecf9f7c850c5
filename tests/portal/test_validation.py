"""VIN and plate validation: examples and properties (hypothesis)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.validation import (
    PROVINCES,
    VIN_ALPHABET,
    InvalidIdentifier,
    normalize_plate,
    normalize_vin,
    vin_check_digit,
)

vin_body = st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17)


def with_check_digit(vin: str) -> str:
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def test_known_vin_check_digit():
    # The classic example from the North American standard (49 CFR 565).
    assert normalize_vin("1M8GDM9AXKP042788") == "1M8GDM9AXKP042788"
    assert vin_check_digit("1M8GDM9A_KP042788".replace("_", "0")) == "X"


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("1M8GDM9AXKP04278", "exactly 17"),
        ("1M8GDM9AXKP0427888", "exactly 17"),
        ("1M8GDM9AXKPO42788", "I, O or Q"),
        ("1M8GDM9A1KP042788", "check digit"),
        ("1M8GDM9AXKP04278*", "only digits"),
    ],
)
def test_bad_vins_say_why(raw, reason):
    with pytest.raises(InvalidIdentifier, match=reason):
        normalize_vin(raw)


@given(vin_body)
def test_vin_with_computed_check_digit_is_accepted(body):
    vin = with_check_digit(body)
    assert normalize_vin(vin.lower()) == vin


@given(vin_body, st.sampled_from("0123456789X"))
def test_vin_with_wrong_check_digit_is_refused(body, digit):
    vin = body[:8] + digit + body[9:]
    if vin_check_digit(vin) == digit:
        assert normalize_vin(vin) == vin
    else:
        with pytest.raises(InvalidIdentifier):
            normalize_vin(vin)


def test_letter_in_position_nine_is_refused():
    # GB 16735: position 9 is a check digit for every vehicle sold in China, never a letter.
    with pytest.raises(InvalidIdentifier, match="9th character is a check digit"):
        normalize_vin("1M8GDM9AAKP042788")


@given(vin_body, st.sampled_from("ABCDEFGHJKLMNPRSTUVWYZ"))
def test_any_letter_but_x_in_position_nine_is_refused(body, letter):
    with pytest.raises(InvalidIdentifier, match="9th character"):
        normalize_vin(body[:8] + letter + body[9:])


@given(vin_body, st.sampled_from("IOQ"), st.integers(min_value=0, max_value=16))
def test_vin_never_contains_i_o_q(body, letter, pos):
    vin = body[:pos] + letter + body[pos + 1 :]
    with pytest.raises(InvalidIdentifier):
        normalize_vin(vin)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("粤B12345", "粤B12345"),
        ("京a·k1234", "京AK1234"),
        ("粤BD12345", "粤BD12345"),
        ("沪AFA1234", "沪AFA1234"),
        ("苏E12345D", "苏E12345D"),
    ],
)
def test_good_plates(raw, expected):
    assert normalize_plate(raw) == expected


@pytest.mark.parametrize(
    "raw", ["B12345", "粤I12345", "粤B1234", "粤B123456789", "粤BA12345", "X粤12345", "粤BO1234"]
)
def test_bad_plates(raw):
    with pytest.raises(InvalidIdentifier):
        normalize_plate(raw)


plate_letter = st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ")
plate_char = st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")


@given(st.sampled_from(PROVINCES), plate_letter, st.lists(plate_char, min_size=5, max_size=5))
def test_regular_plates_property(province, city, tail):
    plate = province + city + "".join(tail)
    assert normalize_plate(plate) == plate


@given(
    st.sampled_from(PROVINCES),
    plate_letter,
    st.sampled_from("DF"),
    plate_char,
    st.integers(min_value=0, max_value=9999),
)
def test_small_new_energy_plates_property(province, city, kind, second, number):
    plate = f"{province}{city}{kind}{second}{number:04d}"
    assert normalize_plate(plate) == plate


@given(st.text(max_size=12))
def test_plate_validation_never_crashes(raw):
    try:
        result = normalize_plate(raw)
    except InvalidIdentifier:
        return
    assert len(result) in (7, 8) and result[0] in PROVINCES
