"""Read endpoints: scope, store limit, masking, cursor pages, ETags, problem documents."""

from __future__ import annotations

from api.models import SCOPES


def test_customers_are_listed_with_vehicles_and_masked_phones(api_as, f, db):
    store = f.store("A")
    owner = f.owner(store, phone="13800001234")
    f.vehicle(owner)
    db.session.commit()
    api = api_as(store=store)
    r = api.get("/api/v1/customers")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert [c["id"] for c in body["items"]] == [owner.id]
    assert body["items"][0]["phone"] == "138****1234"
    assert len(body["items"][0]["vehicles"]) == 1
    assert body["next_cursor"] is None


def test_a_token_with_full_phones_sees_the_whole_number(api_as, f, db):
    store = f.store("A")
    owner = f.owner(store, phone="13800001234")
    db.session.commit()
    r = api_as(store=store, full_phones=True).get(f"/api/v1/customers/{owner.id}")
    assert r.status_code == 200 and r.get_json()["phone"] == "13800001234"


def test_store_limit_hides_other_stores(api_as, f, db):
    a, b = f.store("A"), f.store("B")
    mine, theirs = f.owner(a), f.owner(b)
    booking = f.booking(theirs, b)
    db.session.commit()
    api = api_as(store=a)
    assert [c["id"] for c in api.get("/api/v1/customers").get_json()["items"]] == [mine.id]
    r = api.get(f"/api/v1/customers/{theirs.id}")
    assert r.status_code == 404 and r.content_type == "application/problem+json"
    assert api.get(f"/api/v1/bookings/{booking.id}").status_code == 404
    assert api.get("/api/v1/bookings").get_json()["items"] == []


def test_a_missing_scope_is_403_problem(api_as, f):
    api = api_as(scopes=[s for s in SCOPES if s != "cameras:read"])
    r = api.get("/api/v1/cameras")
    assert r.status_code == 403
    body = r.get_json()
    assert r.content_type == "application/problem+json"
    assert body["status"] == 403 and "cameras:read" in body["detail"]


def test_no_token_or_a_revoked_one_is_401(client, make_token, db, f):
    from api import tokens

    assert client.get("/api/v1/bookings").status_code == 401
    token, secret = make_token()
    tokens.revoke_token(token.created_by, token.id)
    db.session.commit()
    r = client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.get_json()["title"]


def test_cursor_pages_walk_every_row_once(api, f, db):
    store = f.store("A")
    owners = [f.owner(store) for _ in range(7)]
    db.session.commit()
    seen, cursor, pages = [], None, 0
    while True:
        q = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = api.get("/api/v1/customers", query_string=q).get_json()
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted((o.id for o in owners), reverse=True)
    assert pages == 3


def test_a_forged_or_foreign_cursor_is_400(api, f, db):
    from api import paging

    r = api.get("/api/v1/customers", query_string={"cursor": "abc"})
    assert r.status_code == 400 and r.content_type == "application/problem+json"
    foreign = paging.encode("bookings", 5)
    assert api.get("/api/v1/customers", query_string={"cursor": foreign}).status_code == 400


def test_etag_gives_304_until_the_data_changes(api, f, db):
    store = f.store("A")
    owner = f.owner(store)
    db.session.commit()
    first = api.get("/api/v1/customers")
    etag = first.headers["ETag"]
    again = api.get("/api/v1/customers", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    owner.name = "新名字"
    db.session.commit()
    changed = api.get("/api/v1/customers", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_cameras_never_show_their_stream_address(api, f, db):
    from workshop_video.models import Camera

    store = f.store("A")
    db.session.add(
        Camera(store_id=store.id, bay=1, name="1号工位", source="rtsp://u:secret@10.0.0.9/1")
    )
    db.session.commit()
    r = api.get("/api/v1/cameras")
    assert r.status_code == 200
    assert "rtsp" not in r.get_data(as_text=True) and "secret" not in r.get_data(as_text=True)
    assert r.get_json()["items"][0]["status"] == "unknown"


def test_unknown_api_paths_and_methods_answer_problems(api):
    r = api.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.content_type == "application/problem+json"
    r = api.client.delete("/api/v1/bookings", headers=api._headers())
    assert r.status_code == 405 and r.content_type == "application/problem+json"
    assert "GET" in r.headers["Allow"]


def test_bad_query_is_422_with_the_field(api):
    r = api.get("/api/v1/bookings", query_string={"limit": "1000"})
    assert r.status_code == 422 and r.content_type == "application/problem+json"
    assert r.get_json()["errors"][0]["field"] == "limit"


def test_last_used_time_is_noted(api_as, make_token, client, db):
    from api.models import ApiToken

    token, secret = make_token()
    assert token.last_used_at is None
    client.get("/api/v1/products", headers={"Authorization": f"Bearer {secret}"})
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at is not None


def test_problems_speak_the_clients_language(client):
    r = client.get("/api/v1/bookings", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert r.status_code == 401 and "请发送有效的 API 令牌" in r.get_json()["detail"]


def test_the_docs_page_lists_every_operation_without_outside_assets(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    for path in doc["paths"]:
        assert path in page
    assert "https://" not in page and "http://" not in page.replace("http://localhost", "")


def test_a_deep_page_is_a_keyset_query_not_an_offset(api, f, db):
    from sqlalchemy import event

    store = f.store("A")
    for day in range(1, 6):
        f.booking(f.owner(store), store, days=day)
    db.session.commit()
    cursor = api.get("/api/v1/bookings", query_string={"limit": 2}).get_json()["next_cursor"]
    statements: list[str] = []

    def record(conn, cursor_, statement, params, context, executemany):
        statements.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        r = api.get("/api/v1/bookings", query_string={"limit": 2, "cursor": cursor})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert r.status_code == 200 and len(r.get_json()["items"]) == 2
    listing = [(s, p) for s, p in statements if "FROM bookings" in s]
    assert listing and any("bookings.id <" in s for s, _p in listing)
    # SQLite's dialect always writes OFFSET, with 0: nothing is skipped row by row.
    offsets = [
        list(p.values() if isinstance(p, dict) else p)[-1] for s, p in listing if "OFFSET" in s
    ]
    assert all(offset == 0 for offset in offsets), offsets
