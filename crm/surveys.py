"""CSI surveys: one per completed job and one per new-car delivery, sent and reminded once by
the worker, answered once.

The worker job inserts the surveys of jobs finished (and of cars delivered) in a bounded window
with INSERT ... ON CONFLICT DO NOTHING on the unique booking (sales order), so each job or
delivery gets one survey however many workers run; only the rows it inserted are sent.
Answering is one conditional UPDATE (``WHERE answered_at IS NULL``): of two submits of the same
link exactly one counts, and only that one can open the complaint a score of 6 or below calls
for (survey_id is unique as well)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm import complaints
from crm.pipeline_models import SalesOrder
from crm.quality_models import (
    DELIVERY,
    FROM_SURVEY,
    SERVICE,
    SURVEY_KINDS,
    Complaint,
    Survey,
    SurveyQuestion,
)
from portal.errors import Conflict, NotFound, ValidationError
from portal.extensions import db
from portal.i18n import in_language_of
from portal.models import Booking, ServiceRecord, Store, User, Vehicle
from portal.services import brands, notify
from portal.timeutil import now

SEND_WINDOW = timedelta(
    days=3
)  # jobs finished (cars delivered) earlier than this are history, not surveyed
REMIND_AFTER = timedelta(days=2)
LINK_DAYS = 14
COMPLAINT_AT_OR_BELOW = 6
DEFAULT_QUESTIONS = (
    ("服务顾问的接待和解释是否清楚？", "Did your advisor explain the work clearly?"),
    ("维修质量是否让您满意？", "Are you satisfied with the quality of the work?"),
    ("交车是否准时？", "Was your car ready on time?"),
)
DEFAULT_DELIVERY_QUESTIONS = (
    (
        "销售顾问是否把车辆功能讲解清楚？",
        "Did your sales advisor explain the car's features clearly?",
    ),
    ("新车交付时车况是否整洁完好？", "Was the car clean and in perfect condition at handover?"),
    ("手续和交车是否按约定时间完成？", "Were the papers and the handover done on the agreed day?"),
)
DEFAULTS = {SERVICE: DEFAULT_QUESTIONS, DELIVERY: DEFAULT_DELIVERY_QUESTIONS}


def _kind(kind: str) -> str:
    if kind not in SURVEY_KINDS:
        raise ValidationError(_("Choose service or delivery surveys."), field="kind")
    return kind


def questions(store_id: int, kind: str = SERVICE) -> list[tuple[str, str]]:
    """Return the store's questions (zh, en) of one kind, in order: its own, else the
    default three of that kind."""
    rows = db.session.scalars(
        select(SurveyQuestion)
        .where(SurveyQuestion.store_id == store_id, SurveyQuestion.kind == _kind(kind))
        .order_by(SurveyQuestion.position)
    ).all()
    return [(q.text_zh, q.text_en) for q in rows] or list(DEFAULTS[kind])


def save_questions(store_id: int, pairs: list[tuple[str, str]], kind: str = SERVICE) -> None:
    """Replace the store's questions of one kind with 3 to 5 (zh, en) pairs (flushed)."""
    _kind(kind)
    clean = [(zh.strip()[:200], en.strip()[:200]) for zh, en in pairs if zh.strip()]
    if not 3 <= len(clean) <= 5:
        raise ValidationError(_("Write between 3 and 5 questions."), field="questions")
    for row in db.session.scalars(
        select(SurveyQuestion).where(
            SurveyQuestion.store_id == store_id, SurveyQuestion.kind == kind
        )
    ):
        db.session.delete(row)
    db.session.flush()
    for position, (zh, en) in enumerate(clean, start=1):
        db.session.add(
            SurveyQuestion(
                store_id=store_id, kind=kind, position=position, text_zh=zh, text_en=en or zh
            )
        )
    db.session.flush()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="m4s.csi.survey")


def link_path(survey: Survey) -> str:
    """Return the path of the survey's signed page."""
    return f"/survey/{_serializer().dumps({'s': survey.id})}"


def from_link(token: str) -> Survey:
    """Return the survey a link names, or NotFound when the link is not valid or expired."""
    try:
        data = _serializer().loads(token, max_age=LINK_DAYS * 86400)
    except BadSignature:
        raise NotFound(_("This survey link is not valid or has expired.")) from None
    survey = db.session.get(Survey, data.get("s")) if isinstance(data, dict) else None
    if survey is None:
        raise NotFound(_("This survey link is not valid or has expired."))
    return survey


def _insert(rows: list[dict], unique: str) -> list[int]:
    if not rows:
        return []
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(Survey)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[unique])
        .returning(Survey.id)
    )
    return list(db.session.scalars(stmt))


def _send(survey: Survey, reminder: bool) -> None:
    owner = db.session.get(User, survey.customer_id)
    with in_language_of(owner):  # sent by the worker, which has no language of its own
        text, subject = _wording(survey, reminder)
    notify.notify(owner, text, link_path(survey), subject=subject, kind="booking")


def _wording(survey: Survey, reminder: bool) -> tuple[str, str]:
    """Return the invitation's text and subject in the current language."""
    if survey.kind == DELIVERY:
        order = db.session.get(SalesOrder, survey.sales_order_id)
        if reminder:
            text = _(
                "A reminder: how was the handover of your new car (order %(no)s)? Two minutes.",
                no=order.number,
            )
        else:
            text = _(
                "How was the handover of your new car (order %(no)s)? Tell us in two minutes.",
                no=order.number,
            )
        return text, _("Your opinion of your new car's handover")
    if reminder:
        text = _("A reminder: how was your visit (job #%(id)d)? Two minutes.", id=survey.booking_id)
    else:
        text = _("How was your visit (job #%(id)d)? Tell us in two minutes.", id=survey.booking_id)
    return text, _("Your opinion of job #%(id)d", id=survey.booking_id)


def send_due() -> dict[str, int]:
    """Send the survey of each job finished and each new car delivered lately, and one
    reminder of unanswered ones (the worker job; safe with several workers)."""
    at = now()
    jobs = db.session.execute(
        select(ServiceRecord.booking_id, Booking.owner_id, Booking.store_id, Booking.advisor_id)
        .add_columns(Vehicle.brand)
        .join(Booking, Booking.id == ServiceRecord.booking_id)
        .join(Vehicle, Vehicle.id == Booking.vehicle_id)
        .outerjoin(Survey, Survey.booking_id == ServiceRecord.booking_id)
        .where(ServiceRecord.completed_at >= at - SEND_WINDOW, Survey.id.is_(None))
        .order_by(ServiceRecord.booking_id)  # every worker inserts in one order: no deadlock
    ).all()
    brand_of = brands.brand_matcher()  # the brand of each job's car
    rows = [
        {
            "kind": SERVICE,
            "booking_id": booking_id,
            "customer_id": owner_id,
            "store_id": store_id,
            "advisor_id": advisor_id,
            "brand_id": brand_of(make),
            "sent_at": at,
            "answers": [],
            "comment": "",
        }
        for booking_id, owner_id, store_id, advisor_id, make in jobs
    ]
    new = _insert(rows, "booking_id")
    deliveries = db.session.execute(
        select(SalesOrder.id, SalesOrder.customer_id, SalesOrder.store_id, SalesOrder.advisor_id)
        .add_columns(SalesOrder.brand_id)
        .outerjoin(Survey, Survey.sales_order_id == SalesOrder.id)
        .where(SalesOrder.delivered_at >= at - SEND_WINDOW, Survey.id.is_(None))
        .order_by(SalesOrder.id)
    ).all()
    rows = [
        {
            "kind": DELIVERY,
            "sales_order_id": order_id,
            "customer_id": customer_id,
            "store_id": store_id,
            "advisor_id": advisor_id,
            "brand_id": brand_id,
            "sent_at": at,
            "answers": [],
            "comment": "",
        }
        for order_id, customer_id, store_id, advisor_id, brand_id in deliveries
    ]
    new += _insert(rows, "sales_order_id")
    for survey_id in new:
        _send(db.session.get(Survey, survey_id), reminder=False)
    db.session.commit()
    due = db.session.scalars(
        select(Survey.id).where(
            Survey.answered_at.is_(None),
            Survey.reminded_at.is_(None),
            Survey.sent_at <= at - REMIND_AFTER,
            Survey.sent_at >= at - timedelta(days=LINK_DAYS),
        )
    ).all()
    reminded = 0
    for survey_id in due:
        won = db.session.execute(
            update(Survey)
            .where(Survey.id == survey_id, Survey.reminded_at.is_(None))
            .where(Survey.answered_at.is_(None))
            .values(reminded_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            _send(db.session.get(Survey, survey_id), reminder=True)
            reminded += 1
        db.session.commit()
    return {"sent": len(new), "reminded": reminded}


def submit(survey: Survey, nps: int, scores: list[int], comment: str = "") -> Complaint | None:
    """Record the answer once; a score of 6 or below opens a complaint (flushed).

    Raises Conflict when the survey was already answered (the link is single use)."""
    asked = questions(survey.store_id, survey.kind)
    if not isinstance(nps, int) or not 0 <= nps <= 10:
        raise ValidationError(_("Choose a score from 0 to 10."), field="nps")
    if len(scores) != len(asked) or any(not 1 <= s <= 5 for s in scores):
        raise ValidationError(_("Answer every question from 1 to 5."), field="answers")
    if survey.answered_at is not None:
        raise Conflict(_("This survey was already answered. Thank you!"))
    answers = [{"q": zh, "q_en": en, "a": s} for (zh, en), s in zip(asked, scores, strict=True)]
    csi = round(sum(s - 1 for s in scores) * 100 / (4 * len(scores)))
    text = (comment or "").strip()[:2000]
    won = db.session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.answered_at.is_(None))
        .values(answered_at=now(), nps=nps, answers=answers, csi=csi, comment=text)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise Conflict(_("This survey was already answered. Thank you!"))
    db.session.refresh(survey)
    if nps > COMPLAINT_AT_OR_BELOW:
        return None
    return complaints.open_complaint(
        db.session.get(User, survey.customer_id),
        db.session.get(Store, survey.store_id),
        source=FROM_SURVEY,
        category="delivery" if survey.kind == DELIVERY else "other",
        severity="high" if nps <= 3 else "medium",
        description=text or _("Survey score %(n)d out of 10.", n=nps),
        booking=db.session.get(Booking, survey.booking_id) if survey.booking_id else None,
        survey=survey,
        advisor_id=survey.advisor_id,
    )
