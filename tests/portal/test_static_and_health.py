"""Static files compressed and cached for a year; the health endpoint."""

from __future__ import annotations

import gzip
import re

from flask import url_for

from portal import static_files


def test_static_css_is_gzipped_with_a_long_cache(client):
    with client.get("/static/css/m4s.css", headers={"Accept-Encoding": "gzip"}) as r:
        body = gzip.decompress(r.get_data())
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"
    max_age = int(re.search(r"max-age=(\d+)", r.headers["Cache-Control"]).group(1))
    assert max_age >= 365 * 24 * 3600
    assert "immutable" in r.headers["Cache-Control"]
    assert "Accept-Encoding" in r.headers["Vary"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    with client.application.open_resource("../static/css/m4s.css") as source:
        assert body == source.read()


def test_static_prefers_brotli_and_serves_plain_without_encoding(client):
    url = "/static/js/htmx-2.0.11.min.js"
    with client.get(url, headers={"Accept-Encoding": "gzip, br"}) as br:
        assert br.get_data()[:2] != b"/*"  # compressed bytes, not the script
    with client.get(url) as plain:
        assert plain.get_data().startswith(b"var htmx")
    assert br.headers["Content-Encoding"] == "br"
    assert "Content-Encoding" not in plain.headers
    assert int(br.headers["Content-Length"]) < int(plain.headers["Content-Length"]) / 2


def test_static_urls_are_versioned_by_content(app):
    with app.test_request_context():
        css = url_for("static", filename="css/m4s.css")
        missing = url_for("static", filename="css/nothing.css")
    assert re.fullmatch(r"/static/css/m4s\.css\?v=[0-9a-f]{12}", css)
    assert missing == "/static/css/nothing.css"


def test_pages_still_get_no_store_and_a_csp(client):
    page = client.get("/login")
    assert page.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert re.search(r'href="/static/css/m4s\.css\?v=[0-9a-f]{12}"', html)


def test_healthz_checks_the_database_and_sets_no_cookie(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in r.headers


def test_healthz_answers_503_when_the_database_is_down(make_app, tmp_path):
    broken = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/no/such/dir/m4s.db")
    r = broken.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json() == {"status": "database unavailable"}
    assert "Set-Cookie" not in r.headers


def test_static_files_are_served_when_the_instance_folder_is_read_only(make_app, tmp_path):
    blocker = tmp_path / "instance"
    blocker.write_text("a file where the instance folder should be")
    app = make_app()
    app.instance_path = str(blocker)
    static_files.init_app(app)  # wraps the app again, outermost
    with app.test_client().get("/static/css/m4s.css", headers={"Accept-Encoding": "gzip"}) as r:
        assert r.status_code == 200
        assert "Content-Encoding" not in r.headers
        assert b"{" in r.get_data()
