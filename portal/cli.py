"""flask m4s ... commands."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import update

from portal.extensions import db

m4s = AppGroup("m4s", help="M4S commands: demo data, reminders, maintenance.")

from portal.worker.cli import worker  # noqa: E402 (the group exists first)

m4s.add_command(worker)
# Packages that add their own demo data after the portal's (a callable each, no arguments).
DEMO_EXTENSIONS = [
    "shop.demo:load_demo",
    "shop.demo:load_price_list_demo",
    "shop.demo:load_workshop_parts_demo",
    "workshop_video.cli:load_video_demo",
    "crm.demo:load_crm_demo",
    "crm.demo_marketing:load_marketing_demo",
    "api.demo:load_api_demo",
    "crm.demo:load_call_centre_demo",
    "crm.demo_portal_leads:load_portal_leads_demo",
    "crm.demo_routing:load_routing_demo",
    "admin.demo_imports:load_platform_leads_demo",
    "admin.demo:load_exports_demo",
    "portal.demo.webhooks:load_webhook_demo",
    "portal.demo.privacy:load_privacy_demo",
    "crm.quality_demo:load_quality_demo",
    "crm.demo_showroom:load_showroom_demo",
    "crm.demo_profile:load_profile_demo",
    "crm.demo_responses:load_responses_demo",
    "crm.demo_value:load_value_demo",  # last: counts every visit and order loaded before
]


@m4s.command("demo")
@click.option("--owners", default=200, show_default=True, help="How many demo owners.")
def demo(owners: int) -> None:
    """Load the demo data (idempotent) and print the demo logins."""
    from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, load_demo

    result = load_demo(owners=owners)
    db.session.commit()
    click.echo(
        f"Demo data ready: {result['stores']} stores, {result['owners_created']} new owners, "
        f"{result['bookings_created']} new bookings."
    )
    for path in DEMO_EXTENSIONS:  # by import path: portal never imports shop & co.
        module, _, attr = path.partition(":")
        extra = getattr(__import__(module, fromlist=[attr]), attr)()
        db.session.commit()
        click.echo(f"{module}: {extra}")
    click.echo("Demo logins (mobile number / password):")
    for role, login in DEMO_LOGINS.items():
        click.echo(f"  {role:12s} {login} / {DEMO_PASSWORD[role]}")


# Jobs of `flask m4s send-reminders`, by import path; each takes no argument, is idempotent
# (safe when two copies run at once), commits its own work and returns how many it sent.
REMINDER_JOBS: list[str] = [
    "portal.services.maintenance:send_due_reminders",
    "portal.services.rescue:escalate",
    "portal.cli:policy_reminders_job",
]


@m4s.command("send-reminders")
@click.option("--days", type=int, default=None, help="Days before a policy ends (default: config).")
def send_reminders(days: int | None) -> None:
    """Send every due reminder and escalation once; safe to run from cron every few minutes."""
    if days is not None:
        current_app.config["POLICY_REMINDER_DAYS"] = days
    for path in REMINDER_JOBS:
        module, _, attr = path.partition(":")
        job = getattr(__import__(module, fromlist=[attr]), attr)
        sent = job()
        if isinstance(sent, dict):  # insurance renewals report what happened to each one
            sent = (
                "{sent} emailed (queued in the outbox), {no_email} without email, "
                "{skipped} already claimed".format(**sent)
            )
        click.echo(f"{path}: {sent}")


def policy_reminders_job(today: date | None = None, days: int | None = None) -> dict[str, int]:
    """Email a renewal reminder for each policy ending within N days, once per policy.

    Each reminder is claimed by inserting its unique (policy_id, kind) row, so a second copy
    of the job running at the same time skips it; the mail is queued in the outbox in the
    transaction that marks the reminder sent, and the worker delivers it (with retries)."""
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from portal.mail import send_mail
    from portal.models import InsurancePolicy, PolicyReminder
    from portal.services import finance
    from portal.timeutil import now, to_local

    cfg = current_app.config
    days = cfg["POLICY_REMINDER_DAYS"] if days is None else days
    today = today or to_local(now(), cfg["DEFAULT_TIMEZONE"]).date()
    due = [p.id for p in finance.policies_due(today, days)]
    db.session.commit()
    counts = {"sent": 0, "no_email": 0, "skipped": 0}
    for policy_id in due:
        policy = db.session.get(InsurancePolicy, policy_id)
        customer = policy.customer
        reminder = finance.claim_reminder(policy, "renewal", "email" if customer.email else "none")
        db.session.commit()
        if reminder is None:
            counts["skipped"] += 1
            continue
        if not customer.email:
            counts["no_email"] += 1
            continue
        with force_locale(customer.locale or cfg["DEFAULT_LOCALE"]):
            subject = _("Your car insurance ends on %(date)s", date=policy.ends_on.isoformat())
            body = _(
                "Dear %(name)s,\n\nyour %(insurer)s policy %(number)s ends on %(date)s. "
                "Contact your advisor to renew it in time:\n%(link)s\n",
                name=customer.name,
                insurer=policy.insurer,
                number=policy.policy_number,
                date=policy.ends_on.isoformat(),
                link=cfg["BASE_URL"].rstrip("/") + "/finance/",
            )
        # The mail is queued in the transaction that marks the reminder sent: both or neither.
        send_mail(customer.email, subject, body, kind="reminder", user_id=customer.id)
        db.session.execute(
            update(PolicyReminder).where(PolicyReminder.id == reminder.id).values(sent_at=now())
        )
        counts["sent"] += 1
        db.session.commit()
    return counts


# --- Sign-in recovery (the operator's way back in when no administrator can sign in) ---


@m4s.command("unlock-admin")
@click.argument("login")
def unlock_admin(login: str) -> None:
    """Unlock an administrator's account from the server; audited, and a new password is forced."""
    from portal.models.accounts import ADMIN
    from portal.services import accounts, signin

    user = accounts.find_by_login(login)
    if user is None or user.role != ADMIN:
        raise click.ClickException(f"No administrator signs in with {login!r}.")
    signin.unlock_by_operator(user)
    db.session.commit()
    click.echo(
        f"Unlocked {user.name} ({user.login}). Their sessions are ended; "
        "they must choose a new password at the next sign-in."
    )


@m4s.command("reset-second-factor")
@click.argument("login")
def reset_second_factor(login: str) -> None:
    """Remove a staff member's TOTP and recovery codes (a lost phone); audited."""
    from portal.services import accounts, totp

    user = accounts.find_by_login(login)
    if user is None or not user.is_staff:
        raise click.ClickException(f"No staff member signs in with {login!r}.")
    totp.remove(user)
    db.session.commit()
    click.echo(f"Two-step sign-in removed for {user.name} ({user.login}).")


# Backup and restore, and publishing the privacy policy: their own modules, on this same group.
import portal.cli_backup  # noqa: E402, F401

# Keys of the personal information encrypted at rest: portal/cli_data_keys.py.
import portal.cli_data_keys  # noqa: E402, F401
import portal.cli_policy  # noqa: E402, F401
