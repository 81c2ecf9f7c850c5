"""The back office's customer search: who is found is decided in the SQL, store by store."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm import customer_search
from crm import leads as svc
from crm.models import PHONE
from crm.pipeline_models import SalesOrder
from portal.models import User


def _owners(db, store, name: str, count: int) -> None:
    """Add count owners of the store named name (cheap rows: they never sign in)."""
    for k in range(count):
        db.session.add(
            User(
                role="owner",
                name=name,
                phone=f"1390{store.id:03d}{k:04d}",
                store_id=store.id,
                password_hash="!",
            )  # fmt: skip
        )
    db.session.flush()


def test_a_common_name_finds_the_stores_own_customer_behind_newer_ones_elsewhere(db, f):
    mine, theirs = f.store(), f.store()
    adv = f.advisor(mine)
    own = f.owner(mine, name="王芳")
    _owners(db, theirs, "王芳", 60)  # 60 newer 王芳 in another store
    db.session.commit()
    found = customer_search.find_customers(adv, "王芳")
    assert [c.id for c in found] == [own.id]
    # The group's admin types three characters of a name (see the test of name_too_short).
    assert customer_search.find_customers(f.admin(), "王芳") == []


@pytest.mark.parametrize(
    ("name", "typed"),
    [
        ("赵敏", "赵敏"),  # shorter than a trigram: the store's leads read one by one
        ("欧阳明月", "欧阳明月"),  # a trigram's length: the group's namesakes, then their leads
        ("欧阳明月", "阳明月"),  # part of a name, from the middle
    ],
)
def test_a_customer_of_another_store_is_found_only_with_a_lead_here(db, f, name, typed):
    mine, theirs = f.store(), f.store()
    adv = f.advisor(mine)
    walker = f.owner(theirs, name=name)
    stranger = f.owner(theirs, name=name)
    db.session.commit()
    assert customer_search.find_customers(adv, typed) == []
    svc.capture(svc.Inquiry(name=name, phone=walker.phone, store=mine, source=PHONE))
    db.session.commit()
    found = customer_search.find_customers(adv, typed)
    assert [c.id for c in found] == [walker.id] and stranger.id not in [c.id for c in found]
    assert customer_search.find_customers(adv, walker.phone) == [walker]
    assert (
        customer_search.find_customers(f.advisor(theirs), typed) != []
    )  # their own store finds both


def test_like_wildcards_are_taken_literally(db, f):
    store = f.store()
    adv = f.advisor(store)
    f.owner(store, name="张三")
    percent = f.owner(store, name="50%客户")
    underscore = f.owner(store, name="a_b")
    f.owner(store, name="axb")
    db.session.commit()
    assert customer_search.find_customers(adv, "%") == [percent]
    assert customer_search.find_customers(adv, "_") == [underscore]
    assert customer_search.find_customers(adv, "a_b") == [underscore]


def test_owners_and_deactivated_staff_find_nobody(db, f):
    store = f.store()
    f.owner(store, name="李雷")
    owner = f.owner(store, name="韩梅梅")
    gone = f.advisor(store, is_active=False)
    db.session.commit()
    assert customer_search.find_customers(f.advisor(store), "李雷") != []
    assert customer_search.find_customers(owner, "李雷") == []
    assert customer_search.find_customers(gone, "李雷") == []


def test_the_search_page_lists_a_match_by_plate_and_by_phone(client, auth, db, f):
    store = f.store()
    adv = f.advisor(store)
    owner = f.owner(store, name="孙悟空")
    car = f.vehicle(owner)
    db.session.commit()
    auth.login(adv)
    for q in (car.plate, owner.phone, "悟空"):
        page = client.get("/admin/crm_customers/", query_string={"q": q})
        assert page.status_code == 200 and f"/admin/crm_customers/{owner.id}" in page.text
    huge = client.get("/admin/crm_customers/", query_string={"q": "王" * 5000})
    assert huge.status_code == 200


def test_an_order_number_finds_its_customer_in_any_case(db, f):
    from datetime import UTC, datetime

    from shop.models import Order
    from tests.crm.test_funnel import _order

    store = f.store()
    adv = f.advisor(store)
    buyer = f.owner(store, name="周杰")
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    db.session.add(
        Order(number="M4S20261102A7", user_id=buyer.id, store_id=store.id, status="paid",
              stock_state="sold", delivery="pickup", payment="store", total_fen=9900,
              created_at=at, hold_expires_at=at)
    )  # fmt: skip
    _order(store, adv, signed=at)
    sale = db.session.scalar(select(SalesOrder).where(SalesOrder.store_id == store.id))
    db.session.commit()
    assert customer_search.find_customers(adv, "m4s20261102a7") == [buyer]
    found = customer_search.find_customers(adv, sale.number.lower())
    assert [c.id for c in found] == [sale.customer_id]
    assert customer_search.find_customers(f.advisor(f.store()), "M4S20261102A7") == []


def test_a_tag_alone_lists_tagged_customers_of_the_store_and_of_its_leads(db, f):
    from crm.profile_models import CustomerTag, Tag

    mine, theirs = f.store(), f.store()
    adv = f.advisor(mine)
    tagged, untagged = f.owner(mine, name="甲"), f.owner(mine, name="乙")
    visitor = f.owner(theirs, name="丙")
    tag = Tag(store_id=mine.id, name="VIP")
    db.session.add(tag)
    db.session.flush()
    for who in (tagged, visitor):
        db.session.add(CustomerTag(customer_id=who.id, tag_id=tag.id))
    db.session.commit()
    assert customer_search.find_customers(adv, "", tag="VIP") == [tagged]
    svc.capture(svc.Inquiry(name="丙", phone=visitor.phone, store=mine, source=PHONE))
    db.session.commit()
    found = customer_search.find_customers(adv, "", tag="VIP")
    assert [c.id for c in found] == [visitor.id, tagged.id] and untagged not in found


def test_a_phone_or_plate_typed_in_full_width_or_with_chinese_still_finds_its_customer(db, f):
    store = f.store()
    adv = f.advisor(store)
    owner = f.owner(store, name="林黛玉", phone="13800138000")
    car = f.vehicle(owner)
    db.session.commit()
    wide = owner.phone.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    assert customer_search.find_customers(adv, wide) == [owner]  # １３８...: digits all the same
    assert customer_search.find_customers(adv, car.plate.lower()) == [owner]
    assert customer_search.find_customers(adv, "黛玉") == [owner]  # a name: no identifier parts


def test_those_who_see_every_store_search_names_of_three_characters_or_more(f, db, client, auth):
    """A surname alone would read the whole group's names: an admin types three characters
    of a name, while exact identifiers still match in full; store staff are not limited."""
    a, b = f.store(), f.store()
    wang = f.owner(a, name="王芳")
    other = f.owner(b, name="王芳芳")
    db.session.commit()
    admin = f.admin()
    assert customer_search.find_customers(admin, "王芳") == []
    assert customer_search.find_customers(admin, wang.phone) == [wang]
    assert customer_search.find_customers(admin, "王芳芳") == [other]
    assert wang in customer_search.find_customers(f.manager(a), "王芳")
    auth.login(admin)
    page = client.get("/admin/crm_customers/?q=王芳").get_data(as_text=True)
    assert 'id="customer-search-short"' in page and f"/admin/crm_customers/{wang.id}" not in page
    full = client.get("/admin/crm_customers/?q=王芳芳").get_data(as_text=True)
    assert 'id="customer-search-short"' not in full and f"/admin/crm_customers/{other.id}" in full
