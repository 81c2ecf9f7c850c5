"""flask m4s shop-... commands."""

from __future__ import annotations

import click

from portal.cli import m4s
from portal.extensions import db


@m4s.command("shop-expire-holds")
def expire_holds() -> None:
    """Release the stock of unpaid orders whose hold has ended (safe to run any time)."""
    from shop.orders import expire_holds as release

    released = release()
    db.session.commit()
    click.echo(f"Released the holds of {released} orders.")
