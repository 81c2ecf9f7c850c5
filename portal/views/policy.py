"""The privacy policy: the version in force at a stable address, older versions, and the
prompt that asks a signed-in owner to accept a newly published version."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth import current_account, is_htmx, owner_required
from portal.extensions import db
from portal.forms.accounts import PolicyAcceptForm
from portal.models.accounts import OWNER
from portal.models.consents import PolicyVersion
from portal.services import policy

bp = Blueprint("policy", __name__)

# What an owner who still has to accept a new policy may reach: the policy itself, signing
# out, the language switch, the forced password change (which comes first), and their rights
# (download their data, delete the account) which never depend on agreeing.
OPEN_WHILE_PENDING = {
    "privacy.privacy_page",
    "privacy.privacy_export",
    "privacy.erasure_request",
    "privacy.erasure_cancel",
    "policy.policy_show",
    "policy.policy_version_show",
    "policy.policy_accept",
    "auth.logout",
    "auth.password_change",
    "home.set_language",
    "home.healthz",
    "static",
}
PENDING_KEY = policy.PENDING_KEY  # set at sign-in only when there is a version to accept


def blocks(text: str) -> list[tuple[str, str]]:
    """Split a policy text into ("h", heading) and ("p", paragraph) blocks: paragraphs are
    separated by blank lines, and a line starting with "#" is a heading."""
    found = []
    for chunk in text.replace("\r\n", "\n").split("\n\n"):
        lines = chunk.strip().split("\n")
        if lines[0].startswith("#"):
            found.append(("h", lines.pop(0).lstrip("#").strip()))
        body = "\n".join(lines).strip()
        if body:
            found.append(("p", body))
    return found


def _localised(row: PolicyVersion) -> dict:
    chinese = get_locale().language == "zh"
    return {
        "blocks": blocks(row.text_zh if chinese else row.text_en),
        "summary": row.summary_zh if chinese else row.summary_en,
        "text_lang": "zh-CN" if chinese else "en",
    }


def _render(row: PolicyVersion | None, current: PolicyVersion | None):
    return render_template(
        "policy/show.html",
        shown=row,
        current=current,
        versions=policy.in_force_versions(),
        **(_localised(row) if row else {}),
    )


@bp.route("/privacy-policy")
def policy_show():
    """Show the privacy policy in force now, with links to its earlier versions."""
    current = policy.current_policy()
    return _render(current, current)


@bp.route("/privacy-policy/v<int:version>")
def policy_version_show(version: int):
    """Show one version of the privacy policy that has been in force."""
    row = policy.policy_version(version)
    if row is None:
        abort(404)
    return _render(row, policy.current_policy())


@bp.route("/account/privacy-policy", methods=["GET", "POST"])
@owner_required
def policy_accept():
    """Ask the owner to accept the privacy policy published since they last agreed."""
    owner = current_account()
    pending = policy.pending_policy(owner)
    if pending is None:
        session.pop(PENDING_KEY, None)
        return redirect(url_for("home.index"), code=303 if request.method == "POST" else 302)
    form = PolicyAcceptForm()
    if form.validate_on_submit():
        if form.policy_version.data == str(pending.version):
            policy.accept_policy(owner, pending, source="policy_prompt")
            db.session.commit()
            session.pop(PENDING_KEY, None)
            return redirect(url_for("home.index"), code=303)
        form.accept_policy.errors = [
            _("The privacy policy changed meanwhile. Read this version and agree again.")
        ]
    form.policy_version.data = str(pending.version)
    form.accept_policy.data = False
    status = 422 if form.errors else 200
    return render_template(
        "policy/accept.html", form=form, pending=pending, **_localised(pending)
    ), status


@bp.before_app_request
def ask_for_new_policy():
    """Send a signed-in owner to the new policy until they accept it (noted at sign-in)."""
    if not session.get(PENDING_KEY) or request.endpoint in OPEN_WHILE_PENDING:
        return None
    if not current_user.is_authenticated or current_user.role != OWNER:
        return None
    if request.path.startswith("/api/"):
        return None
    target = url_for("policy.policy_accept")
    if is_htmx():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, code=303 if request.method == "POST" else 302)
