"""A store's time zone is an IANA name: anything else is refused with a message, not saved."""

from __future__ import annotations

from portal.extensions import db
from portal.models import Store


def _edit(client, store, zone):
    return client.post(
        f"/admin/stores/edit/?id={store.id}",
        data={
            "name": store.name,
            "address": store.address or "",
            "phone": store.phone or "",
            "rescue_phone": "",
            "timezone": zone,
            "opens_at": "08:30",
            "closes_at": "18:00",
            "bays": "6",
            "is_active": "y",
        },
    )


def test_a_store_keeps_its_own_unique_name_when_edited(f, client, auth):
    store = f.store()
    auth.login(f.admin())
    assert _edit(client, store, "Asia/Shanghai").status_code == 302  # not "Already exists"
    taken = f.store()
    clash = _edit(client, taken, "Asia/Shanghai")
    clash = client.post(
        f"/admin/stores/edit/?id={taken.id}",
        data={"name": store.name, "timezone": "Asia/Shanghai", "opens_at": "08:30",
              "closes_at": "18:00", "bays": "6"},
    )  # fmt: skip
    assert clash.status_code == 200 and "Already exists" in clash.get_data(as_text=True)


def test_an_unknown_time_zone_is_refused_and_a_real_one_saved(f, client, auth):
    store = f.store()
    auth.login(f.admin())
    refused = _edit(client, store, "-1.87e16")
    assert refused.status_code == 200  # the form again, with its message
    page = refused.get_data(as_text=True)
    assert "Failed to save record" in page or "Asia/Urumqi" in page
    db.session.expire_all()
    assert db.session.get(Store, store.id).timezone == "Asia/Shanghai"

    saved = _edit(client, store, "Asia/Urumqi")
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Store, store.id).timezone == "Asia/Urumqi"
