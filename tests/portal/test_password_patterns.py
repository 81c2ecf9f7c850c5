"""The passwords most used in China are refused: the shipped top list and the rules behind it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.errors import ValidationError
from portal.models import User
from portal.services import passwords
from portal.services.password_patterns import is_predictable, top_list
from tests.portal.test_auth import register

# From the top lists of the CSDN, Tianya, Dodonew and 7k7k leaks, and the patterns behind them.
CHINESE_FAVOURITES = [
    "woaini1314",  # 我爱你一生一世
    "woaini520",
    "5201314",
    "13145201314",  # love numbers strung together
    "88888888",  # repeated digits
    "66666666",
    "a123456",  # one letter and a digit run
    "qq123456",
    "a5201314",
    "iloveyou",
    "zhang123",  # surname + short number
    "wang0923",
    "chen520",
    "19900101",  # birthdays
    "zhang19900101",
    "li900101",
    "23456789",  # digit runs either way
    "98765432",
    "147258369",  # the keypad walk
    "1qaz2wsx",  # keyboard walks
    "zxcvbnm123",
    "12121212",  # a short unit again and again
    "abcabcabc",
    "111222tianya",
    "dearbook",
    "7758521",
]
UNPREDICTABLE = [
    "correct horse battery staple",
    "m4s-demo-owner",
    "lychee-tram-harbour-42",
    "wangfang8632z",
    "qingdao2738xz",
    "47382916",
    "xq7#kd9mP2",
]


@pytest.mark.parametrize("pw", CHINESE_FAVOURITES)
def test_chinese_favourites_are_predictable(pw):
    assert is_predictable(pw)
    assert is_predictable(pw.upper())


@pytest.mark.parametrize("pw", UNPREDICTABLE)
def test_real_secrets_are_not(pw):
    assert not is_predictable(pw)


@pytest.mark.parametrize("pw", [p for p in CHINESE_FAVOURITES if len(p) >= passwords.MIN_LENGTH])
def test_policy_refuses_chinese_favourites(pw):
    with pytest.raises(ValidationError):
        passwords.check_policy(pw)


def test_the_shipped_list_is_read_without_its_comments():
    names = top_list()
    assert {"woaini1314", "5201314", "dearbook"} <= names
    assert not any(n.startswith("#") or n != n.strip().lower() for n in names)


def test_impossible_dates_are_not_dates():
    # 1990-13-45 is no birthday; as a plain number with letters it is not refused for being one.
    assert not is_predictable("xkcd19901345")


@pytest.mark.parametrize("pw", ["woaini1314", "zhang19900101"])
def test_registration_refuses_them_in_chinese(f, client, db, pw):
    store = f.store()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    r = register(client, store, password=pw, confirm=pw)
    assert r.status_code == 200
    assert "woaini1314 这类常见组合" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 0
