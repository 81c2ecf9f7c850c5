"""Notices one staff member's click sends to a colleague, and those the worker sends (no request,
the default language), are written in the recipient's language: a zh-speaking advisor reads
Chinese when an en-speaking manager (or the worker) triggers them, and the reverse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from admin.advisors import _tell_customers
from crm import complaints as complaint_svc
from crm import escalation, invitations
from crm import leads as lead_svc
from crm.lead_import_apply import LeadApply
from crm.models import PHONE, PORTAL
from portal.extensions import db
from portal.models import Notification, OutboxMessage
from portal.services import rescue as rescue_svc

AFTERNOON = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
OTHER = {"en": "zh_CN", "zh_CN": "en"}


def _texts(user) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification.text)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def _subjects(user) -> list[str]:
    return list(
        db.session.scalars(
            select(OutboxMessage.subject)
            .where(OutboxMessage.user_id == user.id)
            .order_by(OutboxMessage.id)
        )
    )


def _lead(store, phone="13655550001"):
    inquiry = lead_svc.Inquiry(
        name="王先生", phone=phone, store=store, source=PHONE, timeframe="7d"
    )
    return lead_svc.capture(inquiry).lead


LANGS = pytest.mark.parametrize("lang", ["zh_CN", "en"])


@LANGS
def test_a_reassigned_lead_is_told_in_the_new_advisors_language(f, lang):
    store = f.store()
    f.advisor(store)  # the round robin's first pick
    other = f.advisor(store, locale=lang)
    manager = f.manager(store, locale=OTHER[lang])
    lead = _lead(store)
    with force_locale(OTHER[lang]):  # the manager's request
        lead_svc.reassign(manager, lead, other)
    db.session.commit()
    expected = {"zh_CN": "已改派给您的线索：王先生。", "en": "Lead reassigned to you: 王先生."}
    assert _texts(other) == [expected[lang]]


@LANGS
def test_a_new_lead_is_told_in_the_routed_advisors_language(f, clock, lang):
    clock.now = AFTERNOON
    store = f.store()
    advisor = f.advisor(store, locale=lang)
    with force_locale(OTHER[lang]):  # an agent types the lead in
        lead_svc.capture(
            lead_svc.Inquiry(name="李女士", phone="13655550002", store=store, source=PORTAL),
            actor=f.agent(store, locale=OTHER[lang]),
        )
    db.session.commit()
    minutes = store.first_contact_minutes
    expected = {
        "zh_CN": f"新线索：李女士，请在 {minutes} 分钟内联系。",
        "en": f"New lead: 李女士, call within {minutes} minutes.",
    }
    assert _texts(advisor) == [expected[lang]]


@LANGS
def test_an_invitation_and_a_check_in_are_told_in_each_recipients_language(f, clock, lang):
    clock.now = AFTERNOON.replace(hour=2)
    store = f.store()
    f.advisor(store)
    named = f.advisor(store, name="陈顾问", locale=lang)
    agent = f.agent(store, name="邀约专员", locale=OTHER[lang])
    reception = f.manager(store, locale=lang)
    lead = _lead(store)
    with force_locale(OTHER[lang]):  # the agent's request
        inv = invitations.invite(agent, lead, AFTERNOON, kind="visit", advisor=named)
    db.session.commit()
    with force_locale(lang):  # reception speaks the advisor's language, not the agent's
        invitations.check_in(reception, inv)
    db.session.commit()
    if lang == "zh_CN":
        assert _texts(named) == [
            "已邀约：王先生 将于 2026-12-03 14:00 到店。",
            "王先生 已到店，请到前台接待。",
        ]
        assert _texts(agent) == ["王先生 arrived for the visit you booked."]
    else:
        assert _texts(named) == [
            "Visit booked: 王先生 comes at 2026-12-03 14:00.",
            "王先生 has arrived: please come to reception.",
        ]
        assert _texts(agent) == ["您邀约的 王先生 已到店。"]


@LANGS
def test_imported_leads_are_told_in_each_advisors_language(f, lang):
    store = f.store()
    advisor = f.advisor(store, locale=lang)
    importer = f.manager(store, locale=OTHER[lang])
    with force_locale(OTHER[lang]):  # the import job runs in the importer's language
        LeadApply(store, "autohome", importer, owners={advisor.id: 3}).finish()
    db.session.commit()
    expected = {
        "zh_CN": "有 3 条导入的线索分配给您，请优先联系。",
        "en": "3 imported leads are yours: call them first.",
    }
    assert _texts(advisor) == [expected[lang]]


@LANGS
def test_the_worker_tells_managers_of_a_late_complaint_in_their_language(f, clock, lang):
    store = f.store()
    manager = f.manager(store, locale=lang)
    owner = f.owner(store)
    complaint = complaint_svc.open_complaint(
        owner, store, source="phone", category="waiting", severity="high", description="等太久"
    )
    db.session.commit()
    clock.advance(hours=2, minutes=1)
    with force_locale(OTHER[lang]):  # the worker's default language
        assert complaint_svc.escalate() == {"managers": 1, "group": 0}
    cid = complaint.id
    expected = {
        "zh_CN": (f"投诉 #{cid} 已超过处理时限。", f"投诉 #{cid} 已超时"),
        "en": (f"Complaint #{cid} missed its deadline.", f"Complaint #{cid} is late"),
    }[lang]
    assert _texts(manager) == [expected[0]]
    assert expected[1] in _subjects(manager)


@LANGS
def test_the_worker_tells_a_missed_first_contact_in_each_recipients_language(f, clock, lang):
    from tests.crm.test_after_hours import at_local, capture

    clock.now = at_local(2026, 12, 2, 10)
    store = f.store()
    f.advisor(store, locale=OTHER[lang])
    manager = f.manager(store, locale=lang)
    capture(store)
    db.session.commit()
    clock.advance(hours=1)
    with force_locale(OTHER[lang]):  # the worker's default language
        assert escalation.escalate_missed()["managers_told"] == 1
    text = _texts(manager)[0]
    if lang == "zh_CN":
        assert text.startswith("首次联系超时：王先生 仍在等待")
    else:
        assert text.startswith("First contact missed: 王先生 is still waiting")


@LANGS
def test_the_worker_tells_an_unclaimed_rescue_in_the_managers_language(f, clock, app, lang):
    store = f.store()
    f.advisor(store, locale=OTHER[lang])
    manager = f.manager(store, locale=lang)
    owner = f.owner(store, locale=OTHER[lang])
    rescue = f.rescue(owner)
    db.session.commit()
    minutes = app.config["RESCUE_CLAIM_MINUTES"]
    clock.advance(minutes=minutes)
    with force_locale(OTHER[lang]):  # the worker's default language
        assert rescue_svc.escalate() == 1
    rid = rescue.id
    expected = {
        "zh_CN": (f"救援 #{rid} 已 {minutes} 分钟无人受理。", f"道路救援 #{rid}"),
        "en": (
            f"Rescue #{rid} has not been claimed for {minutes} minutes.",
            f"Roadside rescue #{rid}",
        ),
    }[lang]
    assert _texts(manager) == [expected[0]]
    assert expected[1] in _subjects(manager)


@LANGS
def test_customers_moved_to_a_new_advisor_are_mailed_in_their_language(f, lang):
    store = f.store()
    advisor = f.advisor(store, name="刘顾问")
    owner = f.owner(store, locale=lang, email="moved@example.com")
    with force_locale(OTHER[lang]):  # the manager's request
        _tell_customers({advisor.id: [owner.id]})
    db.session.commit()
    mail = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient == "moved@example.com")
    )
    expected = {"zh_CN": "您的 M4S 新顾问", "en": "Your new M4S advisor"}
    assert mail.subject == expected[lang]
    assert ("刘顾问" in mail.body) and (
        ("顾问" in mail.body.replace("刘顾问", "")) == (lang == "zh_CN")
    )
