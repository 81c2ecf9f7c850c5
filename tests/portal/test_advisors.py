"""Advisors: referral codes, dedupe rules, performance figures and customer reassignment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.errors import NotAllowed, ValidationError
from portal.models import AuditEvent, User
from portal.services import advisors
from tests import factories


@pytest.fixture
def team(f):
    store = f.store()
    return {
        "store": store,
        "manager": f.manager(store),
        "a": f.advisor(store),
        "b": f.advisor(store),
        "c": f.advisor(store),
        "elsewhere": f.advisor(f.store()),
    }


# ---------------------------------------------------------------- referrals


def test_referral_codes_round_trip_and_catch_typos(team, f):
    code = advisors.referral_code(team["a"])
    assert advisors.referrer_from_code(code).id == team["a"].id
    assert advisors.referrer_from_code(code.lower()).id == team["a"].id
    typo = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert advisors.referrer_from_code(typo) is None
    assert advisors.referrer_from_code("") is None and advisors.referrer_from_code("Mx1") is None
    assert advisors.referrer_from_code(advisors.referral_code(team["manager"])) is None


def test_registration_with_a_referral_binds_to_the_referring_advisor(team, client, db):
    data = {
        "name": "林晓东",
        "phone": "13712345678",
        "store": team["store"].id,
        "password": "lychee-tram-harbour-42",
        "confirm": "lychee-tram-harbour-42",
        "referral": advisors.referral_code(team["c"]),
        "accept_policy": "y",
    }
    assert client.post("/register", data=data).status_code == 303
    owner = db.session.scalar(select(User).where(User.phone == "13712345678"))
    assert (owner.referred_by_id, owner.advisor_id) == (team["c"].id, team["c"].id)
    bad = client.post("/register", data={**data, "phone": "13712345679", "referral": "M12"})
    assert bad.status_code == 200 and "referral code is not valid" in bad.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.phone == "13712345679")) is None


def test_an_owner_can_refer_too(team, f, client, db):
    friend = f.owner(team["store"])
    data = {
        "name": "王芳",
        "phone": "13712345670",
        "store": team["store"].id,
        "password": "lychee-tram-harbour-42",
        "confirm": "lychee-tram-harbour-42",
        "referral": advisors.referral_code(friend),
        "accept_policy": "y",
    }
    client.post("/register", data=data)
    owner = db.session.scalar(select(User).where(User.phone == "13712345670"))
    assert owner.referred_by_id == friend.id and owner.advisor_id is not None


# ---------------------------------------------------------------- dedupe rules


def test_an_advisor_registers_a_new_customer_once(team, db):
    first = advisors.register_customer(team["a"], name="张伟", phone="13800001111")
    assert first.created and first.customer.advisor_id == team["a"].id
    assert first.customer.must_change_password and first.initial_password
    again = advisors.register_customer(team["a"], name="张伟 2", phone="13800001111")
    assert not again.created and not again.blocked and again.customer.id == first.customer.id
    assert db.session.scalar(select(User.name).where(User.phone == "13800001111")) == "张伟"


def test_another_advisors_customer_is_shown_not_taken(team, f, db):
    owner = f.owner(team["store"], advisor_id=team["a"].id, phone="13800002222")
    result = advisors.register_customer(team["b"], name="抢客户", phone="13800002222")
    assert result.blocked and result.customer.id == owner.id
    db.session.refresh(owner)
    assert owner.advisor_id == team["a"].id and owner.name != "抢客户"
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "customer_register_existing")
    )


def test_the_same_vin_or_email_finds_the_existing_owner(team, f, db):
    owner = f.owner(team["store"], advisor_id=team["a"].id, email="li@example.com")
    v = f.vehicle(owner)
    by_vin = advisors.register_customer(team["b"], name="x", phone="13800003333", vin=v.vin)
    by_mail = advisors.register_customer(
        team["b"], name="x", phone="13800004444", email="li@example.com"
    )
    assert by_vin.customer.id == by_mail.customer.id == owner.id and by_vin.blocked
    assert db.session.scalar(select(User.id).where(User.phone == "13800003333")) is None


def test_a_staff_phone_is_refused(team):
    with pytest.raises(ValidationError):
        advisors.register_customer(team["a"], name="x", phone=team["b"].phone)


def test_the_view_shows_the_existing_record(team, f, client, auth, db):
    f.owner(team["store"], advisor_id=team["a"].id, phone="13800005555", name="陈静")
    auth.login(team["b"])
    r = client.post(
        "/admin/advisors/customers/new",
        data={"name": "y", "phone": "13800005555", "consent_method": "in_person"},
    )
    page = r.get_data(as_text=True)
    assert "served by" in page and "陈静" in page and team["a"].name in page


# ---------------------------------------------------------------- performance


def test_performance_counts_what_exists_and_says_no_data_for_the_rest(team, f, db):
    f.owner(team["store"], advisor_id=team["a"].id)
    f.owner(team["store"], advisor_id=team["b"].id, referred_by_id=team["a"].id)
    perf = advisors.performance(team["a"])
    assert (perf.bound, perf.referred) == (1, 1)
    assert sum(n for _m, n in perf.referrals_by_month) == 1 and len(perf.referrals_by_month) == 6
    assert perf.service is None and advisors.average_rating(team["a"]) is None


def test_the_owner_card_shows_no_rating_before_ratings_exist(team, f, client, auth):
    owner = f.owner(team["store"], advisor_id=team["a"].id)
    auth.login(owner)
    page = client.get("/").get_data(as_text=True)
    assert "advisor-card" in page and "advisor-rating" not in page


def _rated_job(f, db, team, stars: int, comment: str = ""):
    from portal.services import bookings

    owner = f.owner(team["store"], advisor_id=team["a"].id)
    car = f.vehicle(owner)
    b = f.booking(owner, team["store"], vehicle=car)
    bookings.accept(team["a"], b)
    bookings.check_in(team["a"], b, car.current_km + 10)
    bookings.start_work(team["a"], b)
    bookings.complete(
        team["a"],
        b,
        [{"kind": "labour", "description": "检查", "quantity": 1, "unit_price_fen": 100}],
        fault_category="engine",
    )
    bookings.rate(owner, b, 5, stars, comment)
    db.session.commit()
    return owner


def test_performance_shows_ratings_bookings_and_rescues(team, f, db, client, auth, clock):
    owner = _rated_job(f, db, team, 4, "耐心")
    _rated_job(f, db, team, 5)
    from portal.services import rescue

    r = f.rescue(owner)
    clock.advance(minutes=3)
    rescue.claim(team["a"], r)
    db.session.commit()
    record = advisors.service_record(team["a"])
    assert record["rating_average"] == 4.5 and record["rating_count"] == 2
    assert dict(record["distribution"]) == {"5★": 1, "4★": 1, "3★": 0, "2★": 0, "1★": 0}
    assert record["bookings_handled"] == 2 and record["rescues"] == 1
    assert record["claim_minutes"] == pytest.approx(3, abs=0.1)
    assert [c.comment for c in record["comments"]] == ["耐心"]
    assert advisors.average_rating(team["a"]) == 4.5
    auth.login(owner)
    assert 'id="advisor-rating">★ 4.5<' in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(team["manager"])
    page = client.get(f"/admin/advisors/{team['a'].id}").get_data(as_text=True)
    assert 'id="perf-rating">★ 4.50<' in page and "perf-stars" in page


# ---------------------------------------------------------------- reassignment


def _customers(team, n, advisor="a"):
    return [factories.owner(team["store"], advisor_id=team[advisor].id) for _ in range(n)]


def test_all_customers_go_to_one_advisor(team, db):
    moved = _customers(team, 3)
    plan = advisors.reassign_and_deactivate(team["manager"], team["a"], to=team["b"])
    db.session.commit()
    assert plan == {team["b"].id: [c.id for c in moved]}
    assert {db.session.get(User, c.id).advisor_id for c in moved} == {team["b"].id}
    assert db.session.get(User, team["a"].id).is_active is False
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customers_reassigned"))
    assert event.detail["total"] == 3 and event.actor_id == team["manager"].id


def test_customers_are_spread_evenly(team, db):
    _customers(team, 7)
    _customers(team, 2, advisor="c")  # existing load does not matter: the 7 are shared
    plan = advisors.reassign_and_deactivate(
        team["manager"], team["a"], spread=[team["b"], team["c"]]
    )
    assert sorted(len(v) for v in plan.values()) == [3, 4]


@pytest.mark.parametrize(
    ("who", "target", "error"),
    [
        ("a", "b", NotAllowed),  # an advisor cannot do it
        ("manager", "elsewhere", ValidationError),  # another store's advisor
        ("manager", "a", ValidationError),  # to the leaving advisor
    ],
)
def test_bad_reassignments_are_refused(team, who, target, error):
    with pytest.raises(error):
        advisors.reassign_and_deactivate(team[who], team["a"], to=team[target])


def test_a_failure_halfway_changes_nothing(team, db, monkeypatch):
    customers = _customers(team, 6)
    db.session.commit()
    real = advisors._move_batch
    calls = []

    def flaky(from_id, to_id, ids):
        calls.append(to_id)
        if len(calls) == 2:
            raise RuntimeError("database went away halfway")
        real(from_id, to_id, ids)

    monkeypatch.setattr(advisors, "_move_batch", flaky)
    with pytest.raises(RuntimeError):
        advisors.reassign_and_deactivate(team["manager"], team["a"], spread=[team["b"], team["c"]])
    db.session.rollback()
    assert len(calls) == 2  # the first batch had already moved when it failed
    assert {db.session.get(User, c.id).advisor_id for c in customers} == {team["a"].id}
    assert db.session.get(User, team["a"].id).is_active is True
    assert (
        db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "customers_reassigned"))
        is None
    )


def test_the_view_fails_whole_and_then_succeeds_and_the_session_dies(
    app, team, db, monkeypatch, auth, client
):
    customers = _customers(team, 4)
    leaver = app.test_client()
    leaver.post("/login", data={"login": team["a"].login, "password": factories.PASSWORD})
    assert leaver.get("/admin/").status_code == 200
    auth.login(team["manager"])
    url = f"/admin/advisors/{team['a'].id}/leave"
    form = {"mode": "spread", "spread": [team["b"].id, team["c"].id]}

    def boom(*_a):
        raise ValidationError("injected failure")

    real = advisors._move_batch
    calls = []

    def flaky(*args):
        calls.append(args)
        return boom() if len(calls) == 2 else real(*args)

    monkeypatch.setattr(advisors, "_move_batch", flaky)
    r = client.post(url, data=form)
    assert r.status_code == 422 and "injected failure" in r.get_data(as_text=True)
    db.session.expire_all()
    assert {db.session.get(User, c.id).advisor_id for c in customers} == {team["a"].id}
    assert leaver.get("/admin/").status_code == 200  # still working: nothing happened

    monkeypatch.setattr(advisors, "_move_batch", real)
    assert client.post(url, data=form).status_code == 303
    db.session.expire_all()
    owners = {db.session.get(User, c.id).advisor_id for c in customers}
    assert owners == {team["b"].id, team["c"].id}
    r = leaver.get("/admin/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
