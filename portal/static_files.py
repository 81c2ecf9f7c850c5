"""Static files served by WhiteNoise: compressed (gzip, brotli), versioned, cached for a year.

The static folder is copied once per content version into the instance folder with a gzip and a
brotli sibling for each compressible file (WhiteNoise serves the smallest the browser accepts),
so every setup, `make run` and tests included, serves compressed files without a build step and
without writing into the source tree. `url_for('static', ...)` adds `?v=<hash of the file>`, so
a changed file gets a new URL and every URL can be cached as immutable.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from flask import Flask
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

ONE_YEAR = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    """Serve the app's static folder through WhiteNoise and version its URLs."""
    source = Path(app.static_folder or "")
    hashes = {
        path.relative_to(source).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in sorted(source.rglob("*"))
        if path.is_file()
    }
    tree = hashlib.sha256(repr(sorted(hashes.items())).encode()).hexdigest()[:16]
    try:
        root = _compressed_copy(source, Path(app.instance_path) / "static", tree)
    except OSError as exc:  # a read-only instance folder: serve the files, uncompressed
        app.logger.warning("static files served uncompressed: %s", exc)
        root = source
    app.wsgi_app = WhiteNoise(  # type: ignore[method-assign]
        app.wsgi_app,
        root=str(root),
        prefix=app.static_url_path,
        max_age=ONE_YEAR,
        immutable_file_test=lambda path, url: True,  # every page links a versioned URL
        add_headers_function=_nosniff,
    )

    @app.url_defaults
    def _static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and values.get("filename") in hashes:
            values.setdefault("v", hashes[values["filename"]])


def _nosniff(headers, path: str, url: str) -> None:
    headers["X-Content-Type-Options"] = "nosniff"


def _compressed_copy(source: Path, parent: Path, version: str) -> Path:
    """Return a folder holding the static files with compressed siblings, made once."""
    target = parent / version
    if target.is_dir():
        return target
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=parent))
    try:
        shutil.copytree(source, work, dirs_exist_ok=True)
        compressor = Compressor(quiet=True)
        for path in sorted(work.rglob("*")):
            if path.is_file() and compressor.should_compress(path.name):
                compressor.compress(str(path))
        try:
            os.rename(work, target)  # atomic: a second process may have won the race
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
