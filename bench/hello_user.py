"""A second ceiling: bare Flask, its signed session cookie, and one user looked up by primary
key with Flask-SQLAlchemy and the portal's own User model, served like the portal.

What any logged-in page of a Flask + SQLAlchemy app costs at least: no template, no CSRF
token, no login-session check, no security headers, no translations. Loopback bench only:
/login/<id> logs anyone in as anyone.
"""

import os

from flask import Flask, abort, session

from bench.generate import engine_url
from portal.extensions import db
from portal.models import User

app = Flask(__name__)
app.secret_key = os.environ["M4S_SECRET_KEY"]
app.config["SQLALCHEMY_DATABASE_URI"] = engine_url(os.environ["M4S_DATABASE_URL"])
db.init_app(app)


@app.get("/login/<int:user_id>")
def login(user_id: int) -> str:
    """Put the user id in the session cookie."""
    session["uid"] = user_id
    return "ok"


@app.get("/")
def me() -> str:
    """Greet the session's user, read from the database."""
    user = db.session.get(User, session.get("uid", 0))
    if user is None:
        abort(401)
    return f"hello {user.name}"
