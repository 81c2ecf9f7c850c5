"""The customer card: profile fields, tags, tiers and links between customers."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm import merge, profiles, relations
from crm.profile_models import CustomerProfile, CustomerRelation, CustomerTag, Tag
from portal.errors import Conflict, NotAllowed, ValidationError
from portal.models import AuditEvent


def _card(client, customer_id):
    return client.get(f"/admin/crm_customers/{customer_id}").get_data(as_text=True)


def test_the_advisor_edits_the_profile_and_the_change_is_on_the_timeline(client, auth, f, db):
    store = f.store()
    adv = f.advisor(store)
    boss = f.manager(store)
    tier = profiles.add_tier(boss, "金卡", "Gold", 1)
    db.session.commit()
    customer = f.owner(store, advisor_id=adv.id, name="张伟")
    cid, tier_id = customer.id, tier.id
    auth.login(adv)
    form = {
        "model_interest": "途观L",
        "budget": "250000",
        "timeframe": "30d",
        "trade_in": "2015 款卡罗拉",
        "driving": "city, family trips",
        "competitors": "CR-V, RAV4",
        "tier": str(tier_id),
        "tags": "VIP, 二胎家庭 ,vip,  Golf   fans",
        "notes": "喜欢钓鱼",
    }
    saved = client.post(f"/admin/crm_customers/{cid}/profile", data=form)
    assert saved.status_code == 303
    profile = db.session.get(CustomerProfile, cid)
    assert profile.budget_fen == 25_000_000 and profile.timeframe == "30d"
    assert profile.tier_id == tier_id and profile.updated_by_id == adv.id
    assert profiles.tags_of(customer) == ["golf fans", "vip", "二胎家庭"]
    html = _card(client, cid)
    assert (
        "途观L" in html and "CR-V, RAV4" in html and "Gold" in html and "timeline-profile" in html
    )
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "customer_profile_changed", AuditEvent.target_id == cid)
        )
        == 1
    )
    again = client.post(f"/admin/crm_customers/{cid}/profile", data=form)
    assert again.status_code == 303  # nothing changed: no second audit event
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.target_id == cid)
        )
        == 1
    )
    by_tag = client.get("/admin/crm_customers/?tag=VIP").get_data(as_text=True)
    by_tier = client.get(f"/admin/crm_customers/?tier={tier_id}").get_data(as_text=True)
    assert "张伟" in by_tag and "张伟" in by_tier
    assert "张伟" not in client.get("/admin/crm_customers/?tag=nobody").get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("budget", "abc", None),
        ("budget", "-5", None),
        ("tier", "999999", "Choose one of the store's customer tiers."),
        ("tags", ",".join(f"t{i}" for i in range(13)), "A customer has at most 12 tags."),
        ("tags", "x" * 21, "A tag has at most 20 characters."),
        ("timeframe", "tomorrow", None),
    ],
)
def test_bad_input_says_what_is_wrong_and_changes_nothing(
    client, auth, f, db, field, value, message
):
    store = f.store()
    adv = f.advisor(store)
    customer = f.owner(store, advisor_id=adv.id)
    cid = customer.id
    db.session.add(CustomerProfile(customer_id=cid, model_interest="朗逸", budget_fen=100))
    db.session.commit()
    auth.login(adv)
    form = {"model_interest": "帕萨特", "budget": "1", "tags": "", field: value}
    r = client.post(f"/admin/crm_customers/{cid}/profile", data=form)
    html = unescape(r.get_data(as_text=True))
    assert r.status_code == 422 and "invalid-feedback" in html
    if message:
        assert message in html
    db.session.expire_all()
    profile = db.session.get(CustomerProfile, cid)
    assert (profile.model_interest, profile.budget_fen) == ("朗逸", 100)
    assert db.session.scalar(select(func.count()).select_from(CustomerTag)) == 0
    changes = select(func.count()).where(AuditEvent.action == "customer_profile_changed")
    assert db.session.scalar(changes) == 0


def test_a_colleagues_customer_is_read_only_and_their_relation_is_masked(client, auth, f, db):
    store, other_store = f.store(), f.store()
    mine, theirs = f.advisor(store), f.advisor(store)
    me_customer = f.owner(store, advisor_id=mine.id, name="王芳", phone="13812340001")
    colleague = f.owner(store, advisor_id=theirs.id, name="王强", phone="13812340002")
    stranger = f.owner(other_store, name="赵敏", phone="13812340003")
    relations.add_relation(mine, me_customer, colleague, "household")
    boss = f.admin()
    relations.add_relation(boss, stranger, me_customer, "referrer")  # stranger was referred
    db.session.commit()
    auth.login(mine)
    html = _card(client, me_customer.id)
    assert "138****0002" in html and "13812340002" not in html
    assert f'/admin/crm_customers/{colleague.id}"' in html
    assert "赵**" in html and "赵敏" not in html and "13812340003" not in html
    assert f"/admin/crm_customers/{stranger.id}" not in html
    assert 'id="profile-edit"' in html
    theirs_page = _card(client, colleague.id)
    assert 'id="profile-edit"' not in theirs_page and 'id="relation-form"' not in theirs_page
    assert client.get(f"/admin/crm_customers/{colleague.id}/profile").status_code == 403
    r = client.post(
        f"/admin/crm_customers/{colleague.id}/profile", data={"model_interest": "抢客户"}
    )
    assert r.status_code == 403 and db.session.get(CustomerProfile, colleague.id) is None
    with pytest.raises(NotAllowed):
        relations.add_relation(mine, colleague, me_customer, "referred")


def test_the_database_refuses_self_links_and_second_links_in_either_order(f, db):
    store = f.store()
    boss = f.manager(store)
    a, b = f.owner(store), f.owner(store)
    relations.add_relation(boss, a, b, "referred")
    db.session.commit()
    with pytest.raises(ValidationError):
        relations.add_relation(boss, a, a, "household")
    with pytest.raises(Conflict):
        relations.add_relation(boss, b, a, "household")
    low, high = sorted((a.id, b.id))
    for pair in ((low, low), (high, low), (low, high)):
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.add(CustomerRelation(low_id=pair[0], high_id=pair[1], kind="household"))
    shown = {r.link: r.customer_id for r in relations.related(boss, b)}
    assert shown == {"referrer": a.id}  # a referred b, seen from b's side
    assert db.session.scalar(select(func.count()).select_from(CustomerRelation)) == 1


def test_merge_moves_tags_profile_and_links_without_duplicates(f, db):
    store = f.store()
    boss = f.manager(store)
    keep, gone = f.owner(store), f.owner(store)
    friend, company, newcomer = f.owner(store), f.owner(store), f.owner(store)
    profiles.save_profile(boss, keep, profiles.ProfileInput(tags="vip"))
    profiles.save_profile(
        boss, gone, profiles.ProfileInput(model_interest="ID.4", tags="VIP, 试驾过")
    )
    relations.add_relation(boss, keep, friend, "household")
    relations.add_relation(boss, gone, friend, "household")  # the survivor has it already
    relations.add_relation(boss, gone, keep, "household")  # would become a self-link
    relations.add_relation(boss, gone, company, "employer")
    relations.add_relation(boss, gone, newcomer, "referred")
    db.session.commit()
    record = merge.merge(boss, keep, gone)
    db.session.commit()
    assert profiles.tags_of(keep) == ["vip", "试驾过"]
    assert db.session.scalar(select(func.count()).select_from(Tag)) == 2
    assert db.session.get(CustomerProfile, keep.id) is not None
    links = {r.link: r.customer_id for r in relations.related(boss, keep)}
    assert links == {"household": friend.id, "employer": company.id, "referred": newcomer.id}
    seen_by_newcomer = {r.link: r.customer_id for r in relations.related(boss, newcomer)}
    assert seen_by_newcomer == {"referrer": keep.id}
    assert record.moved["moved"]["crm_customer_relations.low_id"] == 2
    assert record.moved["stayed"]["crm_customer_relations.low_id"] == 1
    assert record.moved["moved"]["crm_customer_tags.customer_id"] == 1  # 试驾过; vip stayed


def test_managers_define_tiers_and_advisors_cannot(client, auth, f, db):
    store = f.store()
    adv, boss = f.advisor(store), f.manager(store)
    with pytest.raises(NotAllowed):
        profiles.add_tier(adv, "钻石", "Diamond", 1)
    auth.login(boss)
    assert (
        client.post("/admin/customer_tiers/", data={"name_zh": "钻石", "position": "1"}).status_code
        == 303
    )
    bad = client.post("/admin/customer_tiers/", data={"name_zh": "钻石", "position": "2"})
    assert bad.status_code == 303
    twice = client.get("/admin/customer_tiers/").get_data(as_text=True)
    assert "The store already has a tier of this name." in twice
    client.post("/admin/customer_tiers/", data={"name_zh": "银卡", "position": "abc"})
    assert [t.name_zh for t in profiles.tiers(store.id)] == ["钻石"]
    tier = profiles.tiers(store.id)[0]
    client.post(
        f"/admin/customer_tiers/{tier.id}",
        data={"verb": "save", "name_zh": "钻石卡", "name_en": "Diamond", "position": "3"},
    )
    db.session.expire_all()
    assert (tier.name_zh, tier.name_en, tier.position) == ("钻石卡", "Diamond", 3)
    client.post(f"/admin/customer_tiers/{tier.id}", data={"verb": "delete"})
    assert profiles.tiers(store.id) == []


def test_the_demo_shows_a_full_card_with_tier_tags_and_household(db):
    from crm.demo_profile import load_profile_demo
    from portal.demo import DEMO_LOGINS, load_demo
    from portal.models import User

    load_demo(owners=12)
    db.session.commit()
    assert load_profile_demo() == {"tiers": 3, "household": 2}
    db.session.commit()
    assert load_profile_demo() == {"tiers": 0}
    owner = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["owner"]))
    profile = db.session.get(CustomerProfile, owner.id)
    assert profile.tier.name_en == "Gold" and profile.budget_fen == 22_000_000
    assert len(profiles.tags_of(owner)) == 3
    boss = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["manager"]))
    links = [r.link for r in relations.related(boss, owner)]
    assert links[:2] == ["household", "household"]  # then the owner's referral-code invitees
    assert set(links[2:]) <= {"referred"}


def test_staff_tagging_and_linking_at_once_make_one_tag_and_one_link(app, f, db):
    from portal.models import User
    from tests.threads import at_once

    store = f.store()
    boss = f.manager(store)
    customers = [f.owner(store) for _ in range(4)]
    boss_id, ids = boss.id, [c.id for c in customers]
    turn = iter(range(100))

    def tag_one():
        me, customer = db.session.get(User, boss_id), db.session.get(User, ids[next(turn) % 4])
        return profiles.save_profile(me, customer, profiles.ProfileInput(tags="春节团购"))

    assert at_once(app, tag_one, 4) == [["tags"]] * 4
    assert db.session.scalar(select(func.count()).select_from(Tag)) == 1
    assert db.session.scalar(select(func.count()).select_from(CustomerTag)) == 4
    pairs = iter([(ids[0], ids[1]), (ids[1], ids[0])])

    def link():
        a, b = next(pairs)
        me = db.session.get(User, boss_id)
        rel = relations.add_relation(
            me, db.session.get(User, a), db.session.get(User, b), "household"
        )
        return rel.kind

    results = at_once(app, link, 2)
    assert sorted(results, key=str)[0].startswith("Conflict(") and "household" in results
    assert db.session.scalar(select(func.count()).select_from(CustomerRelation)) == 1


def test_an_erased_account_loses_its_card_tags_and_links(f, db, clock):
    from portal.models import User
    from portal.services import erasure

    store = f.store()
    boss = f.manager(store)
    me, sister = f.owner(store), f.owner(store)
    profiles.save_profile(boss, me, profiles.ProfileInput(notes="住在福田区", tags="vip"))
    relations.add_relation(boss, sister, me, "household")
    db.session.execute(
        User.__table__.update().where(User.id == me.id).values(erasure_requested_at=clock.now)
    )
    db.session.commit()
    clock.advance(days=8)
    assert erasure.erase_due() == 1
    db.session.commit()
    for model in (CustomerProfile, CustomerTag, CustomerRelation):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0
    assert relations.related(boss, sister) == []


def test_the_merge_preview_counts_a_customers_links_once_whichever_side(f, db):
    from crm import merge

    store = f.store()
    boss = f.manager(store)
    first, middle, last = f.owner(store), f.owner(store), f.owner(store)
    relations.add_relation(boss, middle, first, "household")  # middle is the higher id here
    relations.add_relation(boss, middle, last, "household")  # and the lower one here
    db.session.commit()
    held = merge.holdings(middle.id)
    assert held.get("crm_customer_relations.low_id") == 2
    assert "crm_customer_relations.high_id" not in held
