"""A campaign message's tracked link and offer page (no sign-in: the signed token names the
send), and the SMS provider's inbound webhook that carries recipients' replies.

The webhook is authenticated by a shared token (M4S_SMS_INBOUND_TOKEN) in the callback URL's
query or the X-M4S-Token header, compared in constant time: Aliyun and Tencent Cloud post to a
URL the console is given and sign nothing a receiver can check. With no token configured the
webhook does not exist (404). Each provider's own format is read and answered as it expects.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from sqlalchemy import select

from crm import campaign_responses as responses
from crm.campaign_models import DETAILS, Campaign, CampaignMember, CampaignResponse
from crm.campaign_offers import codes_for, coupon_line
from crm.campaign_variants import message_for
from crm.campaigns import render
from crm.forms import CallMeForm
from portal.errors import DomainError
from portal.extensions import csrf, db, limiter
from portal.models import User
from portal.services import consent

bp = Blueprint("campaign_links", __name__)
MAX_INBOUND = 100  # messages in one provider post
MAX_BODY = 256 * 1024


def _send_or_404(token: str):
    send = responses.send_for(token)
    if send is None:
        abort(404)
    return send


@bp.route("/c/<token>")
@limiter.limit("60 per minute")
def click(token: str):
    """Count the recipient's click (once, however often it is opened) and open the offer."""
    send = _send_or_404(token)
    responses.record_click(send)
    db.session.commit()
    return redirect(url_for("campaign_links.offer", token=token), code=303)


@bp.route("/c/<token>/offer", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def offer(token: str):
    """Show the campaign's offer to its recipient; a recipient may ask to be called."""
    send = _send_or_404(token)
    campaign = db.session.get(Campaign, send.campaign_id)
    customer = db.session.get(User, send.customer_id)
    form = CallMeForm()
    asked = _asked(send.id)
    status = 200
    if request.method == "POST" and not asked:
        if form.validate_on_submit():
            try:
                responses.leave_details(send, form.note.data or "")
            except DomainError as exc:
                db.session.rollback()
                form.note.errors = [exc.message]
                status = 422
            else:
                db.session.commit()
                return redirect(url_for("campaign_links.offer", token=token), code=303)
        else:
            status = 400
    return render_template(
        "campaigns/offer.html",
        campaign=campaign,
        text=_text(campaign, customer, send.channel),
        coupon=_coupon(campaign, customer),
        form=form,
        asked=asked,
        unsubscribe=url_for(
            "channels.unsubscribe", token=consent.unsubscribe_token(customer.id, send.channel)
        ),
    ), status


def _asked(send_id: int) -> bool:
    return (
        db.session.scalar(
            select(CampaignResponse.id).where(
                CampaignResponse.send_id == send_id, CampaignResponse.kind == DETAILS
            )
        )
        is not None
    )


def _text(campaign: Campaign, customer: User, channel: str) -> str:
    variant = db.session.scalar(
        select(CampaignMember.variant).where(
            CampaignMember.campaign_id == campaign.id, CampaignMember.customer_id == customer.id
        )
    )
    message = message_for(campaign, channel, variant)
    if message is None:
        return ""
    english = customer.locale == "en" and message.body_en
    return render(
        message.body_en if english else message.body_zh, customer.name, campaign.store.name
    )


def _coupon(campaign: Campaign, customer: User) -> str:
    code = codes_for(campaign, [customer.id]).get(customer.id)
    if code is None:
        return ""
    with force_locale("en" if customer.locale == "en" else "zh_CN"):
        return coupon_line(campaign.offer, code)


# -- the SMS provider's inbound webhook ------------------------------------------------------


def _authorised() -> bool:
    expected = current_app.config.get("SMS_INBOUND_TOKEN") or ""
    if not expected:
        abort(404)
    given = request.args.get("token") or request.headers.get("X-M4S-Token", "")
    return hmac.compare_digest(given.encode(), expected.encode())


def _digest(*parts) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]


def _aliyun(item: dict) -> responses.Inbound:
    # SmsUp push: phone_number, content, send_time, sequence_id (unique per message).
    key = item.get("sequence_id") or _digest(item.get("phone_number"), item.get("send_time"))
    return responses.Inbound(f"aliyun:{key}", item["phone_number"], item["content"])


def _tencent(item: dict) -> responses.Inbound:
    # Reply callback: mobile, nationcode, text, time (unix seconds); no message id.
    key = _digest(item.get("mobile"), item.get("time"), item.get("text"))
    return responses.Inbound(f"tencent:{key}", item["mobile"], item["text"])


def _gateway(item: dict) -> responses.Inbound:
    key = item.get("id") or _digest(item.get("phone"), item.get("time"), item.get("text"))
    return responses.Inbound(f"gateway:{key}", item["phone"], item["text"])


READERS = {"aliyun": _aliyun, "tencent": _tencent, "gateway": _gateway}
ANSWERS = {
    "aliyun": ({"code": 0, "msg": "成功"}, {"code": 1, "msg": "bad request"}),
    "tencent": ({"result": 0, "errmsg": "OK"}, {"result": 1, "errmsg": "bad request"}),
    "gateway": ({"ok": True}, {"ok": False, "error": "bad request"}),
}


@bp.route("/crm/sms/inbound/<provider>", methods=["POST"])
@csrf.exempt  # authenticated by the shared token instead; no browser posts here
def sms_inbound(provider: str):
    """Receive customers' SMS replies in the provider's format (a message or a list of them)."""
    if provider not in READERS:
        abort(404)
    if not _authorised():
        return jsonify(error="bad token"), 403
    ok, bad = ANSWERS[provider]
    body = request.get_json(silent=True) if (request.content_length or 0) <= MAX_BODY else None
    items = body if isinstance(body, list) else [body]
    try:
        inbound = [READERS[provider](item) for item in items[:MAX_INBOUND]]
    except (TypeError, KeyError, AttributeError):
        return jsonify(bad), 400
    if not all(isinstance(m.phone, str) and isinstance(m.text, str) for m in inbound):
        return jsonify(bad), 400
    for message in inbound:
        responses.receive_sms(message)
    db.session.commit()
    return jsonify(ok)
