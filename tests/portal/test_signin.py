"""Staff sign-in: device cookies, per-source lockout, repeats counted once, operator unlock."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from portal.models import AuditEvent, RecentLoginFailure, StaffDevice, UnlockRequest, User
from portal.services import signin, unlock
from tests.factories import PASSWORD

GENERIC = "Wrong mobile number, email or password."


def attempt(client, user, password):
    return client.post("/login", data={"login": user.phone, "password": password})


def known_browser(app, user):
    """Return a client that has signed the user in once (a known device), then logged out."""
    c = app.test_client()
    assert attempt(c, user, PASSWORD).status_code == 303
    assert c.get_cookie(signin.DEVICE_COOKIE) is not None
    c.post("/logout")
    return c


def lock_unknown(app, user, n=2):
    for i in range(n):
        attempt(app.test_client(), user, f"guess {i}")


def test_anonymous_guesses_lock_unknown_browsers_only(f, app, db):
    adv = f.advisor(f.store())
    mine = known_browser(app, adv)
    lock_unknown(app, adv)
    db.session.refresh(adv)
    assert adv.locked_at is not None and adv.failed_logins == 2
    stranger = app.test_client()
    r = attempt(stranger, adv, PASSWORD)
    assert r.status_code == 200 and GENERIC in r.get_data(as_text=True)
    assert attempt(mine, adv, PASSWORD).status_code == 303
    assert mine.get("/admin/").status_code == 200


def test_a_lockout_of_unknown_browsers_leaves_open_sessions_alone(f, app, db):
    adv = f.advisor(f.store())
    mine = app.test_client()
    attempt(mine, adv, PASSWORD)
    lock_unknown(app, adv)
    assert mine.get("/admin/").status_code == 200


def test_wrong_passwords_from_a_known_device_count_against_it_alone(f, app, db, clock):
    adv = f.advisor(f.store())
    mine = known_browser(app, adv)
    attempt(mine, adv, "typo one")
    attempt(mine, adv, "typo two")
    device = db.session.scalar(select(StaffDevice).where(StaffDevice.user_id == adv.id))
    db.session.refresh(adv)
    assert device.failed_logins == 2 and device.locked_until is not None
    assert adv.failed_logins == 0 and adv.locked_at is None
    assert GENERIC in attempt(mine, adv, PASSWORD).get_data(as_text=True)
    assert attempt(app.test_client(), adv, PASSWORD).status_code == 303  # another browser
    clock.advance(minutes=16)  # the device's lock runs out, as Entra's smart lockout's does
    assert attempt(mine, adv, PASSWORD).status_code == 303
    db.session.refresh(device)
    assert device.failed_logins == 0 and device.locked_until is None


def test_the_same_wrong_password_twice_counts_once(f, app, db, clock):
    adv = f.advisor(f.store())
    for _ in range(3):
        attempt(app.test_client(), adv, "Summer2026!")
    db.session.refresh(adv)
    assert adv.failed_logins == 1 and adv.locked_at is None
    macs = db.session.scalars(select(RecentLoginFailure.password_mac)).all()
    assert len(macs) == 1 and "Summer2026" not in macs[0] and len(macs[0]) == 64
    clock.advance(minutes=16)  # remembered for a short while only
    attempt(app.test_client(), adv, "Summer2026!")
    db.session.refresh(adv)
    assert adv.failed_logins == 2 and adv.locked_at is not None


def test_a_forged_or_revoked_device_cookie_is_an_unknown_browser(f, app, db):
    adv = f.advisor(f.store())
    mine = known_browser(app, adv)
    forged = app.test_client()
    value = mine.get_cookie(signin.DEVICE_COOKIE).value
    forged.set_cookie(signin.DEVICE_COOKIE, value[:-2] + ("A" if value[-1] != "A" else "B") * 2)
    attempt(forged, adv, "guess a")
    db.session.refresh(adv)
    assert adv.failed_logins == 1
    signin.revoke_devices(adv)
    db.session.commit()
    attempt(mine, adv, "guess b")
    db.session.refresh(adv)
    assert adv.failed_logins == 2 and adv.locked_at is not None
    assert GENERIC in attempt(mine, adv, PASSWORD).get_data(as_text=True)


def test_one_browser_remembers_several_staff(f, app, db):
    store = f.store()
    a, b = f.advisor(store), f.advisor(store)
    shared = known_browser(app, a)
    attempt(shared, b, PASSWORD)
    shared.post("/logout")
    lock_unknown(app, a)
    lock_unknown(app, b)
    for who in (a, b):
        assert attempt(shared, who, PASSWORD).status_code == 303
        shared.post("/logout")


def test_colleagues_still_approve_while_their_unknown_browsers_are_locked(f, app, db):
    store = f.store()
    locked, a, b = f.advisor(store), f.advisor(store), f.advisor(store)
    lock_unknown(app, locked)
    lock_unknown(app, a)
    lock_unknown(app, b)
    req = db.session.scalar(select(UnlockRequest).where(UnlockRequest.user_id == locked.id))
    assert unlock.eligible_colleagues(req) == 2
    assert unlock.approve(a, req) is False
    assert unlock.approve(b, req) is True
    db.session.commit()
    db.session.refresh(locked)
    assert locked.locked_at is None


def test_concurrent_guesses_from_one_known_device_count_exactly(f, app, db):
    adv = f.advisor(f.store())
    mine = known_browser(app, adv)
    cookie, login = mine.get_cookie(signin.DEVICE_COOKIE).value, adv.phone
    db.session.commit()
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def guess(n: int):
        c = app.test_client()
        c.set_cookie(signin.DEVICE_COOKIE, cookie)
        barrier.wait()
        # Half the threads repeat one password: those count once together.
        password = f"typo {n}" if n % 2 else "same typo"
        codes.append(c.post("/login", data={"login": login, "password": password}).status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.commit()
    device = db.session.scalar(select(StaffDevice).where(StaffDevice.user_id == adv.id))
    db.session.refresh(adv)
    assert codes == [200] * 8
    assert device.failed_logins == 5 and device.locked_until is not None
    assert adv.failed_logins == 0 and adv.locked_at is None


def test_unlock_admin_command_unlocks_and_is_audited(f, app, db):
    admin, other = f.admin(), f.advisor(f.store())
    lock_unknown(app, admin)
    db.session.commit()
    runner = app.test_cli_runner()
    r = runner.invoke(args=["m4s", "unlock-admin", other.phone])
    assert r.exit_code != 0 and "No administrator" in r.output
    r = runner.invoke(args=["m4s", "unlock-admin", "+86 " + admin.phone])
    assert r.exit_code == 0, r.output
    db.session.expire_all()
    admin = db.session.get(User, admin.id)
    assert admin.locked_at is None and admin.failed_logins == 0 and admin.must_change_password
    req = db.session.scalar(select(UnlockRequest).where(UnlockRequest.user_id == admin.id))
    assert req.status == "broken_glass"
    assert db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "unlock_operator")
    )
    assert attempt(app.test_client(), admin, PASSWORD).status_code == 303


def test_the_two_colleague_unlock_also_clears_device_locks(f, app, db):
    store = f.store()
    locked, a, b = f.advisor(store), f.advisor(store), f.advisor(store)
    mine = known_browser(app, locked)
    attempt(mine, locked, "typo one")
    attempt(mine, locked, "typo two")
    lock_unknown(app, locked)
    req = db.session.scalar(select(UnlockRequest).where(UnlockRequest.user_id == locked.id))
    unlock.approve(a, req)
    assert unlock.approve(b, req) is True
    db.session.commit()
    device = db.session.scalar(select(StaffDevice).where(StaffDevice.user_id == locked.id))
    assert device.locked_until is None and device.failed_logins == 0
    assert attempt(mine, locked, PASSWORD).status_code == 303
