"""The back office's CSI and complaint analytics pages on known data: NPS and CSI with the
sample size, the owners' 1-5 ratings shown at last, each store seeing only its own numbers,
and the managers' survey questions."""

from __future__ import annotations

from sqlalchemy import select

from crm import complaints, quality_stats, surveys
from crm.quality_models import Survey
from portal.extensions import db
from portal.services import bookings
from tests.crm.quality_data import finished_job


def _answered(store, advisor, scores: list[int]) -> None:
    for _ in scores:
        finished_job(store, advisor)
    surveys.send_due()
    rows = db.session.scalars(
        select(Survey)
        .where(Survey.store_id == store.id, Survey.answered_at.is_(None))
        .order_by(Survey.id)
    ).all()
    for survey, nps in zip(rows[-len(scores) :], scores, strict=True):
        surveys.submit(survey, nps, [5, 4, 3])  # CSI (4+3+2)/12 = 75
    db.session.commit()


def test_nps_and_csi_per_store_and_advisor_on_known_data(f):
    store, other = f.store(), f.store()
    advisor, manager, rival = f.advisor(store), f.manager(store), f.advisor(other)
    db.session.commit()
    _answered(store, advisor, [10, 9, 8, 3])  # 2 promoters, 1 detractor of 4: NPS 25
    _answered(other, rival, [0])
    (month,) = quality_stats.csi_by_month(manager)
    assert (month.n, month.nps, month.csi) == (4, 25.0, 75.0)
    (mine,) = quality_stats.csi_by(manager, Survey.advisor_id, type(advisor))
    assert (mine.label, mine.n, mine.nps) == (advisor.name, 4, 25.0)
    everyone = quality_stats.csi_by(f.admin(), Survey.store_id, type(store))
    assert sorted((s.n, s.nps) for s in everyone) == [(1, -100.0), (4, 25.0)]


def test_the_csi_page_shows_charts_and_the_owners_ratings(f, auth, client):
    store = f.store()
    advisor, manager = f.advisor(store), f.manager(store)
    db.session.commit()
    booking = finished_job(store, advisor)
    bookings.rate(booking.owner, booking, 2, 4, "等得太久")
    db.session.commit()
    _answered(store, advisor, [7, 10])
    auth.login(manager)
    page = client.get("/admin/csi/").get_data(as_text=True)
    assert 'id="csi-nps-month"' in page and "(n=2)" in page
    assert 'id="ratings-table"' in page and "等得太久" in page and "★★" in page
    assert "(n=1)" in page  # the ratings chart's sample size


def test_the_complaint_analytics_page_draws_its_charts(f, auth, client):
    store = f.store()
    manager = f.manager(store)
    owner = f.owner(store)
    db.session.commit()
    for category in ("price", "price", "parts"):
        complaints.open_complaint(
            owner, store, source="phone", category=category, severity="low", description="x"
        )
    db.session.commit()
    auth.login(manager)
    page = client.get("/admin/complaint_analytics/?days=30").get_data(as_text=True)
    assert 'id="complaints-category"' in page and 'id="complaints-store"' in page
    assert "Price or invoice: 2" in page


def test_a_manager_edits_the_questions_and_the_survey_asks_them(f, auth, client):
    store = f.store()
    manager = f.manager(store)
    db.session.commit()
    auth.login(manager)
    few = client.post("/admin/csi/questions", data={"zh1": "一", "en1": "One"})
    assert few.status_code == 303
    assert surveys.questions(store.id) == list(surveys.DEFAULT_QUESTIONS)  # refused: said
    form = {f"zh{i}": f"问题{i}" for i in range(1, 5)} | {"en1": "Question one"}
    assert client.post("/admin/csi/questions", data=form).status_code == 303
    asked = surveys.questions(store.id)
    assert len(asked) == 4 and asked[0] == ("问题1", "Question one") and asked[1][1] == "问题2"
