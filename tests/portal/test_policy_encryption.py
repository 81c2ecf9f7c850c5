"""Insurance policies encrypted at rest: number and premium as tokens, found by a keyed hash."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from portal import data_keys
from portal.app import create_app
from portal.extensions import db as _db
from portal.models import InsurancePolicy
from portal.models.finance import policy_number_hash
from portal.services import finance
from tests.conftest import TEST_DATA_KEY, TEST_LOOKUP_KEY


def _policy(advisor, owner, number="PDAA2026000123", insurer="中国人保财险", premium=512_300):
    policy = finance.record_policy(
        advisor,
        customer=owner,
        vehicle=None,
        insurer=insurer,
        policy_number=number,
        coverage="combined",
        premium_fen=premium,
        starts_on=date(2026, 3, 1),
        ends_on=date(2027, 3, 1),
    )
    _db.session.commit()
    return policy


def _raw(row_id: int) -> tuple:
    sql = (
        "SELECT policy_number, premium_fen, policy_number_hash FROM insurance_policies "
        "WHERE id = :id"
    )
    return tuple(_db.session.execute(text(sql), {"id": row_id}).one())


def test_the_number_and_premium_are_tokens_and_the_hash_is_keyed(f, db):
    store = f.store()
    policy = _policy(f.advisor(store), f.owner(store))
    number, premium, digest = _raw(policy.id)
    assert number.startswith("gAAAAA") and premium.startswith("gAAAAA")
    assert "PDAA" not in number and "5123" not in premium
    assert digest == data_keys.lookup_hash("PDAA2026000123", TEST_LOOKUP_KEY)
    assert digest != data_keys.lookup_hash("PDAA2026000123", "another-key-" + "x" * 30)
    db.session.expire_all()
    again = db.session.get(InsurancePolicy, policy.id)
    assert (again.policy_number, again.premium_fen) == ("PDAA2026000123", 512_300)


def test_a_number_stays_unique_per_insurer_through_its_hash(f, db):
    store = f.store()
    advisor, owner = f.advisor(store), f.owner(store)
    _policy(advisor, owner)
    _policy(advisor, owner, insurer="平安产险")  # the same number at another insurer is fine
    with pytest.raises(finance.ValidationError, match="already has a policy"):
        _policy(advisor, owner, number=" pdaa2026000123 ")  # as typed: trimmed, upper case
    db.session.rollback()
    with pytest.raises(finance.ValidationError, match="Give the premium"):
        _policy(advisor, owner, number="PDAA1", premium=-1)  # the check lives in the service
    db.session.rollback()
    assert db.session.scalar(select(text("count(*)")).select_from(InsurancePolicy)) == 2


def test_staff_find_a_policy_by_its_exact_number(f, db, client, auth):
    store = f.store()
    advisor, owner = f.advisor(store), f.owner(store)
    _policy(advisor, owner)
    _policy(advisor, owner, number="PDAA2026000999")
    auth.login(advisor)
    flt = _filter_index(client)
    found = client.get(f"/admin/policies/?flt0_{flt}=pdaa2026000999").get_data(as_text=True)
    assert "PDAA2026000999" in found and "PDAA2026000123" not in found
    none = client.get(f"/admin/policies/?flt0_{flt}=PDAA2026").get_data(as_text=True)
    assert "PDAA2026000999" not in none and "PDAA2026000123" not in none  # exact, not a prefix
    assert client.get("/admin/policies/?sort=4").status_code == 200  # no sort by a token


def _filter_index(client) -> int:
    """Return the list filter's index of "Policy number is" (as the filter menu posts it)."""
    page = client.get("/admin/policies/").get_data(as_text=True)
    groups = json.loads(re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', page).group(1))
    return next(option["index"] for option in groups["Policy number"])


def test_production_needs_a_lookup_key(monkeypatch, tmp_path):
    monkeypatch.setenv("M4S_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("M4S_LOOKUP_KEY", raising=False)
    base = {"ENV": "production", "SECRET_KEY": "s" * 40, "DATA_KEYS": TEST_DATA_KEY}
    with pytest.raises(RuntimeError, match="M4S_LOOKUP_KEY is not set"):
        create_app(base)
    with pytest.raises(RuntimeError, match="M4S_LOOKUP_KEY is too short"):
        create_app({**base, "LOOKUP_KEY": "short"})
    assert create_app({**base, "LOOKUP_KEY": "k" * 32}).config["LOOKUP_KEY"] == "k" * 32
    dev = create_app({"ENV": "development", "SECRET_KEY": "s" * 40})
    assert dev.config["LOOKUP_KEY"] == data_keys.derived_dev_lookup_key("s" * 40)


def test_the_migration_encrypts_plaintext_policies_and_the_downgrade_restores_them(
    f, empty_database_app
):
    fresh = empty_database_app("pol")
    with fresh.app_context():
        upgrade()
        store = f.store()
        policy_id = _policy(f.advisor(store), f.owner(store), number="PDAA2026777").id
        _db.session.remove()
        downgrade(revision="0051_api_mileage")  # back to plaintext columns
        plain = _db.session.execute(
            text("SELECT policy_number, premium_fen FROM insurance_policies WHERE id = :id"),
            {"id": policy_id},
        ).one()
        assert tuple(plain) == ("PDAA2026777", 512_300)
        _db.session.remove()
        upgrade()  # the plaintext rows of a database from before this release
        number, premium, digest = _raw(policy_id)
        assert data_keys.decrypt(number, "t") == "PDAA2026777"
        assert data_keys.decrypt(premium, "t") == "512300"
        assert digest == policy_number_hash("PDAA2026777")
        _db.session.remove()
        downgrade(revision="base")
        _db.engine.dispose()
