"""Login normalisation: every spelling of a mobile number finds one account and one limit."""

from __future__ import annotations

import pytest

from portal.services import accounts
from tests.factories import PASSWORD

SPELLINGS = [
    "13800000002",
    "138 0000 0002",
    "138-0000-0002",
    "(138)0000-0002",
    "+86 138 0000 0002",
    "+8613800000002",
    "0086 13800000002",
    "8613800000002",
    "１３８０００００００２",  # full-width digits
    " 138.0000.0002 ",
]


@pytest.mark.parametrize("raw", SPELLINGS)
def test_each_spelling_normalises_to_one_form(raw):
    assert accounts.normalize_phone(raw) == "13800000002"
    assert accounts.canonical_login(raw) == "13800000002"


def test_emails_normalise_too():
    assert accounts.canonical_login("  Li.Wei@Example.COM ") == "li.wei@example.com"
    assert accounts.canonical_login("ｌｉ@example.com") == "li@example.com"
    assert accounts.normalize_phone("1380000000") is None  # ten digits
    assert accounts.normalize_phone("+1 13800000002") is None


@pytest.mark.parametrize("raw", SPELLINGS)
def test_each_spelling_finds_the_account(f, app, db, raw):
    owner = f.owner(phone="13800000002")
    r = app.test_client().post("/login", data={"login": raw, "password": PASSWORD})
    assert r.status_code == 303
    assert accounts.find_by_login(raw).id == owner.id


def test_all_spellings_share_one_rate_limit(f, make_app, db):
    f.owner(phone="13800000002")
    app = make_app(
        RATELIMIT_ENABLED=True,
        OWNER_LOGIN_LIMIT_ACCOUNT="3 per minute",
        OWNER_LOGIN_LIMIT_IP="100 per minute",
    )
    codes = [
        app.test_client().post("/login", data={"login": raw, "password": "wrong!"}).status_code
        for raw in SPELLINGS[:5]
    ]
    assert codes == [200, 200, 200, 429, 429]
