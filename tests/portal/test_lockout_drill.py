"""The lockout drill: 1,000 anonymous guesses leave every staff member able to sign in."""

from __future__ import annotations

import contextvars
import threading

from sqlalchemy import func, select

from portal.models import AuditEvent, User
from portal.services import accounts, signin
from tests.factories import PASSWORD

GUESSES = 1000
THREADS = 8


def _guess(app, login: str, password: str) -> None:
    from portal.extensions import db as tdb

    with app.test_request_context("/login", method="POST"):
        try:
            assert accounts.authenticate(login, password, None) is None
            tdb.session.commit()
        finally:
            tdb.session.remove()


def test_a_thousand_anonymous_guesses_lock_out_no_staff_member(f, app, db):
    store = f.store()
    staff = [f.admin(), f.manager(store), *(f.advisor(store) for _ in range(3))]
    # Each staff member signed in once at their own browser (a known device), and one of
    # them is still signed in there.
    browsers = {}
    for user in staff:
        c = app.test_client()
        assert c.post("/login", data={"login": user.phone, "password": PASSWORD}).status_code == 303
        browsers[user.id] = c
    logins = [(u.id, u.phone) for u in staff]
    db.session.commit()

    plan = [(logins[i % len(logins)], f"guess-{i:04d}") for i in range(GUESSES)]
    threaded, sequential = plan[: GUESSES // 2], plan[GUESSES // 2 :]
    barrier = threading.Barrier(THREADS)

    def worker(part):
        barrier.wait()
        for (_uid, login), password in part:
            _guess(app, login, password)

    threads = [
        threading.Thread(target=worker, args=(threaded[n::THREADS],)) for n in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The rest one after another, in a context of their own (not the test's session).
    for (_uid, login), password in sequential:
        contextvars.Context().run(_guess, app, login, password)

    db.session.expire_all()
    per_user = GUESSES // len(staff)
    for user in staff:
        fresh = db.session.get(User, user.id)
        assert fresh.failed_logins == per_user  # exact under concurrency
        assert fresh.locked_at is not None  # unknown browsers are locked out
    failures = db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action.like("login_%"))
    )
    assert failures >= GUESSES
    # The attacker's own next try fails even with the right password ...
    stranger = app.test_client()
    r = stranger.post("/login", data={"login": staff[0].phone, "password": PASSWORD})
    assert r.status_code == 200
    # ... while every staff member keeps working: the open session, and a fresh sign-in
    # from their own browser.
    for user in staff:
        c = browsers[user.id]
        assert c.get("/admin/").status_code == 200
        c.post("/logout")
        assert c.get_cookie(signin.DEVICE_COOKIE) is not None
        r = c.post("/login", data={"login": user.phone, "password": PASSWORD})
        assert r.status_code == 303, user.role
        assert c.get("/admin/").status_code == 200
