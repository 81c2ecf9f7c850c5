"""SOS help: one tap to the store's rescue line, 122 and 120; map links for typed addresses."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.services import rescue as svc
from portal.services.rescue_help import call_lines, tel_href


@pytest.fixture
def scene(f):
    store = f.store(rescue_phone="400-800 0755")
    owner = f.owner(store)
    vehicle = f.vehicle(owner)
    return store, owner, vehicle


def _tel_links(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="(call-[\w-]+)" href="(tel:[^"]+)"', html))


def test_tel_links_keep_only_what_a_phone_dials():
    assert tel_href("400-800 0755") == "tel:4008000755"
    assert tel_href("+86 755 2600 0001") == "tel:+8675526000001"


def test_the_store_line_comes_first_then_the_national_numbers(scene, f):
    store, *_ = scene
    assert [(i, n) for i, _l, n in call_lines(store)] == [
        ("call-store", "400-800 0755"),
        ("call-122", "122"),
        ("call-120", "120"),
    ]
    # A store without a rescue line still gets a call button: its ordinary phone.
    plain = f.store()
    assert call_lines(plain)[0][2] == plain.phone
    assert [i for i, *_ in call_lines(None)] == ["call-122", "call-120"]


def test_sos_page_offers_one_tap_calls(scene, client, auth):
    _store, owner, _v = scene
    auth.login(owner)
    html = client.get("/rescue/new").get_data(as_text=True)
    assert _tel_links(html) == {
        "call-store": "tel:4008000755",
        "call-122": "tel:122",
        "call-120": "tel:120",
    }
    # The calls come before the form: nobody has to scroll past it in an emergency.
    assert html.index('id="call-store"') < html.index('id="rescue-form"')


def test_status_page_keeps_the_calls_until_the_rescue_ends(scene, client, auth, db, f):
    _store, owner, vehicle = scene
    r = f.rescue(owner, vehicle)
    db.session.commit()
    auth.login(owner)
    html = client.get(f"/rescue/{r.id}").get_data(as_text=True)
    assert set(_tel_links(html)) == {"call-store", "call-122", "call-120"}
    svc.cancel(owner, r, "")
    db.session.commit()
    html = client.get(f"/rescue/{r.id}").get_data(as_text=True)
    assert _tel_links(html) == {}


def test_typed_address_gets_map_search_links(scene, client, auth, db, f):
    _store, owner, vehicle = scene
    address = "G4 京港澳高速 深圳方向 K2345 & 服务区"
    r = f.rescue(owner, vehicle, address=address)
    db.session.commit()
    links = dict(svc.map_links(r))
    amap = urlsplit(links["Amap"])
    assert (amap.netloc, amap.path) == ("uri.amap.com", "/search")
    assert parse_qs(amap.query)["keyword"] == [address]  # the & stays inside the keyword
    baidu = urlsplit(links["Baidu Maps"])
    assert (baidu.netloc, baidu.path) == ("api.map.baidu.com", "/geocoder")
    assert parse_qs(baidu.query)["address"] == [address]
    auth.login(owner)
    html = client.get(f"/rescue/{r.id}").get_data(as_text=True)
    assert 'class="map-link" href="https://uri.amap.com/search?keyword=' in html


def test_coordinates_win_over_the_typed_address(scene, f):
    _store, owner, vehicle = scene
    r = f.rescue(owner, vehicle, latitude=22.5, longitude=113.9, address="南山区")
    assert dict(svc.map_links(r))["Amap"].startswith("https://uri.amap.com/marker?position=")
