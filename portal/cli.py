"""flask m4s ... commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.extensions import db

m4s = AppGroup("m4s", help="M4S commands: demo data, reminders, maintenance.")
# Packages that add their own demo data after the portal's (a callable each, no arguments).
DEMO_EXTENSIONS = ["shop.demo:load_demo"]


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
]


@m4s.command("send-reminders")
def send_reminders() -> None:
    """Send every due reminder and escalation once; safe to run from cron every few minutes."""
    for path in REMINDER_JOBS:
        module, _, attr = path.partition(":")
        job = getattr(__import__(module, fromlist=[attr]), attr)
        sent = job()
        click.echo(f"{path}: {sent}")
