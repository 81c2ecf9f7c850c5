"""The built-in campaigns beside "maintenance due": policy renewal, a return visit after 12
months away, and birthdays (the profile's birthday, a window across the year's end, 29 February
in other years); and the birthday kept on the customer's profile."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from crm import builtins, profiles, segments
from crm.campaign_models import (
    BIRTHDAY,
    BUILTINS,
    POLICY_RENEWAL,
    RETURN_VISIT,
    Campaign,
    CampaignMember,
)
from crm.profile_models import CustomerProfile
from portal.errors import ValidationError
from portal.models import InsurancePolicy, ServiceRecord
from portal.services import consent

NEW_YEARS_EVE = datetime(2026, 12, 29, 2, 0, tzinfo=UTC)  # 10:00 on 29 December in Shanghai


def born(db, owner, day: date) -> None:
    db.session.add(CustomerProfile(customer_id=owner.id, birthday=day))
    db.session.commit()


def run(db, store, manager, key) -> set[int]:
    builtins.switch(manager, store, key, True)
    db.session.commit()
    assert builtins.run_builtins() == 1
    campaign = db.session.scalar(select(Campaign).where(Campaign.builtin == key))
    return set(
        db.session.scalars(
            select(CampaignMember.customer_id).where(CampaignMember.campaign_id == campaign.id)
        )
    )


def consenting(f, store, n):
    found = [f.owner(store) for _ in range(n)]
    for owner in found:
        consent.set_consent(owner.id, "inapp", True)
    return found


def test_every_builtin_can_be_switched_and_names_itself(f, db):
    store = f.store()
    manager = f.manager(store)
    for key in BUILTINS:
        builtins.switch(manager, store, key, True)
        assert str(builtins.SPECS[key]["label"])
        segments.validate(builtins.SPECS[key]["rule"])  # every built-in rule is a valid rule
    db.session.commit()
    assert builtins.switches(store) == dict.fromkeys(BUILTINS, True)


def test_birthdays_in_the_next_week_cross_the_new_year(f, db, clock):
    clock.now = NEW_YEARS_EVE
    store = f.store()
    manager = f.manager(store)
    today, in_week, new_year, too_late, yesterday, unknown = consenting(f, store, 6)
    born(db, today, date(1980, 12, 29))
    born(db, in_week, date(1991, 12, 31))
    born(db, new_year, date(2001, 1, 5))  # 7 days on, in the next year
    born(db, too_late, date(1975, 1, 6))
    born(db, yesterday, date(1988, 12, 28))
    assert run(db, store, manager, BIRTHDAY) == {today.id, in_week.id, new_year.id}
    rule = builtins.SPECS[BIRTHDAY]["rule"]
    assert unknown.id not in set(db.session.scalars(segments.members(store, rule)))


def test_a_29_february_birthday_is_kept_on_28_february_in_other_years(f, db, clock):
    clock.now = datetime(2027, 2, 28, 2, 0, tzinfo=UTC)
    store = f.store()
    leap, first_march = consenting(f, store, 2)
    born(db, leap, date(2000, 2, 29))
    born(db, first_march, date(1999, 3, 1))
    rule = {"field": "birthday_in_days", "op": "within", "value": 0}
    assert set(db.session.scalars(segments.members(store, rule))) == {leap.id}


def test_policy_renewal_reaches_policies_ending_within_thirty_days(f, db, clock):
    clock.now = NEW_YEARS_EVE
    store = f.store()
    manager = f.manager(store)
    soon, later = consenting(f, store, 2)
    local_today = date(2026, 12, 29)
    for owner, days in ((soon, 20), (later, 45)):
        db.session.add(
            InsurancePolicy(
                customer_id=owner.id,
                store_id=store.id,
                insurer="人保",
                policy_number=f"P{owner.id}",
                coverage="combined",
                premium_fen=1,
                starts_on=local_today - timedelta(days=300),
                ends_on=local_today + timedelta(days=days),
            )
        )
    db.session.commit()
    assert run(db, store, manager, POLICY_RENEWAL) == {soon.id}


def test_a_return_visit_goes_to_customers_away_a_year_not_to_those_never_seen(f, db, clock):
    clock.now = NEW_YEARS_EVE
    store = f.store()
    manager = f.manager(store)
    away, recent, never = consenting(f, store, 3)
    for owner, days_ago in ((away, 400), (recent, 100)):
        car = f.vehicle(owner)
        db.session.add(
            ServiceRecord(
                vehicle_id=car.id,
                store_id=store.id,
                mileage_km=10_000,
                total_fen=30_000,
                completed_at=NEW_YEARS_EVE - timedelta(days=days_ago),
            )
        )
    f.vehicle(never)
    db.session.commit()
    assert run(db, store, manager, RETURN_VISIT) == {away.id}


def test_the_profile_keeps_a_birthday_and_refuses_one_in_the_future(f, db, clock):
    clock.now = NEW_YEARS_EVE
    store = f.store()
    manager = f.manager(store)
    owner = f.owner(store)
    changed = profiles.save_profile(
        manager, owner, profiles.ProfileInput(birthday=date(1985, 6, 1))
    )
    db.session.commit()
    assert changed == ["birthday"] and profiles.profile_of(owner).birthday == date(1985, 6, 1)
    for bad in (date(2027, 1, 1), date(1899, 12, 31)):
        with pytest.raises(ValidationError) as refused:
            profiles.save_profile(manager, owner, profiles.ProfileInput(birthday=bad))
        assert refused.value.field == "birthday"
        db.session.rollback()
    assert profiles.profile_of(owner).birthday == date(1985, 6, 1)


def test_the_birthday_is_edited_and_shown_on_the_customer_page(f, db, auth, client, clock):
    clock.now = NEW_YEARS_EVE
    store = f.store()
    advisor = f.advisor(store)
    owner = f.owner(store, advisor_id=advisor.id)
    auth.login(advisor)
    url = f"/admin/crm_customers/{owner.id}/profile"
    page = client.get(url)
    assert page.status_code == 200 and 'name="birthday"' in page.get_data(as_text=True)
    bad = client.post(url, data={"birthday": "2030-02-30"})
    assert bad.status_code in (400, 422) and profiles.profile_of(owner) is None
    saved = client.post(url, data={"birthday": "1985-06-01"})
    assert saved.status_code == 303
    shown = client.get(f"/admin/crm_customers/{owner.id}").get_data(as_text=True)
    assert 'id="profile-birthday"' in shown and "1985" in shown
