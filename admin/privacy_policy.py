"""The privacy policy in the back office: admins read every version with how many owners
accepted it, see what changed from the version before, and publish the next one.

Publishing goes through portal.services.policy (the same verb as `flask m4s publish-policy`):
the next version number is taken under a UNIQUE constraint, and owners are asked to accept it
at their next sign-in once its day has come."""

from __future__ import annotations

import difflib
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from admin.base import StaffView
from portal.auth import current_account
from portal.errors import DomainError
from portal.extensions import db
from portal.models import User
from portal.models.accounts import OWNER
from portal.models.consents import POLICY, ConsentRecord, PolicyVersion
from portal.services import policy
from portal.timeutil import now

VERSIONS_SHOWN = 100
DIFF_LINES = 400  # a longer change is summarised by its line count


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])


def _today() -> date:
    return now().astimezone(_zone()).date()


class PolicyForm(FlaskForm):
    effective = DateField(_l("In force from (00:00 that day)"), validators=[InputRequired()])
    summary_zh = StringField(_l("What changed (Chinese)"), validators=[Length(max=300)])
    summary_en = StringField(_l("What changed (English)"), validators=[Length(max=300)])
    text_zh = TextAreaField(
        _l("Policy text (Chinese)"), validators=[DataRequired(), Length(max=policy.MAX_TEXT)]
    )
    text_en = TextAreaField(
        _l("Policy text (English)"), validators=[DataRequired(), Length(max=policy.MAX_TEXT)]
    )

    def validate_effective(self, field) -> None:
        if field.data is not None and field.data < _today():
            raise ValidationError(_("A new version cannot come into force in the past."))
        if field.data is not None and field.data.year > 2100:
            raise ValidationError(_("Choose a day before 2100."))


def acceptances() -> dict[int, int]:
    """Return how many owners accepted each version (one GROUP BY over the consent records)."""
    rows = db.session.execute(
        select(ConsentRecord.policy_id, func.count(func.distinct(ConsentRecord.user_id)))
        .where(ConsentRecord.kind == POLICY, ConsentRecord.granted.is_(True))
        .group_by(ConsentRecord.policy_id)
    )
    return {policy_id: n for policy_id, n in rows if policy_id is not None}


def changes(old: str, new: str) -> list[str]:
    """Return the lines that differ between two texts, as a unified diff (empty if the same)."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1))[
        2:
    ]  # without the ---/+++ header
    return lines


class PrivacyPolicyView(StaffView):
    """Every version of the privacy policy, who accepted it, and the form for the next one."""

    def _page(self, form: PolicyForm, status: int = 200):
        versions = db.session.scalars(
            select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(VERSIONS_SHOWN)
        ).all()
        in_force = policy.current_policy()
        owners = db.session.scalar(select(func.count(User.id)).where(User.role == OWNER)) or 0
        latest = versions[0] if versions else None
        if latest is not None and not form.is_submitted():
            form.text_zh.data, form.text_en.data = latest.text_zh, latest.text_en
        return (
            self.render(
                "admin/privacy_policy/index.html",
                versions=versions,
                in_force=in_force,
                accepted=acceptances(),
                owners=owners,
                form=form,
                at=now(),
                chinese=get_locale().language == "zh",
            ),
            status,
        )

    @expose("/")
    def index(self):
        form = PolicyForm(formdata=None, effective=_today())
        return self._page(form)

    @expose("/publish", methods=["POST"])
    def publish(self):
        form = PolicyForm()
        if not form.validate():
            return self._page(form, 422)
        start = datetime.combine(form.effective.data, time(0), tzinfo=_zone()).astimezone(UTC)
        try:
            row = policy.publish_policy(
                current_account(),
                text_zh=form.text_zh.data,
                text_en=form.text_en.data,
                effective_at=start,
                summary_zh=form.summary_zh.data,
                summary_en=form.summary_en.data,
            )
        except DomainError as exc:
            db.session.rollback()
            form.text_zh.errors = [*form.text_zh.errors, exc.message]
            return self._page(form, 409 if exc.status == 409 else 422)
        db.session.commit()
        flash(
            _("Version %(version)s published. Owners will be asked to accept it from %(day)s.")
            % {"version": row.version, "day": form.effective.data.isoformat()},
            "success",
        )
        return redirect(url_for(".version", version=row.version), code=303)

    @expose("/<int:version>")
    def version(self, version: int):
        row = db.session.scalar(select(PolicyVersion).where(PolicyVersion.version == version))
        if row is None:
            abort(404)
        before = db.session.scalar(
            select(PolicyVersion)
            .where(PolicyVersion.version < version)
            .order_by(PolicyVersion.version.desc())
            .limit(1)
        )
        diff_zh = changes(before.text_zh, row.text_zh) if before else []
        diff_en = changes(before.text_en, row.text_en) if before else []
        publisher = db.session.get(User, row.published_by_id) if row.published_by_id else None
        return self.render(
            "admin/privacy_policy/version.html",
            row=row,
            before=before,
            diff_zh=diff_zh[:DIFF_LINES],
            diff_en=diff_en[:DIFF_LINES],
            cut=max(len(diff_zh), len(diff_en)) > DIFF_LINES,
            publisher=publisher,
            accepted=acceptances().get(row.id, 0),
            in_force=policy.current_policy(),
            at=now(),
        )
