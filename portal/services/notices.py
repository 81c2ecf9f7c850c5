"""Store notices: managers publish to all advisors of the store or chosen ones; advisors read."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from portal import access
from portal.errors import NotAllowed, NotFound, ValidationError
from portal.extensions import db
from portal.models import Notice, NoticeRecipient, User
from portal.models.accounts import ADMIN, ADVISOR, MANAGER
from portal.services import audit
from portal.timeutil import now


def publish(actor: User, *, title: str, body: str, advisor_ids: list[int] | None = None) -> Notice:
    """Publish a notice to every active advisor of the manager's store, or to chosen ones."""
    if actor.role != MANAGER or actor.store_id is None:
        raise NotAllowed(_("Only store managers publish notices."))
    if not (title or "").strip():
        raise ValidationError(_("Give the notice a title."), field="title")
    if not (body or "").strip():
        raise ValidationError(_("Write the notice."), field="body")
    stmt = select(User.id).where(
        User.role == ADVISOR, User.store_id == actor.store_id, User.is_active.is_(True)
    )
    if advisor_ids is not None:
        stmt = stmt.where(User.id.in_(advisor_ids))
    recipients = db.session.scalars(stmt.order_by(User.id)).all()
    if advisor_ids is not None and len(recipients) != len(set(advisor_ids)):
        raise ValidationError(_("Choose active advisors of your store."), field="advisors")
    if not recipients:
        raise ValidationError(_("Choose at least one advisor."), field="advisors")
    notice = Notice(
        store_id=actor.store_id,
        author_id=actor.id,
        title=title.strip()[:120],
        body=body.strip(),
        to_all=advisor_ids is None,
        created_at=now(),
    )
    db.session.add(notice)
    db.session.flush()
    db.session.add_all(NoticeRecipient(notice_id=notice.id, advisor_id=i) for i in recipients)
    db.session.flush()
    audit.record("notice_published", actor=actor, target=notice, recipients=len(recipients))
    return notice


def visible_notice(actor: User, notice_id: int) -> Notice:
    """Return a notice the staff member may see: managers their store's, advisors their own."""
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(_("Notice not found."))
    if actor.role in (MANAGER, ADMIN) and access.in_store(actor, notice.store_id):
        return notice  # managers see their store's notices, admins every store's
    if (
        actor.role == ADVISOR
        and access.in_store(actor, notice.store_id)
        and db.session.get(NoticeRecipient, (notice.id, actor.id))
    ):
        return notice  # advisors see the notices sent to them
    raise NotFound(_("Notice not found."))


def mark_read(advisor: User, notice: Notice) -> bool:
    """Mark the notice read by this advisor; return False if it already was."""
    res = db.session.execute(
        update(NoticeRecipient)
        .where(
            NoticeRecipient.notice_id == notice.id,
            NoticeRecipient.advisor_id == advisor.id,
            NoticeRecipient.read_at.is_(None),
        )
        .values(read_at=now())
        .execution_options(synchronize_session=False)
    )
    return res.rowcount == 1


def unread_for(advisor: User) -> list[Notice]:
    """Return the advisor's unread notices, newest first."""
    return list(
        db.session.scalars(
            select(Notice)
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .where(NoticeRecipient.advisor_id == advisor.id, NoticeRecipient.read_at.is_(None))
            .order_by(Notice.created_at.desc())
        )
    )


def listing(actor: User) -> list[tuple[Notice, int, int, bool | None]]:
    """Return (notice, recipients, read, read by me) rows the staff member may see."""
    has_recipients = select(NoticeRecipient.notice_id).where(NoticeRecipient.notice_id == Notice.id)
    stmt = select(Notice).where(has_recipients.exists())
    if actor.role == ADVISOR:
        mine = select(NoticeRecipient.notice_id).where(NoticeRecipient.advisor_id == actor.id)
        stmt = stmt.where(Notice.id.in_(mine))
    else:
        stmt = access.store_scope(stmt, Notice.store_id, actor)
    shown = list(db.session.scalars(stmt.order_by(Notice.created_at.desc()).limit(200)))
    # Recipients are counted for the notices shown only, not for every notice ever sent.
    counted = {}
    if shown:
        counted = {
            notice_id: (n, r)
            for notice_id, n, r in db.session.execute(
                select(
                    NoticeRecipient.notice_id,
                    func.count(),
                    func.count(NoticeRecipient.read_at),
                )
                .where(NoticeRecipient.notice_id.in_([n.id for n in shown]))
                .group_by(NoticeRecipient.notice_id)
            )
        }
    rows = [(n, *counted.get(n.id, (0, 0))) for n in shown]
    read_by_me = {}
    if actor.role == ADVISOR:
        read_by_me = dict(
            db.session.execute(
                select(NoticeRecipient.notice_id, NoticeRecipient.read_at).where(
                    NoticeRecipient.advisor_id == actor.id
                )
            ).all()
        )
    return [
        (n, total, read, (read_by_me.get(n.id) is not None) if read_by_me else None)
        for n, total, read in rows
    ]
