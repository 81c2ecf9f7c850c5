"""The phone system's caller-ID webhook: it posts who is calling which agent; the console pops.

Authenticated by a shared token from the environment (M4S_CALLERID_TOKEN), compared in
constant time; with no token configured the webhook does not exist (404). It writes one row
and answers at once; the agent's console picks the row up on its next poll."""

from __future__ import annotations

import hmac

from flask import Blueprint, abort, current_app, jsonify, request

from crm.calls import record_pop
from portal.extensions import csrf, db

bp = Blueprint("callerid", __name__, url_prefix="/crm")


def _authorised() -> bool:
    expected = current_app.config.get("CALLERID_TOKEN") or ""
    if not expected:
        abort(404)
    given = request.headers.get("X-M4S-Token", "")
    return hmac.compare_digest(given.encode(), expected.encode())


@bp.route("/caller-id", methods=["POST"])
@csrf.exempt  # authenticated by the shared token instead; no browser posts here
def caller_id():
    """Record a caller ID for an agent: JSON {"agent": login, "number": caller's number}."""
    if not _authorised():
        return jsonify(error="bad token"), 403
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="send a JSON object"), 400
    agent, number = body.get("agent"), body.get("number")
    if not isinstance(agent, str) or not isinstance(number, str):
        return jsonify(error="agent and number are strings"), 400
    pop = record_pop(agent[:254], number[:40])
    if pop is None:
        db.session.rollback()
        return jsonify(error="unknown agent or not a mobile number"), 422
    db.session.commit()
    return jsonify(id=pop.id), 201
