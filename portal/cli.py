"""flask m4s ... commands."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import delete, update

from portal.extensions import db

m4s = AppGroup("m4s", help="M4S commands: demo data, reminders, maintenance.")
# Packages that add their own demo data after the portal's (a callable each, no arguments).
DEMO_EXTENSIONS = [
    "shop.demo:load_demo",
    "workshop_video.cli:load_video_demo",
    "crm.demo:load_crm_demo",
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
        click.echo(f"  {role:8s} {login} / {DEMO_PASSWORD[role]}")


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
                "{sent} emailed, {no_email} without email, {skipped} already claimed, "
                "{failed} failed (retried next run)".format(**sent)
            )
        click.echo(f"{path}: {sent}")


def policy_reminders_job(today: date | None = None, days: int | None = None) -> dict[str, int]:
    """Email a renewal reminder for each policy ending within N days, once per policy.

    Each reminder is claimed by inserting its unique (policy_id, kind) row and committing
    before the mail goes out, so a second copy of the job running at the same time skips it.
    A mail the SMTP server refused releases the claim, so the next run tries again."""
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
    counts = {"sent": 0, "no_email": 0, "skipped": 0, "failed": 0}
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
        if send_mail(customer.email, subject, body) or not cfg["SMTP_HOST"]:
            db.session.execute(
                update(PolicyReminder).where(PolicyReminder.id == reminder.id).values(sent_at=now())
            )
            counts["sent"] += 1
        else:
            db.session.execute(delete(PolicyReminder).where(PolicyReminder.id == reminder.id))
            counts["failed"] += 1
        db.session.commit()
    return counts


# Backup and restore: their commands live in portal/cli_backup.py, on this same group.
import portal.cli_backup  # noqa: E402, F401
