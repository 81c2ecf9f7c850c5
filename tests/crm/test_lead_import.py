"""Platform lead import (Autohome, Dongchedi, Yiche): the platform is told from the header, the
dry run lists row errors and warnings, the import is all or nothing, routed like any lead, and
importing the same export again adds nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from admin.imports import read_table
from crm import hours
from crm import lead_import as svc
from crm.lead_import_models import PlatformLead
from crm.models import AUTOHOME, DONGCHEDI, FIRST_CONTACT, YICHE, Lead, LeadEvent, Task
from portal.errors import ValidationError
from portal.models import MaintenancePlan, OutboxMessage, User
from tests.crm.test_after_hours import at_local
from tests.threads import at_once

DATA = Path(__file__).resolve().parent.parent / "data" / "lead_imports"
SH = timedelta(hours=8)


def sample(name: str) -> list[list[str]]:
    return read_table((DATA / name).read_bytes())


def table(*lines: str, header: str = "线索ID,客户姓名,手机号,意向车系,线索创建时间,预计购车时间"):
    return [row.split(",") for row in (header, *lines)]


def _counts(db) -> tuple[int, int, int, int]:
    db.session.expire_all()
    return tuple(
        db.session.scalar(select(func.count(m.id))) for m in (User, Lead, Task, PlatformLead)
    )


@pytest.fixture
def shop(f, db, clock):
    clock.now = at_local(2026, 12, 3, 10)  # Thursday 10:00, the store is open
    store = f.store("A")
    advisors, boss = [f.advisor(store), f.advisor(store)], f.manager(store)
    for series in ("汉EV", "宋PLUS"):  # the models the group knows
        db.session.add(MaintenancePlan(name=series, brand="比亚迪", series=series))
    db.session.commit()
    return SimpleNamespace(store=store, advisors=advisors, manager=boss)


def test_each_sample_export_tells_its_platform_and_gbk_is_read(app, db):
    with app.test_request_context():
        assert svc.detect_platform(sample("autohome.csv")[0]) == AUTOHOME
        assert svc.detect_platform(sample("dongchedi_gbk.csv")[0]) == DONGCHEDI
        assert svc.detect_platform(sample("yiche.csv")[0]) == YICHE
        assert sample("dongchedi_gbk.csv")[1][1] == "赵先生"
        assert svc.detect_platform(["姓名", "手机号", "备注"]) is None  # shared columns only
        assert svc.timeframe_of("半个月内") == "15d" and svc.timeframe_of("1个月内") == "30d"
        assert svc.timeframe_of("3个月内") == "90d" and svc.timeframe_of("半年以上") == "later"


def test_the_dry_run_reports_each_row_and_changes_nothing(app, f, db, shop):
    customer = f.owner(shop.store, phone="13900009999")
    with app.test_request_context():
        done = svc.check_rows(sample("autohome.csv"), shop.store, AUTOHOME)
        svc.apply_rows(sample("autohome.csv"), shop.store, AUTOHOME, shop.manager)
        db.session.commit()
        before = _counts(db)
        rows = svc.check_rows(
            table(
                "N1,甲,1390000,汉EV,2026-12-01 09:00:00,",  # bad phone
                "N2,乙,,汉EV,2026-12-01 09:00:00,",  # no phone
                "N3,丙,13900005003,火星车,2026-12-01 09:00:00,",  # unknown model: a warning
                "N3,丁,13900005004,汉EV,2026-12-01 09:00:00,",  # the id of line 4 again
                "N5,戊,139 0000 5003,汉EV,2026-12-01 09:00:00,",  # the phone of line 4 again
                "N6,己,13900005006,汉EV,昨天,",  # bad time
                "AH20261201001,王先生,13900001001,汉EV,2026-12-01 09:15:22,",  # imported before
                f"N8,庚,{customer.phone},,2026-12-01 09:00:00,",  # a known customer
                f"N9,辛,{shop.advisors[0].phone},,2026-12-01 09:00:00,",  # staff
            ),
            shop.store,
            AUTOHOME,
        )
    assert all(not r.errors for r in done)
    by_line = {r.line: r for r in rows}
    assert by_line[2].errors == ["Bad phone number: 1390000"]
    assert by_line[3].errors == ["The phone number is missing."]
    assert not by_line[4].errors and by_line[4].warnings == [
        "Unknown model 火星车: kept as written."
    ]
    assert by_line[5].errors == ["Duplicate row: the same lead ID as line 4."]
    assert by_line[6].errors == ["Duplicate row: the same phone number as line 4."]
    assert by_line[7].errors == ["Bad creation time: 昨天"]
    assert by_line[8].outcome == "skipped" and not by_line[8].errors
    assert by_line[9].outcome == "new" and by_line[9].customer_id == customer.id
    assert by_line[10].errors == ["This number belongs to a staff account."]
    assert _counts(db) == before


def test_import_routes_every_lead_keeps_the_platform_time_and_counts_contact_from_now(
    app, db, shop, clock
):
    with app.test_request_context():
        counts = svc.apply_rows(sample("autohome.csv"), shop.store, AUTOHOME, shop.manager)
        db.session.commit()
        due = hours.first_contact(shop.store, clock.now).due_at
    assert counts == {"rows": 3, "new": 3, "joined": 0, "skipped": 0}
    leads = db.session.scalars(select(Lead).order_by(Lead.id)).all()
    assert [lead.source for lead in leads] == [AUTOHOME] * 3
    assert leads[0].created_at == datetime(2026, 12, 1, 9, 15, 22, tzinfo=UTC) - SH
    assert {lead.arrived_at for lead in leads} == {clock.now}
    assert [lead.timeframe for lead in leads] == ["30d", "7d", "90d"]
    assert leads[1].customer.phone == "13900001002" and "佛山" in leads[1].note
    owners = Counter(lead.advisor_id for lead in leads)
    assert set(owners) == {a.id for a in shop.advisors}  # round robin, none unassigned
    for lead in leads:
        (task,) = lead.tasks
        assert task.kind == FIRST_CONTACT and task.owner_id == lead.advisor_id
        assert (
            task.due_at
            == due
            == clock.now + timedelta(minutes=shop.store.first_contact_minutes or 5)
        )
    ids = set(db.session.scalars(select(PlatformLead.external_id)))
    assert ids == {"AH20261201001", "AH20261201002", "AH20261201003"}


def test_importing_the_same_export_again_adds_nothing(app, db, shop):
    with app.test_request_context():
        svc.apply_rows(sample("yiche.csv"), shop.store, YICHE, shop.manager)
        db.session.commit()
        before = _counts(db)
        again = svc.apply_rows(sample("yiche.csv"), shop.store, YICHE, shop.manager)
        db.session.commit()
    assert again == {"rows": 2, "new": 0, "joined": 0, "skipped": 2}
    assert _counts(db) == before


def test_a_known_customer_with_an_open_lead_gets_it_added_to(app, f, db, shop):
    from crm import leads as crm_leads

    with app.test_request_context():
        open_lead = crm_leads.capture(
            crm_leads.Inquiry(name="赵先生", phone="13900002001", store=shop.store, source="phone")
        ).lead
        db.session.commit()
        counts = svc.apply_rows(sample("dongchedi_gbk.csv"), shop.store, DONGCHEDI, shop.manager)
        db.session.commit()
    assert counts == {"rows": 2, "new": 1, "joined": 1, "skipped": 0}
    assert db.session.scalar(select(func.count(Lead.id))) == 2
    assert open_lead.model_interest == "汉EV"
    note = db.session.scalar(
        select(LeadEvent.note).where(LeadEvent.lead_id == open_lead.id, LeadEvent.kind == "repeat")
    )
    assert "DCD7001" in note and "晚上方便接电话" in note
    ref = db.session.scalar(select(PlatformLead).where(PlatformLead.external_id == "DCD7001"))
    assert ref.lead_id == open_lead.id


def test_after_hours_the_first_contact_is_due_at_opening_and_the_customer_is_not_messaged(
    app, db, shop, clock
):
    clock.now = at_local(2026, 12, 3, 20, 30)  # Thursday evening, closed since 18:00
    with app.test_request_context():
        svc.apply_rows(sample("yiche.csv"), shop.store, YICHE, shop.manager)
        db.session.commit()
    dues = set(db.session.scalars(select(Task.due_at)))
    assert dues == {at_local(2026, 12, 4, 8, 30)}
    phones = ("13900003001", "13900003002")
    customers = select(User.id).where(User.phone.in_(phones))
    assert not db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.user_id.in_(customers))
    )


def test_a_bad_row_means_nothing_is_imported(app, db, shop):
    before = _counts(db)
    with app.test_request_context(), pytest.raises(ValidationError) as info:
        svc.apply_rows(
            table(
                "G1,好,13900006001,汉EV,2026-12-01 09:00:00,",
                "G2,坏,1234,汉EV,2026-12-01 09:00:00,",
            ),
            shop.store,
            AUTOHOME,
            shop.manager,
        )
    db.session.rollback()
    assert "1 rows have errors" in info.value.message
    assert _counts(db) == before


def test_bad_tables_are_refused_with_a_reason(app, db, shop, monkeypatch):
    with app.test_request_context():
        with pytest.raises(ValidationError, match="no leads"):
            svc.check_rows(table(), shop.store, AUTOHOME)
        with pytest.raises(ValidationError, match="Columns missing from the file: 线索ID"):
            svc.check_rows(
                table("1,甲,13900007001", header="编号,客户姓名,手机号"), shop.store, AUTOHOME
            )
        with pytest.raises(ValidationError, match="platform"):
            svc.check_rows(table("1,甲,13900007001,,,"), shop.store, "weibo")
        monkeypatch.setitem(app.config, "LEAD_IMPORT_MAX_ROWS", 2)
        with pytest.raises(ValidationError, match="more than 2 rows"):
            svc.check_rows(
                table(*[f"L{i},甲,1390000700{i},,," for i in range(3)]), shop.store, AUTOHOME
            )


def test_the_database_keeps_one_platform_id_per_store(app, db, shop):
    with app.test_request_context():
        svc.apply_rows(sample("yiche.csv"), shop.store, YICHE, shop.manager)
        db.session.commit()
    ref = db.session.scalars(select(PlatformLead)).first()
    db.session.add(
        PlatformLead(
            store_id=ref.store_id,
            source=YICHE,
            external_id=ref.external_id,
            lead_id=ref.lead_id,
            submitted_at=ref.submitted_at,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_two_managers_importing_one_export_at_once_import_it_once(app, db, shop):
    store_id, manager_id = shop.store.id, shop.manager.id
    rows = sample("autohome.csv")

    def work():
        from portal.extensions import db as session_db
        from portal.models import Store

        with app.test_request_context("/admin/lead_imports/apply", method="POST"):
            store = session_db.session.get(Store, store_id)
            manager = session_db.session.get(User, manager_id)
            return svc.apply_rows(rows, store, AUTOHOME, manager)["new"]

    results = at_once(app, work, 2)
    assert results.count(3) == 1, results
    (other,) = [r for r in results if r != 3]
    assert other == 0 or "IntegrityError" in str(other), results  # skipped, or refused whole
    assert db.session.scalar(select(func.count(Lead.id))) == 3
    assert db.session.scalar(select(func.count(PlatformLead.id))) == 3


def test_the_demo_imports_an_autohome_export_once(app, db):
    from admin.demo_imports import load_platform_leads_demo
    from admin.models import ImportJob
    from portal.demo import load_demo

    load_demo(owners=12)
    db.session.commit()
    with app.app_context():
        made = load_platform_leads_demo()
        db.session.commit()
        again = load_platform_leads_demo()
        db.session.commit()
    assert made == {"import_jobs": 1} and again == {"import_jobs": 0}
    job = db.session.scalar(select(ImportJob))
    assert (job.status, job.total_rows, job.created, job.failed) == ("done", 3, 3, 0)
    leads = db.session.scalars(select(Lead).where(Lead.source == AUTOHOME)).all()
    assert len(leads) == 3 and all(lead.advisor_id and lead.tasks for lead in leads)


def test_speed_to_lead_counts_an_imported_lead_from_its_import(app, db, shop, clock):
    from crm import leads as crm_leads
    from crm import stats

    with app.test_request_context():
        svc.apply_rows(sample("yiche.csv"), shop.store, YICHE, shop.manager)
        db.session.commit()
    imported = clock.now
    clock.advance(minutes=3)
    for lead in db.session.scalars(select(Lead)):
        crm_leads.mark_contacted(shop.manager, lead)
    db.session.commit()
    report = stats.speed_report(shop.manager, imported - timedelta(days=7), clock.now)
    [row] = report.by_source
    assert (row.advisor, row.leads, row.contacted, row.median_min) == (YICHE, 2, 2, 3)
    assert row.on_time == 2  # a day on the platform does not count against the advisor
