"""CRM pages through the client: the owner's form, staff entry, my leads, a lead, a customer."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from crm import leads as svc
from crm.models import PHONE, Lead, Task
from portal.models import AuditEvent, User


def _lead(store, phone="13812345678", **kw):
    return svc.capture(
        svc.Inquiry(name="钱先生", phone=phone, store=store, source=PHONE, **kw)
    ).lead


def test_a_visitor_asks_for_a_test_drive_and_an_advisor_owns_it_at_once(client, f, db):
    store = f.store()
    adv = f.advisor(store)
    page = client.get("/new-car/?utm_source=autohome&utm_campaign=spring&test_drive=1&model=ID.4")
    assert page.status_code == 200 and 'value="autohome"' in page.get_data(as_text=True)
    form = {
        "name": "孙女士",
        "phone": "139-0000-1234",
        "store": str(store.id),
        "model_interest": "ID.4",
        "budget": "180000",
        "timeframe": "15d",
        "test_drive": "y",
        "utm_source": "autohome",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
    }
    sent = client.post("/new-car/", data=form)
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/new-car/sent")
    lead = db.session.scalar(select(Lead))
    assert lead.customer.phone == "13900001234" and lead.advisor_id == adv.id
    assert (lead.grade, lead.budget_fen, lead.wants_test_drive) == ("A", 18_000_000, True)
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("autohome", "cpc", "spring")
    assert db.session.scalar(select(Task.owner_id)) == adv.id


def test_a_bad_inquiry_says_why_and_writes_nothing(client, f, db):
    store = f.store()
    f.advisor(store)
    users = db.session.scalar(select(func.count(User.id)))
    for bad in (
        {"name": "x", "phone": "12345", "store": str(store.id)},
        {"name": "x", "phone": "13900001234", "store": "999999"},
        {"name": "x", "phone": "13900001234", "store": str(store.id), "budget": "-5"},
        {"name": "x", "phone": "13900001234", "store": str(store.id), "timeframe": "soon"},
    ):
        page = client.post("/new-car/", data=bad)
        assert page.status_code == 422 and 'class="error"' in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Lead.id))) == 0
    assert db.session.scalar(select(func.count(User.id))) == users


def test_the_owner_form_is_prefilled_and_staff_enter_leads_in_the_back_office(client, auth, f):
    store = f.store()
    owner = f.owner(store)
    auth.login(owner)
    page = client.get("/new-car/").get_data(as_text=True)
    assert owner.phone in page and f'<option selected value="{store.id}">' in page
    auth.logout()
    auth.login(f.advisor(store))
    assert client.get("/new-car/").status_code == 403


def test_an_advisor_enters_a_walk_in_and_lands_on_the_routed_lead(client, auth, f, db):
    store = f.store()
    adv = f.advisor(store)
    auth.login(adv)
    form = {"source": "walk_in", "name": "周先生", "phone": "13700001111", "timeframe": "30d"}
    saved = client.post("/admin/leads/new", data=form)
    assert saved.status_code == 303
    lead = db.session.scalar(select(Lead))
    assert saved.headers["Location"].endswith(f"/admin/leads/{lead.id}")
    assert (lead.source, lead.grade, lead.advisor_id) == ("walk_in", "B", adv.id)
    again = client.post("/admin/leads/new", data={**form, "phone": "137 0000 1111"})
    assert again.status_code == 303
    assert db.session.scalar(select(func.count(Lead.id))) == 1
    refused = client.post("/admin/leads/new", data={**form, "phone": "123"})
    assert refused.status_code == 422 and "invalid-feedback" in refused.get_data(as_text=True)


def test_my_leads_puts_overdue_first_contacts_on_top(client, auth, f, db, clock):
    clock.now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai: open
    store = f.store()
    adv = f.advisor(store)
    old = _lead(store, "13800000001")
    db.session.commit()
    clock.advance(minutes=10)
    new = _lead(store, "13800000002")
    db.session.commit()
    auth.login(adv)
    page = client.get("/admin/leads/").get_data(as_text=True)
    assert page.index(f'id="lead-{old.id}"') < page.index(f'id="lead-{new.id}"')
    assert "Overdue" in page and "13800000001" in page


def test_a_colleague_sees_a_masked_read_only_lead_and_a_reveal_is_logged(client, auth, f, db):
    store = f.store()
    f.advisor(store)
    colleague = f.advisor(store)
    lead = _lead(store)
    db.session.commit()
    assert lead.advisor_id != colleague.id
    auth.login(colleague)
    listed = client.get("/admin/leads/?scope=store").get_data(as_text=True)
    assert "138****5678" in listed and "13812345678" not in listed
    page = client.get(f"/admin/leads/{lead.id}").get_data(as_text=True)
    assert "138****5678" in page and 'id="read-only"' in page and 'id="advance-form"' not in page
    step = client.post(f"/admin/leads/{lead.id}/act", data={"verb": "advance", "stage": "visited"})
    assert step.status_code == 303
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).stage == "new"
    shown = client.post(f"/admin/leads/{lead.id}/reveal").get_data(as_text=True)
    assert "13812345678" in shown
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "lead_phone_revealed")
        )
        == 1
    )


def test_the_advisor_records_steps_and_the_manager_reassigns(client, auth, f, db):
    store = f.store()
    adv, other = f.advisor(store), f.advisor(store)
    manager = f.manager(store)
    lead = _lead(store)
    db.session.commit()
    auth.login(adv)
    client.post(f"/admin/leads/{lead.id}/act", data={"verb": "advance", "stage": "contacted"})
    client.post(f"/admin/leads/{lead.id}/act", data={"verb": "advance", "stage": "test_drive"})
    page = client.get(f"/admin/leads/{lead.id}").get_data(as_text=True)
    assert 'id="lead-first-contact"' in page and "Test drive" in page
    auth.logout()
    auth.login(manager)
    client.post(f"/admin/leads/{lead.id}/act", data={"verb": "reassign", "advisor": str(other.id)})
    db.session.expire_all()
    moved = db.session.get(Lead, lead.id)
    assert moved.stage == "test_drive" and moved.first_contact_at is not None
    assert moved.advisor_id == other.id


def test_the_customer_page_shows_one_timeline_newest_first(client, auth, f, db, clock):
    store = f.store()
    adv = f.advisor(store)
    owner = f.owner(store, advisor_id=adv.id)
    f.vehicle(owner)
    clock.advance(minutes=5)
    lead = _lead(store, owner.phone, model_interest="迈腾")
    db.session.commit()
    auth.login(adv)
    found = client.get("/admin/crm_customers/", query_string={"q": owner.phone})
    assert f"/admin/crm_customers/{owner.id}" in found.get_data(as_text=True)
    page = client.get(f"/admin/crm_customers/{owner.id}").get_data(as_text=True)
    timeline = page.split('id="customer-timeline"')[1]  # the vehicles list comes before it
    assert timeline.index("迈腾") < timeline.index("帕萨特")  # the lead is newer than the car
    assert f"/admin/leads/{lead.id}" in page and owner.phone in page
    auth.logout()
    auth.login(f.advisor(f.store()))
    assert client.get(f"/admin/crm_customers/{owner.id}").status_code == 404


def test_the_interest_page_speaks_chinese(make_app, f):
    f.store()
    page = make_app(DEFAULT_LOCALE="zh_CN").test_client().get("/new-car/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "新车咨询 / 预约试驾" in body and "意向车型" in body and "购车时间" not in body
    assert "您打算什么时候购车？" in body and "New car or test drive" not in body
