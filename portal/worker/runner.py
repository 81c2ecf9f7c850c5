"""The worker process: a delivery thread, a jobs thread and a tiny health endpoint."""

from __future__ import annotations

import json
import signal
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flask import Flask

from portal.extensions import db
from portal.worker.delivery import deliver_due
from portal.worker.jobs import WORKER_NAME, run_due_jobs


class Worker:
    """Run outbox delivery and the periodic jobs until stopped."""

    def __init__(self, app: Flask, *, delivery_threads: int = 1, jobs: bool = True) -> None:
        self.app = app
        self.delivery_threads = delivery_threads
        self.jobs = jobs
        self.stop = threading.Event()
        self.last_loop: dict[str, datetime] = {}
        self.delivered = 0
        self._lock = threading.Lock()

    def _beat(self, name: str) -> None:
        with self._lock:
            self.last_loop[name] = datetime.now(UTC)

    def _delivery_loop(self, name: str) -> None:
        poll = self.app.config["WORKER_POLL_SECONDS"]
        # A cap on this thread's messages per second (0: none), so that a big send leaves the
        # machine's CPU to the web workers; each round takes a second's worth, then waits.
        rate = self.app.config["OUTBOX_MAX_PER_SECOND"]
        while not self.stop.is_set():
            started = time.monotonic()
            with self.app.app_context():
                try:
                    counts = deliver_due(limit=rate or 500, should_stop=self.stop.is_set)
                except Exception:  # the database went away: log, wait, try again
                    self.app.logger.exception("outbox delivery failed")
                    counts = {}
                finally:
                    db.session.remove()
            with self._lock:
                self.delivered += counts.get("sent", 0)
            self._beat(name)
            if not any(counts.values()):
                self.stop.wait(poll)
            elif rate:
                self.stop.wait(max(0.0, sum(counts.values()) / rate - (time.monotonic() - started)))

    def _jobs_loop(self) -> None:
        poll = self.app.config["WORKER_POLL_SECONDS"]
        while not self.stop.is_set():
            with self.app.app_context():
                try:
                    run_due_jobs(WORKER_NAME)
                except Exception:
                    self.app.logger.exception("periodic jobs failed")
                finally:
                    db.session.remove()
            self._beat("jobs")
            self.stop.wait(poll)

    def health(self) -> dict:
        """Return the last loop time of each thread and how many messages were sent."""
        with self._lock:
            beats = {k: v.isoformat() for k, v in self.last_loop.items()}
            return {"worker": WORKER_NAME, "last_loop": beats, "delivered": self.delivered}

    def serve_health(self, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
        """Answer GET /healthz with 200 and the last loop times, on a daemon thread."""
        worker = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                if self.path != "/healthz":
                    self.send_error(404)
                    return
                body = json.dumps(worker.health()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep the worker's log for the worker
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
        return server

    def run(self) -> None:
        """Start the threads and block until SIGINT/SIGTERM (or ``stop``) ends them."""
        threads = [
            threading.Thread(
                target=self._delivery_loop, args=(f"delivery-{i}",), name=f"delivery-{i}"
            )
            for i in range(self.delivery_threads)
        ]
        if self.jobs:
            threads.append(threading.Thread(target=self._jobs_loop, name="jobs"))
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self.stop.set())
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(timeout=0.5)
