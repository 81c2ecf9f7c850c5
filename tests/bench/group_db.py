"""What the tests that build a dealer group share: where its database goes, and the warnings
the generator's bulk loading raises outside bench/."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url

# The same two deprecations outside bench/ as in test_generate.py.
GENERATOR_WARNINGS = [
    pytest.mark.filterwarnings(
        "ignore:Passing a session object directly is deprecated:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning"),
]


def dataset_url(tmp_path, name: str) -> str:
    """A database of its own beside the test database on PostgreSQL (the test database's name
    and _name), else a SQLite file name.db in tmp_path."""
    url = os.environ.get("M4S_TEST_DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{tmp_path / name}.db"
    parsed = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    return parsed.set(database=f"{parsed.database}_{name}").render_as_string(False)
