"""A live M4S under gunicorn on a free port, and Debian's Chromium: for the lane and scripts."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
DESKTOP = {
    "viewport": {"width": 1280, "height": 800},
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


def chromium_path() -> str:
    """Return Debian's Chromium (or M4S_CHROMIUM); raise with the fix if it is not there."""
    path = os.environ.get("M4S_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError(
            f"Chromium not found at {path}. The browser lane drives Debian's Chromium: "
            "`apt-get install chromium`, or point M4S_CHROMIUM at a Chromium binary. "
            "Never `playwright install`."
        )
    return path


def launch_chromium(playwright):
    """Start headless Debian Chromium through Playwright."""
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A migrated SQLite database with demo data, served by gunicorn from a temp folder."""

    def __init__(self, workdir: Path, owners: int = 20, workers: int = 2) -> None:
        self.workdir = Path(workdir)
        self.owners = owners
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.media_url = f"http://127.0.0.1:{free_port()}"  # started by the video journeys
        self.log_path = self.workdir / "server.log"
        self.proc: subprocess.Popen | None = None
        self.env = self._env()

    def _env(self) -> dict[str, str]:
        # Nothing from the developer's own M4S_* settings (Redis, PostgreSQL, ...) leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("M4S_")}
        instance = self.workdir / "instance"
        instance.mkdir(parents=True, exist_ok=True)
        env.update(
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            M4S_ENV="testing",
            M4S_SECRET_KEY=secrets.token_hex(32),
            M4S_INSTANCE_PATH=str(instance),
            M4S_DATABASE_URL="sqlite:///" + str(self.workdir / "m4s.db"),
            M4S_BASE_URL=self.url,
            M4S_MEDIA_URL=self.media_url,
            M4S_MEDIA_ICE_HOSTS="127.0.0.1",  # loopback only: aioice leaves it out otherwise
            M4S_VIDEO_REPORT_SECONDS="1",
            M4S_RATELIMIT_ENABLED="0",
            # The journeys log in a dozen times on two shared cores: cheap hashes keep them quick.
            M4S_ARGON2_TIME_COST="1",
            M4S_ARGON2_MEMORY_COST="8192",
            M4S_ARGON2_PARALLELISM="1",
        )
        return env

    def _flask(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
        done = subprocess.run(cmd, cwd=ROOT, env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def prepare(self) -> None:
        """Create the schema and load the demo data through the CLI, as an operator would."""
        self._flask("db", "upgrade")
        self._flask("m4s", "demo", "--owners", str(self.owners))

    def start(self, timeout: float = 120.0) -> None:
        """Start gunicorn and wait until /healthz answers (its workers import the whole app:
        more than 30 s on a machine shared by several test suites)."""
        cmd = [
            sys.executable, "-m", "gunicorn",
            # Threads: Chromium opens spare connections it may never send a request on, and a
            # sync worker waits on such a socket until its timeout (30 s). With both workers
            # waiting, a page's script never loaded and the lane failed (gunicorn's log:
            # "WORKER TIMEOUT ... no URI read"). A threaded worker serves the next connection.
            "--workers", str(self.workers), "--threads", "4",
            "--bind", f"127.0.0.1:{self.port}",
            "--access-logfile", "-",
            "wsgi:app",
        ]  # fmt: skip
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"/healthz did not answer within {timeout:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        """Stop gunicorn: TERM for a graceful stop, KILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self, tail: int = 4000) -> str:
        """Return the end of the server log."""
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> LiveServer:
        self.prepare()
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
