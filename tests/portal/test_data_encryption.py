"""Sensitive personal information encrypted at rest: raw rows, keys, rotation, the migration."""

from __future__ import annotations

from datetime import date

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text

from portal import data_keys
from portal.app import create_app
from portal.cli_data_keys import encrypted_columns, rotate_all
from portal.data_keys import DataKeyError
from portal.extensions import db as _db
from portal.models import AuditEvent, Loan, Rescue
from tests.conftest import TEST_DATA_KEY, TEST_LOOKUP_KEY

LAT, LNG = 22.543219, 113.953171


def _loan(customer, principal_fen=12_345_600, rate_bp=435) -> Loan:
    loan = Loan(
        customer_id=customer.id,
        store_id=customer.store_id,
        lender="招商银行",
        principal_fen=principal_fen,
        annual_rate_bp=rate_bp,
        term_months=36,
        start_date=date(2026, 1, 15),
    )
    _db.session.add(loan)
    _db.session.commit()
    return loan


def _raw(table: str, columns: str, row_id: int) -> tuple:
    """Read the stored values with plain SQL, past the encrypting column types."""
    sql = f"SELECT {columns} FROM {table} WHERE id = :id"  # noqa: S608 (the test's constants)
    return tuple(_db.session.execute(text(sql), {"id": row_id}).one())


@pytest.fixture
def records(f):
    owner = f.owner(f.store())
    rescue = f.rescue(owner, latitude=LAT, longitude=LNG, address="", accuracy_m=12)
    return rescue.id, _loan(owner).id


def test_raw_rows_hold_ciphertext_and_the_models_read_the_exact_values(records, db):
    rescue_id, loan_id = records
    raw = _raw("rescues", "latitude, longitude", rescue_id) + _raw(
        "loans", "principal_fen, annual_rate_bp", loan_id
    )
    for value in raw:
        assert isinstance(value, str) and value.startswith("gAAAAA")  # a Fernet token
        assert not any(plain in value for plain in ("22.54", "113.95", "123456", "435"))
    assert len(set(raw)) == 4  # a random IV each: equal values never look equal
    db.session.expire_all()
    rescue, loan = db.session.get(Rescue, rescue_id), db.session.get(Loan, loan_id)
    assert (rescue.latitude, rescue.longitude) == (LAT, LNG)
    assert (loan.principal_fen, loan.annual_rate_bp, loan.rate_percent) == (
        12_345_600,
        435,
        "4.35%",
    )


def test_the_owner_pages_still_show_the_decrypted_values(records, f, client, auth, db):
    rescue_id, loan_id = records
    owner = db.session.get(Rescue, rescue_id).owner
    auth.login(owner)
    page = client.get(f"/rescue/{rescue_id}").get_data(as_text=True)
    assert "22.54322, 113.95317" in page and "position=113.953171,22.543219" in page
    loan_page = client.get(f"/finance/loans/{loan_id}").get_data(as_text=True)
    assert "4.35%" in loan_page and "123,456.00" in loan_page


def test_encrypted_columns_are_found_on_the_metadata():
    assert dict(encrypted_columns()) == {
        "insurance_policies": ["policy_number", "premium_fen"],
        "loans": ["principal_fen", "annual_rate_bp"],
        "rescues": ["latitude", "longitude"],
        "webhook_endpoints": ["secret_sealed"],  # rotated with the others, not left behind
    }


def test_a_wrong_key_fails_clearly_naming_the_column(records, make_app, db):
    rescue_id, loan_id = records
    stranger = make_app(DATA_KEYS=data_keys.new_key())
    with stranger.app_context():
        with pytest.raises(DataKeyError, match=r"rescues\.latitude.*M4S_DATA_KEYS"):
            _db.session.get(Rescue, rescue_id)
        _db.session.rollback()
        with pytest.raises(DataKeyError, match=r"loans\.principal_fen"):
            _db.session.get(Loan, loan_id)
        _db.session.remove()


def test_production_needs_data_keys_and_development_derives_one(monkeypatch, tmp_path):
    monkeypatch.setenv("M4S_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("M4S_DATA_KEYS", raising=False)
    secret = "s" * 40
    with pytest.raises(RuntimeError, match="M4S_DATA_KEYS is not set"):
        create_app({"ENV": "production", "SECRET_KEY": secret})
    with pytest.raises(RuntimeError, match="key 2 is not a Fernet key"):
        create_app({"ENV": "production", "SECRET_KEY": secret, "DATA_KEYS": f"{TEST_DATA_KEY},x"})
    new = data_keys.new_key()
    both = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": secret,
            "DATA_KEYS": f" {new} ,{TEST_DATA_KEY}",
            "LOOKUP_KEY": TEST_LOOKUP_KEY,
        }
    )
    assert both.config["DATA_KEYS"] == (new, TEST_DATA_KEY)
    dev = create_app({"ENV": "development", "SECRET_KEY": secret})
    assert dev.config["DATA_KEYS"] == (data_keys.derived_dev_key(secret),)
    assert data_keys.derived_dev_key("t" * 40) != data_keys.derived_dev_key(secret)


def test_rotation_reencrypts_every_value_under_the_new_key_in_batches(records, f, make_app, db):
    rescue_id, loan_id = records
    _loan(f.owner(f.store()), principal_fen=1, rate_bp=0)
    f.rescue(f.owner(f.store()), address="沈海高速 K100")  # no coordinates: nothing to rotate
    before = _raw("rescues", "latitude", rescue_id) + _raw("loans", "principal_fen", loan_id)
    db.session.commit()
    new = data_keys.new_key()
    rotating = make_app(DATA_KEYS=f"{new},{TEST_DATA_KEY}")
    lines: list[str] = []
    with rotating.app_context():
        done = rotate_all(batch=1, echo=lines.append)
        again = rotate_all(batch=1, echo=lines.append)
        _db.session.remove()
    assert done["rescues"] == {"rows": 2, "values": 2, "rotated": 2, "changed_meanwhile": 0}
    assert done["loans"] == {"rows": 2, "values": 4, "rotated": 4, "changed_meanwhile": 0}
    assert again["loans"]["rotated"] == again["rescues"]["rotated"] == 0  # idempotent
    assert lines[:4] == [
        "loans: 1 rows read, 2 values re-encrypted",
        "loans: 2 rows read, 4 values re-encrypted",
        "rescues: 1 rows read, 2 values re-encrypted",
        "rescues: 2 rows read, 2 values re-encrypted",
    ]  # progress after each batch
    db.session.expire_all()
    after = _raw("rescues", "latitude", rescue_id) + _raw("loans", "principal_fen", loan_id)
    assert all(a != b for a, b in zip(after, before, strict=True))
    only_new = make_app(DATA_KEYS=new)
    with only_new.app_context():
        rescue, loan = _db.session.get(Rescue, rescue_id), _db.session.get(Loan, loan_id)
        assert (rescue.latitude, rescue.longitude, loan.annual_rate_bp) == (LAT, LNG, 435)
        _db.session.remove()
    with pytest.raises(DataKeyError):  # the old key alone no longer reads them
        db.session.get(Rescue, rescue_id)
    db.session.rollback()
    audits = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "data_keys_rotated").order_by(AuditEvent.id)
    ).all()
    assert [a.detail["tables"]["loans"]["rotated"] for a in audits] == [4, 0]


def _cli(application, *args):
    # The test's own app context would win over the runner's app: push this app's own.
    with application.app_context():
        result = application.test_cli_runner().invoke(args=["m4s", *args])
        _db.session.remove()
    return result


def test_the_rotation_command_reports_progress_and_refuses_unknown_keys(records, make_app):
    new = data_keys.new_key()
    result = _cli(make_app(DATA_KEYS=f"{new},{TEST_DATA_KEY}"), "rotate-data-keys", "--batch", "1")
    assert result.exit_code == 0, result.output
    assert "loans: 1 rows read, 2 values re-encrypted" in result.output
    assert "Done: 4 values re-encrypted under the current key." in result.output
    refused = _cli(make_app(DATA_KEYS=data_keys.new_key()), "rotate-data-keys")
    assert refused.exit_code == 1 and "cannot be decrypted with any key" in refused.output
    key = _cli(make_app(), "data-key").output.strip()
    assert data_keys.parse_keys(key) == (key,) and key != TEST_DATA_KEY


def test_migration_encrypts_plaintext_rows_and_the_downgrade_decrypts_them(f, empty_database_app):
    fresh = empty_database_app("enc")
    with fresh.app_context():
        upgrade()
        owner = f.owner(f.store())
        rescue_id = f.rescue(owner, latitude=LAT, longitude=LNG, address="").id
        typed_id = f.rescue(owner, address="京港澳高速 K2345").id
        loan_id = _loan(owner).id
        _db.session.remove()
        downgrade(revision="0022_admin_speed")  # back to plaintext columns
        assert _raw("rescues", "latitude, longitude", rescue_id) == (LAT, LNG)
        assert _raw("rescues", "latitude", typed_id) == (None,)
        assert _raw("loans", "principal_fen, annual_rate_bp", loan_id) == (12_345_600, 435)
        _db.session.remove()
        upgrade()  # the plaintext rows of a database from before this release
        lat, lng = _raw("rescues", "latitude, longitude", rescue_id)
        assert lat.startswith("gAAAAA") and data_keys.decrypt(lat, "t") == repr(LAT)
        assert data_keys.decrypt(lng, "t") == repr(LNG)
        assert _raw("rescues", "latitude", typed_id) == (None,)
        loan = _db.session.get(Loan, loan_id)
        assert (loan.principal_fen, loan.annual_rate_bp) == (12_345_600, 435)
        assert _db.session.scalar(select(func.count(Rescue.id))) == 2
        _db.session.remove()
        downgrade(revision="base")
        _db.engine.dispose()
