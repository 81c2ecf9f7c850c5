"""Input bounds shared by every route: money typed in yuan, integer arguments, ids, NUL."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.inputs import MAX_ID, int_arg
from portal.money import MAX_FEN, MoneyError, parse_yuan


@pytest.mark.parametrize(
    ("raw", "fen"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("¥1,280.00", 128000),
        ("￥99.99", 9999),
        (" 0.01 ", 1),
        ("0", 0),
        ("１２．５", 1250),  # typed with a Chinese IME's full-width digits
        ("21474836.47", MAX_FEN),
    ],
)
def test_amounts_in_yuan_become_fen(raw, fen):
    assert parse_yuan(raw) == fen


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1e309",
        "1e3",
        "nan",
        "inf",
        "-1",
        "12.345",
        "1.2.3",
        "abc",
        "0x10",
        "21474836.48",
    ],
)
def test_anything_else_is_refused_with_a_reason(raw):
    with pytest.raises(MoneyError) as exc:
        parse_yuan(raw)
    assert str(exc.value)  # a message for the user


def test_a_third_decimal_is_named_as_the_reason():
    with pytest.raises(MoneyError, match="two decimals"):
        parse_yuan("12.345")


def test_zero_can_be_refused():
    with pytest.raises(MoneyError):
        parse_yuan("0.00", allow_zero=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5", 5),
        ("-5", None),
        ("", None),
        ("²", None),
        ("99999999999999999999", None),
        ("1.5", None),
    ],
)
def test_int_arguments_are_bounded(raw, expected):
    assert int_arg(raw) == expected


def test_ids_past_the_integer_range_are_404_not_500(client, auth, f):
    owner = f.owner(f.store())
    auth.login(owner)
    for raw in (str(MAX_ID + 1), "99999999999999999999"):
        assert client.get(f"/vehicles/{raw}").status_code == 404
    assert client.get(f"/vehicles/{MAX_ID}").status_code == 404  # in range, just missing


def test_nul_in_text_is_400_and_changes_nothing(client, f):
    from portal.models import User

    store = f.store()
    before = db.session.query(User).count()
    r = client.post(
        "/register",
        data={"name": "王\x00伟", "phone": "13800009999", "store": store.id, "password": "x"},
    )
    assert r.status_code == 400
    assert "NUL" in r.get_data(as_text=True)
    assert db.session.query(User).count() == before
