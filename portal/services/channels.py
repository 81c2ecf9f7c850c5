"""Which channels a message goes out on: owners' choices, quiet hours, and the fan-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models import OutboxMessage, Store, User
from portal.models.accounts import OWNER
from portal.models.channels import (
    MARKETING,
    PREFERENCE_CHANNELS,
    PREFERENCE_KINDS,
    RESCUE,
    ChannelPreference,
    WeChatBinding,
)
from portal.services import consent
from portal.services.outbox import enqueue


@dataclass(frozen=True)
class Route:
    """One channel a message goes out on, to whom, and not before when (None: now)."""

    channel: str
    recipient: str
    not_before: datetime | None = None


def default_choice(kind: str) -> dict[str, bool]:
    """Return the channels an owner has before choosing: everything but marketing."""
    on = kind != MARKETING
    return dict.fromkeys(PREFERENCE_CHANNELS, on)


def preferences(user: User) -> dict[str, dict[str, bool]]:
    """Return the owner's choice per kind of message, defaults filled in."""
    chosen = {
        row.kind: {channel: getattr(row, channel) for channel in PREFERENCE_CHANNELS}
        for row in db.session.scalars(
            select(ChannelPreference).where(ChannelPreference.user_id == user.id)
        )
    }
    found = {kind: chosen.get(kind, default_choice(kind)) for kind in PREFERENCE_KINDS}
    found[MARKETING] = consent.consents(user.id)  # marketing follows consent, with its times
    return found


def choice_for(user: User, kind: str) -> dict[str, bool]:
    """Return the owner's choice for one kind of message, as preferences(user)[kind], reading
    only that kind (and the marketing consents only for marketing)."""
    if kind == MARKETING:
        return consent.consents(user.id)
    row = db.session.scalar(
        select(ChannelPreference).where(
            ChannelPreference.user_id == user.id, ChannelPreference.kind == kind
        )
    )
    if row is None:
        return default_choice(kind)
    return {channel: getattr(row, channel) for channel in PREFERENCE_CHANNELS}


def save_preferences(user: User, choices: dict[str, set[str]]) -> None:
    """Store the owner's channels per kind: kind -> the set of channels switched on."""
    rows = {
        row.kind: row
        for row in db.session.scalars(
            select(ChannelPreference).where(ChannelPreference.user_id == user.id)
        )
    }
    for kind in PREFERENCE_KINDS:
        row = rows.get(kind) or ChannelPreference(user_id=user.id, kind=kind)
        for channel in PREFERENCE_CHANNELS:
            setattr(row, channel, channel in choices.get(kind, set()))
        db.session.add(row)
    db.session.flush()
    consent.save_consents(user.id, choices.get(MARKETING, set()))


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_until(at: datetime, timezone: str) -> datetime | None:
    """Return when the store's SMS quiet hours end if `at` falls inside them, else None."""
    cfg = current_app.config
    start, end = _clock(cfg["SMS_QUIET_START"]), _clock(cfg["SMS_QUIET_END"])
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    wraps = start > end  # 21:00 -> 08:00 spans midnight
    inside = (clock >= start or clock < end) if wraps else (start <= clock < end)
    if not inside:
        return None
    day = local.date()
    if wraps and clock >= start:
        day = day.fromordinal(day.toordinal() + 1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(at.tzinfo)


def store_timezone(user: User) -> str:
    """Return the time zone of the owner's store (the group default without one)."""
    if user.store_id:
        store = db.session.get(Store, user.store_id)
        if store is not None and store.timezone:
            return store.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def wechat_openid(user: User) -> str | None:
    """Return the owner's bound WeChat openid, if any."""
    binding = db.session.get(WeChatBinding, user.id)
    return binding.openid if binding is not None else None


def routes(user: User, kind: str, at: datetime) -> list[Route]:
    """Decide the channels of one message to a user: choice, contact details, quiet hours.

    Kinds owners choose for (reminder, booking, rescue, marketing) follow the choice and
    may go by SMS and WeChat; any other kind (account mail, staff notices) goes by email.
    SMS inside the store's quiet hours waits until they end, except a rescue."""
    cfg = current_app.config
    choice = choice_for(user, kind) if kind in PREFERENCE_KINDS else None
    wants = choice or {"email": True, "sms": False, "wechat": False}
    found: list[Route] = []
    if wants["email"] and user.email:
        found.append(Route("email", user.email))
    owner = user.role == OWNER
    if owner and wants["sms"] and user.phone and cfg["SMS_PROVIDER"]:
        later = None if kind == RESCUE else quiet_until(at, store_timezone(user))
        found.append(Route("sms", user.phone, later))
    if owner and wants["wechat"] and cfg["WECHAT_APP_ID"]:
        openid = wechat_openid(user)
        if openid:
            found.append(Route("wechat", openid))
    if cfg["WEBHOOK_URL"] and kind in cfg["WEBHOOK_KINDS"]:
        found.append(Route("webhook", cfg["WEBHOOK_URL"]))
    return found


def fan_out(
    user: User,
    kind: str,
    *,
    subject: str,
    text: str,
    link: str = "",
    params: dict[str, str] | None = None,
    at: datetime,
    only: tuple[str, ...] | None = None,
) -> list[OutboxMessage]:
    """Write one outbox row per channel the policy picks, in the caller's transaction.

    link is absolute; email carries it under the text, the others in data (WeChat opens it
    from the message, a webhook passes it on). params fill the SMS and WeChat templates;
    only limits the channels (for a caller that handles email itself)."""
    data = {"link": link, "params": dict(params or {"text": text[:60]})}
    return [
        enqueue(
            route.channel,
            route.recipient,
            kind=kind,
            subject=subject,
            body=text + (f"\n\n{link}" if link and route.channel == "email" else ""),
            data=data,
            store_id=user.store_id,
            user_id=user.id,
            not_before=route.not_before,
        )
        for route in routes(user, kind, at)
        if only is None or route.channel in only
    ]
