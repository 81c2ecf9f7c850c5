"""flask m4s publish-policy: publish the next version of the privacy policy from two files."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import click
from flask import current_app

from portal.cli import m4s
from portal.errors import DomainError
from portal.extensions import db


@m4s.command("publish-policy")
@click.option("--zh", "zh_file", type=click.File(encoding="utf-8"), required=True)
@click.option("--en", "en_file", type=click.File(encoding="utf-8"), required=True)
@click.option(
    "--effective",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="The day it comes into force (00:00 in the default time zone).",
)
@click.option("--summary-zh", default="", help="What changed, in Chinese.")
@click.option("--summary-en", default="", help="What changed, in English.")
def publish_policy(zh_file, en_file, effective: datetime, summary_zh: str, summary_en: str):
    """Publish the next privacy policy version; owners accept it at their next sign-in."""
    from portal.services import policy

    zone = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    start = datetime.combine(effective.date(), time(0), tzinfo=zone).astimezone(UTC)
    try:
        row = policy.publish_policy(
            None,
            text_zh=zh_file.read(),
            text_en=en_file.read(),
            effective_at=start,
            summary_zh=summary_zh,
            summary_en=summary_en,
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(
        f"Published privacy policy version {row.version}, in force from {start:%Y-%m-%d %H:%M} UTC."
    )
