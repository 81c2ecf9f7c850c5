"""My personal information: a download of all of it, and deleting my account (PIPL)."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import logout_user
from flask_wtf import FlaskForm

from portal.auth import current_account, owner_required
from portal.errors import ValidationError
from portal.extensions import db
from portal.forms.accounts import ErasureForm
from portal.services import audit, erasure, policy, privacy
from portal.timeutil import now
from portal.wording import day_label

bp = Blueprint("privacy", __name__, url_prefix="/account/privacy")


def _page(erase_form: ErasureForm | None = None, status: int = 200):
    owner = current_account()
    return render_template(
        "home/privacy.html",
        form=FlaskForm(),
        erase_form=erase_form or ErasureForm(formdata=None),
        erasure_day=erasure.erasure_day(owner),
        accepted=policy.last_acceptance(owner),
    ), status


@bp.route("/")
@owner_required
def privacy_page():
    """Explain the owner's rights; offer the download and deleting the account."""
    return _page()


@bp.route("/export", methods=["POST"])
@owner_required
def privacy_export():
    """Send a zip of everything held about the owner (JSON and CSV); the download is audited."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    owner = current_account()
    data = privacy.export_zip(owner)
    audit.record("privacy_export", actor=owner, target=owner, size=len(data))
    db.session.commit()
    return send_file(
        io.BytesIO(data),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"m4s-my-data-{now():%Y%m%d}.zip",
    )


@bp.route("/delete", methods=["POST"])
@owner_required
def erasure_request():
    """Ask to delete the account: every session ends now; erasure after the grace period."""
    form = ErasureForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    owner = current_account()
    try:
        day = erasure.request_erasure(owner, form.password.data)
    except ValidationError as exc:
        db.session.rollback()
        form.password.errors = [exc.message]
        return _page(form, 422)
    db.session.commit()
    logout_user()
    flash(
        _(
            "Your account will be deleted on %(day)s. Sign in before then to cancel.",
            day=day_label(day, owner.store.timezone if owner.store else None),
        ),
        "warning",
    )
    return redirect(url_for("auth.login"), code=303)


@bp.route("/keep", methods=["POST"])
@owner_required
def erasure_cancel():
    """Cancel a pending deletion of the account."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    if erasure.cancel_erasure(current_account()):
        flash(_("Your account will not be deleted."), "success")
    db.session.commit()
    return redirect(url_for("privacy.privacy_page"), code=303)
