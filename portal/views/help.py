"""Help for owners: one short topic per journey, with a screenshot of today's screen."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal import help as content

bp = Blueprint("help", __name__)


@bp.get("/help")
def owner_help():
    return render_template(
        "help/index.html", topics=content.OWNER_TOPICS, has_shot=content.has_shot
    )
