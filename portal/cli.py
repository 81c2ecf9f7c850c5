"""flask m4s ... commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.extensions import db

m4s = AppGroup("m4s", help="M4S commands: demo data, reminders, maintenance.")


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
    click.echo("Demo logins (mobile number / password):")
    for role, login in DEMO_LOGINS.items():
        click.echo(f"  {role:8s} {login} / {DEMO_PASSWORD[role]}")
