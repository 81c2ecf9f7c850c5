"""Staff lockout, the two-colleague unlock, break-glass and password expiry."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.errors import Conflict, NotAllowed
from portal.models import AuditEvent, UnlockApproval, UnlockRequest, User
from portal.services import unlock
from tests.factories import PASSWORD

GENERIC = "Wrong mobile number, email or password."


def attempt(client, user, password):
    return client.post("/login", data={"login": user.phone, "password": password})


def lock(client, user):
    for n in range(2):
        attempt(client, user, f"wrong password {n}!")


def test_two_failures_lock_a_staff_account_and_the_right_password_then_fails_too(f, client, db):
    store = f.store()
    adv = f.advisor(store)
    lock(client, adv)
    db.session.refresh(adv)
    assert adv.locked_at is not None and adv.failed_logins == 2
    r = attempt(client, adv, PASSWORD)
    assert r.status_code == 200 and GENERIC in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(UnlockRequest.id))) == 1
    assert "account_locked" in db.session.scalars(select(AuditEvent.action)).all()


def test_one_failure_then_success_resets_the_counter(f, client, db):
    adv = f.advisor(f.store())
    attempt(client, adv, "wrong password!")
    assert attempt(client, adv, PASSWORD).status_code == 303
    db.session.refresh(adv)
    assert adv.failed_logins == 0 and adv.locked_at is None


def test_lockout_threshold_is_configurable(f, make_app, db):
    adv = f.advisor(f.store())
    client = make_app(STAFF_MAX_FAILED_LOGINS=4).test_client()
    for n in range(3):
        attempt(client, adv, f"wrong password {n}!")
    db.session.refresh(adv)
    assert adv.locked_at is None
    attempt(client, adv, "wrong password 3!")
    db.session.refresh(adv)
    assert adv.locked_at is not None


def test_ten_concurrent_wrong_guesses_count_exactly_ten(f, app, db):
    adv = f.advisor(f.store())
    barrier = threading.Barrier(10)
    codes: list[int] = []
    login = adv.phone
    db.session.commit()  # the threads' requests must not wait for the test's transaction

    def guess(n: int):
        client = app.test_client()
        barrier.wait()
        r = client.post("/login", data={"login": login, "password": f"wrong password {n}!"})
        codes.append(r.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.commit()
    db.session.refresh(adv)
    assert codes == [200] * 10
    assert adv.failed_logins == 10
    assert adv.locked_at is not None
    assert db.session.scalar(select(func.count(UnlockRequest.id))) == 1


def _locked_setup(f, client, db, colleagues=3):
    store = f.store()
    locked = f.advisor(store)
    others = [f.advisor(store) for _ in range(colleagues)]
    lock(client, locked)
    req = db.session.scalar(select(UnlockRequest).where(UnlockRequest.user_id == locked.id))
    return store, locked, others, req


def test_two_colleagues_unlock_and_a_password_change_is_forced(f, app, db):
    client = app.test_client()
    store, locked, (a, b, _c), req = _locked_setup(f, client, db)
    assert unlock.approve(a, req) is False
    db.session.commit()
    assert unlock.approve(b, req) is True
    db.session.commit()
    db.session.refresh(locked)
    assert locked.locked_at is None and locked.failed_logins == 0 and locked.must_change_password
    r = attempt(client, locked, PASSWORD)
    assert r.status_code == 303
    r = client.get("/admin/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/password/change")
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("unlock_approved") == 2 and "account_unlocked" in actions


def test_the_same_colleague_cannot_approve_twice(f, client, db):
    _store, _locked, (a, *_), req = _locked_setup(f, client, db)
    unlock.approve(a, req)
    db.session.commit()
    with pytest.raises(Conflict):
        unlock.approve(a, req)


def test_the_locked_user_and_other_stores_cannot_approve(f, client, db):
    _store, locked, _others, req = _locked_setup(f, client, db)
    stranger = f.advisor(f.store())
    owner = f.owner()
    for who in (locked, stranger, owner):
        with pytest.raises(NotAllowed):
            unlock.approve(who, req)


def test_inactive_colleagues_cannot_approve(f, client, db):
    _store, _locked, (a, *_), req = _locked_setup(f, client, db)
    a.is_active = False
    db.session.commit()
    with pytest.raises(NotAllowed):
        unlock.approve(a, req)


def test_approvals_older_than_24_hours_do_not_count(f, client, db, clock):
    _store, locked, (a, b, _c), req = _locked_setup(f, client, db)
    unlock.approve(a, req)
    db.session.commit()
    clock.advance(hours=25)
    assert unlock.approve(b, req) is False
    db.session.commit()
    db.session.refresh(locked)
    assert locked.locked_at is not None


def test_concurrent_approvals_unlock_exactly_once(f, app, db):
    client = app.test_client()
    _store, locked, colleagues, req = _locked_setup(f, client, db, colleagues=6)
    ids, req_id = [c.id for c in colleagues], req.id
    db.session.commit()
    barrier = threading.Barrier(len(colleagues))
    results: list[object] = []

    def approve(colleague_id: int):
        with app.test_request_context(method="POST"):
            from portal.extensions import db as tdb

            barrier.wait()
            me = tdb.session.get(User, colleague_id)
            r = tdb.session.get(UnlockRequest, req_id)
            try:
                results.append(unlock.approve(me, r))
                tdb.session.commit()
            except Conflict as exc:
                tdb.session.rollback()
                results.append(exc)
            finally:
                tdb.session.remove()

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.commit()
    assert results.count(True) == 1
    unlocked = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "account_unlocked")
    ).all()
    assert len(unlocked) == 1
    db.session.refresh(locked)
    assert locked.locked_at is None


def test_break_glass_only_for_stores_with_too_few_staff(f, client, db):
    admin = f.admin()
    _store, locked, _others, req = _locked_setup(f, client, db, colleagues=2)
    with pytest.raises(NotAllowed):
        unlock.break_glass(admin, req, "store closed today")
    small_store, small_locked, _o, small_req = _locked_setup(f, client, db, colleagues=1)
    with pytest.raises(NotAllowed):
        unlock.break_glass(f.manager(f.store()), small_req, "not an admin")
    unlock.break_glass(admin, small_req, "only one colleague on duty")
    db.session.commit()
    db.session.refresh(small_locked)
    assert small_locked.locked_at is None and small_locked.must_change_password
    assert (
        db.session.scalar(
            select(AuditEvent.detail).where(AuditEvent.action == "unlock_break_glass")
        )["reason"]
        == "only one colleague on duty"
    )


def test_unlock_view_approves_through_the_back_office(f, app, db):
    client = app.test_client()
    _store, locked, (a, b, _c), req = _locked_setup(f, client, db)
    for colleague in (a, b):
        c = app.test_client()
        attempt(c, colleague, PASSWORD)
        page = c.get("/admin/unlocks/").get_data(as_text=True)
        assert f"unlock-{req.id}" in page
        assert c.post(f"/admin/unlocks/{req.id}/approve").status_code == 303
    assert db.session.scalar(select(func.count(UnlockApproval.id))) == 2
    db.session.refresh(locked)
    assert locked.locked_at is None


def test_staff_password_expiry_allows_only_change_and_logout(f, app, db, clock):
    adv = f.advisor(f.store())
    client = app.test_client()
    attempt(client, adv, PASSWORD)
    assert client.get("/admin/").status_code == 200
    clock.advance(days=91)
    assert "/login" in client.get("/admin/").headers["Location"]  # the session ended at 12 h
    attempt(client, adv, PASSWORD)
    r = client.get("/admin/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/password/change")
    assert client.get("/password/change").status_code == 200
    r = client.post(
        "/password/change",
        data={"current_password": PASSWORD, "new_password": PASSWORD, "confirm": PASSWORD},
    )
    assert "used this password recently" in r.get_data(as_text=True)
    new = "fresh quarterly passphrase"
    r = client.post(
        "/password/change", data={"current_password": PASSWORD, "new_password": new, "confirm": new}
    )
    assert r.status_code == 303
    assert client.get("/admin/").status_code == 200


def test_password_expiry_can_be_switched_off(f, make_app, db, clock):
    adv = f.advisor(f.store())
    client = make_app(STAFF_PASSWORD_MAX_AGE_DAYS=0).test_client()
    attempt(client, adv, PASSWORD)
    clock.advance(days=400)
    assert "/login" in client.get("/admin/").headers["Location"]  # the session ended at 12 h
    attempt(client, adv, PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_deactivated_staff_session_stops_working(f, app, db):
    store = f.store()
    mgr, adv = f.manager(store), f.advisor(store)
    c = app.test_client()
    attempt(c, adv, PASSWORD)
    assert c.get("/admin/").status_code == 200
    from portal.services import accounts

    accounts.set_staff_active(mgr, adv, False)
    db.session.commit()
    r = c.get("/admin/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
