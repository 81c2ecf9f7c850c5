"""Back-office lists at scale: indexed search, bounded counts, the page's ids first."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select, text

from admin import listing
from portal.extensions import db
from portal.models import User
from portal.models.bookings import ACCEPTED, REJECTED


def _plates(html: str) -> list[str]:
    return re.findall(r"(?:粤|京|沪|苏|浙|川|鄂|TST)[A-Z][0-9A-Z]{5}", html)


def test_vehicles_of_a_store_sorted_by_plate_with_the_owner_shown(f, client, auth):
    a, b = f.store("A"), f.store("B")
    mine, theirs = f.owner(a, name="周杰"), f.owner(b, name="蔡琳")
    for p in ("粤B00003", "粤B00001", "粤B00002"):
        f.vehicle(mine, plate=p)
    f.vehicle(theirs, plate="粤A00001")
    auth.login(f.manager(a))
    html = client.get("/admin/vehicles_admin/?sort=0").get_data(as_text=True)
    assert _plates(html) == ["粤B00001", "粤B00002", "粤B00003"]
    assert "周杰" in html and "蔡琳" not in html
    desc = client.get("/admin/vehicles_admin/?sort=0&desc=1").get_data(as_text=True)
    assert _plates(desc) == ["粤B00003", "粤B00002", "粤B00001"]


def test_plate_and_vin_match_by_prefix_any_case(f, client, auth):
    a = f.store("A")
    owner = f.owner(a)
    f.vehicle(owner, plate="粤B12345", vin="LSVAB2AB1MN000001")
    f.vehicle(owner, plate="粤B99999", vin="LFVAB2AB1MN000002")
    f.vehicle(owner, plate="京A12345", vin="LSVXX2AB1MN000003")
    auth.login(f.admin())
    url = "/admin/vehicles_admin/?search="
    assert _plates(client.get(url + "粤B1").get_data(as_text=True)) == ["粤B12345"]
    assert sorted(_plates(client.get(url + "lsv").get_data(as_text=True))) == [
        "京A12345",
        "粤B12345",
    ]
    assert _plates(client.get(url + "12345").get_data(as_text=True)) == []  # not a prefix


def test_owner_search_by_name_phone_and_email(f, client, auth):
    a = f.store("A")
    f.owner(a, name="王伟", phone="13811112222", email="wang@example.com")
    f.owner(a, name="王伟明", phone="13933334444", email="wm@example.com")
    f.owner(a, name="李伟", phone="13855556666", email="li@example.com")
    auth.login(f.manager(a))

    def found(term: str) -> set[str]:
        html = client.get("/admin/owners/", query_string={"search": term}).get_data(as_text=True)
        return {p for p in ("13811112222", "13933334444", "13855556666") if p in html}

    assert found("王伟") == {"13811112222", "13933334444"}  # two characters: the name's start
    assert found("伟明") == set()  # not a name's start
    assert found("王伟明") == {"13933334444"}  # three: anywhere in the name
    assert found("1385555") == {"13855556666"}  # phone by prefix
    assert found("5556666") == set()  # not a prefix
    assert found("WANG@example.com") == {"13811112222"}  # email exactly
    assert found("王伟 1381") == {"13811112222"}  # every term must match


def test_a_term_too_short_finds_nothing_and_says_why(f, client, auth):
    a = f.store("A")
    f.owner(a, name="王伟", phone="13811112222")
    auth.login(f.manager(a))
    html = client.get("/admin/owners/?search=王").get_data(as_text=True)
    assert "Search needs at least 2 characters" in html
    assert "13811112222" not in html


def test_search_text_with_like_wildcards_is_literal(f, client, auth):
    a = f.store("A")
    f.owner(a, name="王伟", phone="13811112222")
    auth.login(f.manager(a))
    for term in ("%%", "__", "1_8", "王%"):
        html = client.get("/admin/owners/", query_string={"search": term}).get_data(as_text=True)
        assert "13811112222" not in html, term


def test_count_is_exact_up_to_the_limit_then_estimated(f, client, auth, monkeypatch):
    a = f.store("A")
    for i in range(4):
        f.owner(a, name=f"车主{i}")
    auth.login(f.manager(a))
    html = client.get("/admin/owners/").get_data(as_text=True)
    assert "(4)" in html and 'id="list-estimate"' not in html
    monkeypatch.setattr(listing, "COUNT_LIMIT", 3)
    html = client.get("/admin/owners/").get_data(as_text=True)
    assert "(4)" not in html
    estimate = re.search(r'id="list-estimate">([^<]+)<', html).group(1)
    if db.engine.dialect.name == "postgresql":
        assert re.fullmatch(r"(about .+ rows|more than 3)", estimate)
    else:
        assert estimate == "more than 3"


def test_home_counts_owners_without_a_full_count(f, client, auth, monkeypatch):
    a, b = f.store("A"), f.store("B")
    for _ in range(3):
        f.owner(a)
    f.owner(b)
    auth.login(f.manager(a))
    assert re.search(r'id="stat-owners">3<', client.get("/admin/").get_data(as_text=True))
    monkeypatch.setattr(listing, "COUNT_LIMIT", 2)
    html = client.get("/admin/").get_data(as_text=True)
    assert re.search(r'id="stat-owners">(more than 2|about [^<]+ rows)<', html)


def test_planner_estimate_on_postgresql_only(app, f):
    a = f.store("A")
    f.owner(a)
    rows = select(User.id).where(User.role == "owner")
    estimate = listing.planner_estimate(rows)
    if db.engine.dialect.name == "postgresql":
        assert isinstance(estimate, int) and estimate >= 1
    else:
        assert estimate is None


def _decided(f, store, owner, status, n):
    from tests.factories import booking

    rows = []
    for i in range(n):
        b = booking(owner, store, days=1 + i % 5, hour=9 + i % 6)
        b.status = status
        b.decided_at = b.created_at
        rows.append(b)
    db.session.commit()
    return rows


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<td class="col-id">\s*(\d+)', html)]


def test_reviewed_bookings_sorted_by_status(f, client, auth):
    a = f.store("A", bays=20)
    owner = f.owner(a, name="赵磊")
    rejected = _decided(f, a, owner, REJECTED, 2)
    accepted = _decided(f, a, owner, ACCEPTED, 3)
    auth.login(f.admin())
    html = client.get("/admin/reviewed/?sort=1").get_data(as_text=True)
    ids = _ids(html)
    assert sorted(ids[:3]) == sorted(b.id for b in accepted)
    assert sorted(ids[3:]) == sorted(b.id for b in rejected)
    assert "赵磊" in html
    newest = _ids(client.get("/admin/reviewed/").get_data(as_text=True))
    assert newest == sorted(newest, reverse=True) and len(newest) == 5
    past_the_end = client.get("/admin/reviewed/?sort=1&page=7")
    assert past_the_end.status_code == 200 and _ids(past_the_end.get_data(as_text=True)) == []


def test_a_list_page_loads_ids_first_and_no_password_hashes(f, client, auth):
    a = f.store("A", bays=20)
    owner = f.owner(a, name="赵磊")
    _decided(f, a, owner, ACCEPTED, 3)
    auth.login(f.admin())
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get("/admin/reviewed/?sort=1").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    sorted_ = [s for s in seen if "ORDER BY bookings.status" in s]
    assert len(sorted_) == 1
    assert sorted_[0].split("FROM")[0].count(",") == 0  # the sorted query reads ids only
    assert "JOIN users" not in sorted_[0]


@pytest.mark.parametrize("term", ["", " ", "  \t"])
def test_a_blank_search_lists_everything(f, client, auth, term):
    a = f.store("A")
    f.owner(a, phone="13811112222")
    auth.login(f.manager(a))
    html = client.get("/admin/owners/", query_string={"search": term}).get_data(as_text=True)
    assert "13811112222" in html


def test_search_through_a_relation(f):
    from portal.models import Vehicle

    a = f.store("A")
    f.vehicle(f.owner(a, name="周杰伦"), plate="粤B11111")
    f.vehicle(f.owner(a, name="蔡依林"), plate="粤B22222")
    rules = {"owner.name": listing.NAME, "plate": listing.UPPER_PREFIX}
    conditions, too_short = listing.search_clause(Vehicle, rules, "杰伦")
    assert (
        too_short == [] and db.session.scalars(select(Vehicle.plate).where(*conditions)).all() == []
    )
    conditions, _ = listing.search_clause(Vehicle, rules, "周杰伦")
    assert db.session.scalars(select(Vehicle.plate).where(*conditions)).all() == ["粤B11111"]


def searched_plan(view, model, typed: str) -> str:
    """Return PostgreSQL's plan of a list view's search box, sequential scans made unattractive
    (on a test's few rows they would win): it shows whether an index can answer the search."""
    rules = {n: view.search_rules.get(n, listing.TEXT) for n in view.column_searchable_list}
    conditions, _short = listing.search_clause(model, rules, typed)
    stmt = select(model.id).where(*conditions)
    compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    return "\n".join(db.session.execute(text(f"EXPLAIN {compiled}")).scalars())


def test_reviewed_bookings_found_by_words_of_the_note_or_description(f, client, auth):
    """The search reads the trigram indexes of the description and the decision's note: a
    scan of every decided booking for '%text%' took seconds for the group."""
    from admin.bookings import ReviewedBookingAdmin
    from portal.models import Booking

    a = f.store("A", bays=20)
    owner = f.owner(a, name="赵磊")
    noted, described, other = _decided(f, a, owner, REJECTED, 3)
    noted.decision_note = "配件缺货,下周再约"
    described.description = "刹车异响很明显"
    db.session.commit()
    auth.login(f.admin())
    found = _ids(client.get("/admin/reviewed/?search=下周再约").get_data(as_text=True))
    assert found == [noted.id]
    assert _ids(client.get("/admin/reviewed/?search=异响很").get_data(as_text=True)) == [
        described.id
    ]
    assert _ids(client.get("/admin/reviewed/?search=刹车").get_data(as_text=True)) == [described.id]
    if db.engine.dialect.name == "postgresql":
        plan = searched_plan(ReviewedBookingAdmin, Booking, "下周再约")
        assert "ix_bookings_decision_note_trgm" in plan and "ix_bookings_description_trgm" in plan
