"""The audit log as staff read it: a label for every action, the record linked, filters by
action, staff member and days of the store's calendar, and a keyset pager."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from admin.audit_labels import ACTION_LABELS
from portal.extensions import db
from portal.models import AuditEvent
from tests.admin.test_store_time import _read

# 2026-11-30 17:00 UTC is 1 December 01:00 in Shanghai: another day in the store's calendar.
LATE_UTC = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
EARLY_UTC = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.fixture
def log(f):
    """Store A's manager and advisor, one booking, and events of both stores."""
    store, other = f.store(), f.store()
    manager = f.manager(store, locale="zh_CN")
    advisor = f.advisor(store, name="王顾问")
    owner = f.owner(store)
    booking = f.booking(owner, store)
    far = f.manager(other, name="乙店经理")
    rows = [
        AuditEvent(at=EARLY_UTC, actor_id=advisor.id, store_id=store.id, action="booking_accepted",
                   target_type="Booking", target_id=booking.id),
        AuditEvent(at=EARLY_UTC + timedelta(hours=1), actor_id=manager.id, store_id=store.id,
                   action="lead_reassigned", target_type="Lead", target_id=7),
        AuditEvent(at=LATE_UTC, actor_id=advisor.id, store_id=store.id,
                   action="customer_profile_changed", target_type="User", target_id=owner.id),
        AuditEvent(at=EARLY_UTC, actor_id=far.id, store_id=other.id, action="booking_rejected"),
    ]  # fmt: skip
    db.session.add_all(rows)
    db.session.commit()
    return manager, advisor, owner, booking


def _page(client, query=None) -> str:
    response = client.get("/admin/audit/", query_string=query or {})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def _rows_text(body: str) -> str:
    """The visible text of the list (the filter data, which holds the codes as values, apart)."""
    return " ".join(_read(body).texts)


def _options(body: str) -> dict[str, list[str]]:
    """Each filter's option labels, by the filter's name."""
    (groups,) = _read(body).filters
    return {
        name: [str(label) for flt in flts for _code, label in flt["options"] or ()]
        for name, flts in groups.items()
    }


def _arg(body: str, name: str, operation: str) -> str:
    (groups,) = _read(body).filters
    flt = next(f for f in groups[name] if f["operation"] == operation)
    return f"flt0_{flt['arg']}"


def test_the_log_in_chinese_shows_labels_and_links_never_a_raw_code(auth, log):
    manager, _advisor, owner, booking = log
    auth.login(manager)
    body = _page(auth.client)
    text = _rows_text(body)
    for code in ACTION_LABELS:
        assert code not in text, code
    for raw in ("Booking", "Lead", "User", "Record", "Action"):
        assert raw not in text, raw
    assert "预约已受理" in text and "线索已改派" in text and "客户档案已修改" in text
    assert "预约 #" in text and "线索 #7" in text and "客户 #" in text
    assert f'href="/admin/workshop/{booking.id}/card"' in body
    assert f'href="/admin/crm_customers/{owner.id}"' in body
    assert "预约已婉拒" not in text  # another store's event
    options = _options(body)
    assert "预约已受理" in options["操作"]  # the action filter offers labels
    assert "booking_accepted" not in options["操作"]
    assert "王顾问" in options["员工"]  # the staff filter: the store's staff only
    assert "乙店经理" not in options["员工"]


def test_the_log_filters_by_action_staff_member_and_store_days(auth, log):
    manager, advisor, _owner, _booking = log
    auth.login(manager)
    body = _page(auth.client)
    by_action = _arg(body, "操作", "等于")
    text = _rows_text(_page(auth.client, {by_action: "lead_reassigned"}))
    assert "线索已改派" in text and "预约已受理" not in text
    by_staff = _arg(body, "员工", "等于")
    text = _rows_text(_page(auth.client, {by_staff: str(advisor.id)}))
    assert "预约已受理" in text and "客户档案已修改" in text and "线索已改派" not in text
    days = _arg(body, "日期范围", "之间")
    # 30 November in Shanghai holds the two early events; the late one is on 1 December there.
    text = _rows_text(_page(auth.client, {days: "2026-11-30 to 2026-11-30"}))
    assert "预约已受理" in text and "线索已改派" in text and "客户档案已修改" not in text
    text = _rows_text(_page(auth.client, {days: "2026-12-01 to 2026-12-01"}))
    assert "客户档案已修改" in text and "预约已受理" not in text


@pytest.mark.parametrize(
    "value",
    ["abc", "-1", "99999999999999999999", "2026-13-01 to 2026-12-01", "9999-12-31 to 9999-12-31"],
)
def test_a_bad_filter_value_changes_nothing_and_is_no_500(auth, log, value):
    manager, *_ = log
    auth.login(manager)
    body = _page(auth.client)
    for name, operation in (("员工", "等于"), ("日期范围", "之间"), ("操作", "等于")):
        _page(auth.client, {_arg(body, name, operation): value})


def test_the_log_pages_by_a_keyset_and_keeps_its_filters(auth, log):
    manager, advisor, *_ = log
    store_id = manager.store_id
    db.session.add_all(
        AuditEvent(
            at=EARLY_UTC - timedelta(minutes=i // 2),
            actor_id=advisor.id,
            store_id=store_id,
            action="login",
            target_type="",
            target_id=None,
        )
        for i in range(60)
    )  # fmt: skip  (pairs share a time: the id breaks the tie)
    db.session.commit()
    auth.login(manager)
    by_staff = _arg(_page(auth.client), "员工", "等于")
    seen = []
    query = {by_staff: str(advisor.id)}
    for _ in range(5):
        body = _page(auth.client, query)
        ids = [int(i) for i in re.findall(r"/admin/audit/details/\?id=(\d+)", body)]
        seen += list(dict.fromkeys(ids))
        older = re.search(r'id="audit-older" href="([^"]+)"', body)
        if older is None:
            break
        href = older.group(1).replace("&amp;", "&")
        assert f"{by_staff}={advisor.id}" in href and "page=" not in href
        query = dict(re.findall(r"[?&]([^=&]+)=([^&]*)", href))
    assert len(seen) == 62 == len(set(seen))  # the advisor's 60 logins and 2 events, each once


def test_a_foreign_or_bad_cursor_shows_the_newest_page(auth, log, f):
    manager, *_ = log
    other = db.session.query(AuditEvent).filter(AuditEvent.store_id != manager.store_id).one()
    auth.login(manager)
    newest = _rows_text(_page(auth.client))
    for cursor in (str(other.id), "x", "0", "99999999999999999999"):
        assert _rows_text(_page(auth.client, {"before": cursor})) == newest


def test_the_details_page_names_the_action_and_links_the_record(auth, log):
    manager, _advisor, _owner, booking = log
    event = db.session.query(AuditEvent).filter_by(action="booking_accepted").one()
    auth.login(manager)
    response = auth.client.get(f"/admin/audit/details/?id={event.id}")
    body = response.get_data(as_text=True)
    assert "预约已受理" in body and "booking_accepted" not in body
    assert f'href="/admin/workshop/{booking.id}/card"' in body
