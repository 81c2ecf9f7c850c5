"""A leaving advisor: customers, open leads, tasks, booked test drives and vettings all move."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from crm import leads as svc
from crm import test_drives as drives
from crm.models import PORTAL, TASK_DONE, Lead, Task
from crm.pipeline_models import DriveBooking
from portal.models import AuditEvent, UsedCarRequest, User
from portal.services import usedcars
from portal.timeutil import now
from tests import factories
from tests.test_access_matrix import _png


def _capture(store, phone):
    return svc.capture(svc.Inquiry(name="客户", phone=phone, store=store, source=PORTAL)).lead


def _leaver_with_work(f, db):
    """Store with a leaving advisor who owns two customers' leads, a colleague's customer's lead,
    a done task, a booked test drive and a vetting in review; two colleagues and a manager."""
    store = f.store()
    boss = f.manager(store)
    leaver = f.advisor(store)
    own_a, own_b, foreign = (
        _capture(store, p) for p in ("13900000201", "13900000202", "13900000203")
    )
    db.session.commit()
    stay, other = f.advisor(store), f.advisor(store)
    foreign.customer.advisor_id = stay.id  # the customer is a colleague's; the lead was not
    done = Task(
        customer_id=own_a.customer_id, store_id=store.id, owner_id=leaver.id,
        kind="follow_up", status=TASK_DONE, due_at=now(), done_at=now(),
    )  # fmt: skip
    db.session.add(done)
    car = drives.add_car(boss, store, "丰田", "丰田 凯美瑞", "Toyota Camry", "")
    slot = drives.slots(store, now().date() + timedelta(days=2))[0]
    drive = drives.book(
        boss, own_b, car, slot.starts_at, licence_no="110101199003074477",
        licence_valid_until=date(2099, 1, 1), licence_seen=True,
    )  # fmt: skip
    drive.advisor_id = leaver.id
    seller = f.owner(store)
    vetting = usedcars.submit_request(
        seller, vin=factories.vin(), brand="丰田", series="凯美瑞", model_year=2020,
        mileage_km=40_000, first_registered_on=date(2020, 5, 1),
        asking_price_fen=10_000_000, photos=[_png()],
    )  # fmt: skip
    usedcars.start_review(leaver, vetting, leaver)
    db.session.commit()
    return store, boss, leaver, stay, other, (own_a, own_b, foreign), done, drive, vetting


def test_the_leave_page_previews_and_moves_open_work_with_the_customers(client, auth, f, db):
    store, boss, leaver, stay, other, leads, done, drive, vetting = _leaver_with_work(f, db)
    own_a, own_b, foreign = leads
    ids = {
        "leaver": leaver.id, "stay": stay.id, "other": other.id, "done": done.id,
        "drive": drive.id, "vetting": vetting.id,
    }  # fmt: skip
    lead_ids = [lead.id for lead in leads]
    auth.login(boss)
    page = client.get(f"/admin/advisors/{ids['leaver']}/leave").get_data(as_text=True)
    assert '<strong data-kind="leads">3</strong>' in page
    # Two first contacts: booking the test drive was the third lead's contact; done work stays.
    assert '<strong data-kind="tasks">2</strong>' in page
    assert '<strong data-kind="test_drives">1</strong>' in page
    assert '<strong data-kind="vettings">1</strong>' in page

    got = client.post(
        f"/admin/advisors/{ids['leaver']}/leave",
        data={"mode": "spread", "spread": [ids["stay"], ids["other"]]},
    )
    assert got.status_code == 303
    db.session.expire_all()
    lead_rows = [db.session.get(Lead, i) for i in lead_ids]
    # Each of the leaver's own customers went to one colleague; their lead went with them.
    for lead in lead_rows[:2]:
        assert lead.advisor_id == lead.customer.advisor_id in (ids["stay"], ids["other"])
    assert lead_rows[2].advisor_id in (ids["stay"], ids["other"])
    for lead in lead_rows:
        live = [t for t in lead.tasks if t.done_at is None]
        assert all(t.owner_id == lead.advisor_id for t in live)
    assert {t.owner_id for t in lead_rows[2].tasks} == {lead_rows[2].advisor_id}
    assert db.session.get(Task, ids["done"]).owner_id == ids["leaver"]  # history stays
    assert db.session.get(DriveBooking, ids["drive"]).advisor_id == lead_rows[1].advisor_id
    assert db.session.get(UsedCarRequest, ids["vetting"]).expert_id in (ids["stay"], ids["other"])
    assert not db.session.get(User, ids["leaver"]).is_active
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "open_work_reassigned"))
    assert audit.detail == {"leads": 3, "tasks": 2, "test_drives": 1, "vettings": 1}
    assert "reassigned" in [e.kind for e in lead_rows[0].events]


def test_a_refused_leave_moves_nothing(client, auth, f, db):
    store, boss, leaver, stay, other, leads, done, drive, vetting = _leaver_with_work(f, db)
    leaver_id, lead_ids = leaver.id, [lead.id for lead in leads]
    auth.login(boss)
    got = client.post(f"/admin/advisors/{leaver_id}/leave", data={"mode": "spread"})
    assert got.status_code == 422
    db.session.expire_all()
    assert all(db.session.get(Lead, i).advisor_id == leaver_id for i in lead_ids)
    assert db.session.get(User, leaver_id).is_active
    assert db.session.get(UsedCarRequest, vetting.id).expert_id == leaver_id
