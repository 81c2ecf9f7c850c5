"""Race tests: run one function in several real threads released together."""

from __future__ import annotations

import threading
from collections.abc import Callable

from portal.extensions import db


def at_once(app, fn: Callable[[], object], n: int) -> list:
    """Run fn in n threads that start together, each in its own app context and session, and
    commit what it did; return the results, with an exception's repr in place of a result."""
    gate = threading.Barrier(n)
    results: list = []

    def one() -> None:
        with app.app_context():
            gate.wait()
            try:
                results.append(fn())
                db.session.commit()
            except Exception as exc:  # noqa: BLE001  (reported: the caller's assert fails on it)
                db.session.rollback()
                results.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.rollback()
    return results
