"""The apply step of every checked import takes its file back only with the token its preview
gave this person: a forged or empty token, another import's token or a spent one is refused
with the same message, and nothing is queued or applied."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from admin.checked_uploads import CheckedUploads
from admin.models import ImportJob

APPLY = ["/admin/imports/", "/admin/lead_imports/", "/admin/catalog_imports/"]
REFUSED = "Upload the file again: this import is unknown or already applied."


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "files"))


@pytest.mark.parametrize("base", APPLY)
@pytest.mark.parametrize("kind", ["forged", "other import", "empty"])
def test_a_token_not_for_this_apply_is_refused(app, client, auth, f, db, base, kind):
    store = f.store("A")
    me = f.admin()
    db.session.commit()
    other = CheckedUploads("elsewhere", salt="m4s-some-other-upload")
    with app.test_request_context():
        tokens = {
            "forged": "forged",
            "other import": other.keep(b"x", me, "products", store.id),
            "empty": "",
        }
    auth.login(me)
    r = client.post(base + "apply", data={"token": tokens[kind]})
    assert r.status_code == 303 and r.headers["Location"].startswith(base)
    assert REFUSED in client.get(r.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count(ImportJob.id))) == 0


def test_take_posted_checks_the_details_and_says_why_once(app, f, db):
    me = f.admin()
    db.session.commit()
    uploads = CheckedUploads("things", salt="m4s-things")
    with app.test_request_context():
        token = uploads.keep(b"data", me, "products", 7)
    with app.test_request_context(method="POST", data={"token": token}):
        assert uploads.take_posted(me, details=1) is None  # one detail too many
        assert uploads.take_posted(me, details=2, valid=lambda d: d[0] == "stock") is None
        path, details = uploads.take_posted(me, details=2, valid=lambda d: d[0] == "products")
        assert details == ["products", 7] and path.read_bytes() == b"data"
    with app.test_request_context(method="POST", data={"token": token}):
        path.unlink()  # applied: the file is gone, and the token with it
        assert uploads.take_posted(me, details=2) is None
