"""The back office's privacy policy page: admins publish the next version, see who accepted
each one and what changed; bad input is refused and publishes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from portal.models.consents import PolicyVersion
from portal.services import policy

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _form(day, zh="第一条 我们收集手机号。", en="1. We collect your phone number.", **kw):
    return {"effective": day.isoformat(), "text_zh": zh, "text_en": en, **kw}


def _versions(db) -> int:
    return db.session.scalar(select(func.count(PolicyVersion.id)))


def test_an_admin_publishes_a_version_owners_then_must_accept(client, auth, f, db, clock):
    clock.now = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    owner = f.owner(f.store("A"))
    admin = f.admin()
    db.session.commit()
    auth.login(admin)
    today = clock.now.astimezone(SHANGHAI).date()
    r = client.post(
        "/admin/privacy_policy/publish",
        data=_form(today, summary_zh="新增手机号用途说明", summary_en="Why we keep your phone"),
    )
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/privacy_policy/1")
    row = db.session.scalar(select(PolicyVersion))
    # In force from 00:00 that day in the store group's zone, so at once.
    assert row.effective_at == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    assert row.published_by_id == admin.id and row.summary_zh == "新增手机号用途说明"
    assert policy.pending_policy(owner).id == row.id
    page = client.get("/admin/privacy_policy/1").get_data(as_text=True)
    assert "第一条 我们收集手机号。" in page and "Why we keep your phone" in page


def test_the_list_counts_acceptances_and_shows_each_versions_state(client, auth, f, db, clock):
    clock.now = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    store = f.store("A")
    owners = [f.owner(store) for _ in range(4)]
    admin = f.admin()
    v1 = policy.publish_policy(
        None, text_zh="旧", text_en="old", effective_at=clock.now - timedelta(days=30)
    )
    v2 = policy.publish_policy(None, text_zh="新", text_en="new", effective_at=clock.now)
    v3 = policy.publish_policy(
        None, text_zh="下一版", text_en="next", effective_at=clock.now + timedelta(days=10)
    )
    for o in owners[:3]:
        policy.accept_policy(o, v1, source="registration")
    policy.accept_policy(owners[0], v2, source="policy_prompt")
    db.session.commit()
    auth.login(admin)
    page = client.get("/admin/privacy_policy/").get_data(as_text=True)
    rows = {v: page.split(f'id="version-{v}"')[1].split("</tr>")[0] for v in (1, 2, 3)}
    assert "3 / 4" in rows[1] and "(75 %)" in rows[1] and "Replaced" in rows[1]
    assert "1 / 4" in rows[2] and "In force" in rows[2]
    assert "0 / 4" in rows[3] and "Scheduled" in rows[3]
    assert v3.version == 3


def test_a_version_shows_what_changed_from_the_one_before(client, auth, f, db):
    admin = f.admin()
    policy.publish_policy(
        None,
        text_zh="第一条\n第二条 旧的说法\n第三条",
        text_en="One\nTwo\nThree",
        effective_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    policy.publish_policy(
        None,
        text_zh="第一条\n第二条 新的说法\n第三条",
        text_en="One\nTwo\nThree",
        effective_at=datetime(2026, 2, 1, tzinfo=UTC),
    )
    db.session.commit()
    auth.login(admin)
    page = client.get("/admin/privacy_policy/2").get_data(as_text=True)
    assert "-第二条 旧的说法" in page and "+第二条 新的说法" in page
    assert "No change." in page  # the English text is the same
    assert client.get("/admin/privacy_policy/9").status_code == 404


def test_bad_input_is_refused_and_publishes_nothing(client, auth, f, db, clock):
    clock.now = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    admin = f.admin()
    db.session.commit()
    auth.login(admin)
    today = clock.now.astimezone(SHANGHAI).date()
    cases = [
        (_form(today - timedelta(days=1)), "cannot come into force in the past"),
        (_form(today, zh="   "), "This field is required"),
        (_form(today, en=""), "This field is required"),
        (_form(today, en="x" * 100_001), "Field cannot be longer than 100000"),
        ({"effective": "not-a-day", "text_zh": "a", "text_en": "b"}, "Not a valid date"),
        (_form(today, summary_zh="长" * 301), "cannot be longer than 300"),
        ({}, "This field is required"),
    ]
    for data, message in cases:
        r = client.post("/admin/privacy_policy/publish", data=data)
        assert r.status_code == 422, data.get("effective")
        assert message in r.get_data(as_text=True)
    assert _versions(db) == 0


def test_the_form_starts_from_the_latest_text(client, auth, f, db):
    admin = f.admin()
    policy.publish_policy(
        None,
        text_zh="现行条款",
        text_en="Current terms",
        effective_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    db.session.commit()
    auth.login(admin)
    page = client.get("/admin/privacy_policy/").get_data(as_text=True)
    assert "现行条款</textarea>" in page and "Current terms</textarea>" in page
