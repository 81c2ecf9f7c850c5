"""The ceiling: a bare Flask app, served under the same gunicorn settings as the portal."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    """Say hello, and nothing else."""
    return "hello"
