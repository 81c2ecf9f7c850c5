"""Service quality in a real Chromium at phone size: the owner answers a CSI survey with a low
score, which opens a complaint; the manager resolves it in the back office; the owner confirms
through the link they were sent."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.app import create_app
from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.extensions import db, limiter
from portal.models import Notification, User
from portal.models.accounts import MANAGER
from tests.e2e.live import DESKTOP, PHONE
from tests.e2e.test_foundation_journeys import assert_fits_phone, login

pytestmark = pytest.mark.e2e


def _live(live_server, work):
    """Run work() against the live server's database, signed with its secret key."""
    enabled = limiter.enabled
    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": live_server.env["M4S_SECRET_KEY"],
            "DATABASE_URL": live_server.env["M4S_DATABASE_URL"],
            "RATELIMIT_ENABLED": False,
        }
    )
    limiter.enabled = enabled
    with app.app_context():
        try:
            return work()
        finally:
            db.session.rollback()
            db.session.remove()


def _survey_link(live_server) -> tuple[str, int]:
    from crm import surveys
    from crm.quality_models import Survey

    def work():
        manager = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[MANAGER]))
        survey = db.session.scalar(
            select(Survey)
            .where(Survey.store_id == manager.store_id, Survey.answered_at.is_(None))
            .order_by(Survey.id.desc())
        )
        return surveys.link_path(survey), survey.id

    return _live(live_server, work)


def _complaint_of(live_server, survey_id: int) -> tuple[int, int]:
    from crm.quality_models import Complaint

    def work():
        complaint = db.session.scalar(select(Complaint).where(Complaint.survey_id == survey_id))
        return complaint.id, complaint.customer_id

    return _live(live_server, work)


def _answer_link(live_server, owner_id: int) -> str:
    def work():
        return db.session.scalar(
            select(Notification.link)
            .where(Notification.user_id == owner_id)
            .where(Notification.link.like("/complaint-answer/%"))
            .order_by(Notification.id.desc())
        )

    return _live(live_server, work)


def test_a_low_survey_score_opens_a_complaint_the_manager_resolves_the_owner_confirms(
    open_page, live_server
):
    link, survey_id = _survey_link(live_server)
    owner = open_page("owner", **PHONE)
    owner.goto(link)
    assert_fits_phone(owner)
    owner.locator("input[name=nps][value='3']").check()
    for i in range(3):
        owner.locator(f"input[name=q{i}][value='2']").check()
    owner.fill("#comment", "等了三个小时才交车")
    owner.locator("#csi-survey button[type=submit]").click()
    expect(owner.locator("#csi-survey")).to_contain_text("谢谢")
    assert_fits_phone(owner)
    complaint_id, owner_id = _complaint_of(live_server, survey_id)

    manager = open_page("manager", **DESKTOP)
    login(manager, DEMO_LOGINS[MANAGER], DEMO_PASSWORD[MANAGER])
    manager.goto("/admin/complaints/")
    expect(manager.locator(f"#complaint-{complaint_id}")).to_contain_text("紧急投诉")
    manager.goto(f"/admin/complaints/{complaint_id}")
    expect(manager.locator("body")).to_contain_text("等了三个小时才交车")
    manager.fill("#resolution", "已致电道歉，赠送一次免费保养")
    manager.locator("#resolve-form button").click()
    expect(manager.locator("#complaint-status")).to_contain_text("待客户确认")

    owner.goto(_answer_link(live_server, owner_id))
    assert_fits_phone(owner)
    expect(owner.locator("#complaint-answer")).to_contain_text("赠送一次免费保养")
    owner.locator("button[value=confirm]").click()
    expect(owner.locator("#complaint-answer")).to_contain_text("已结案")
    manager.reload()
    expect(manager.locator("#complaint-status")).to_contain_text("已结案")
