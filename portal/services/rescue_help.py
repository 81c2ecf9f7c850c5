"""Help an owner in an emergency needs at once: numbers to call and links that open a map app."""

from __future__ import annotations

from urllib.parse import quote

from flask_babel import gettext as _

from portal.models import Rescue, Store

# China's national emergency numbers that matter on the road (110 police is named in the advice).
TRAFFIC_ACCIDENT = "122"
AMBULANCE = "120"


def tel_href(number: str) -> str:
    """Return a tel: link for a phone number as people write it (spaces and dashes dropped)."""
    return "tel:" + "".join(c for c in number if c.isdigit() or c == "+")


def call_lines(store: Store | None) -> list[tuple[str, str, str]]:
    """Return (id, label, number) for the store's 24-hour rescue line, then 122 and 120."""
    lines = []
    own = store and (store.rescue_phone or store.phone)
    if own:
        lines.append(("call-store", _("24-hour rescue line, %(store)s", store=store.name), own))
    lines.append(("call-122", _("Traffic accident 122"), TRAFFIC_ACCIDENT))
    lines.append(("call-120", _("Ambulance 120"), AMBULANCE))
    return lines


def map_links(rescue: Rescue) -> list[tuple[str, str]]:
    """Return (name, URL) map links for the rescue's coordinates or typed address; no script."""
    if rescue.has_coordinates:
        lat, lng = f"{rescue.latitude:.6f}", f"{rescue.longitude:.6f}"
        return [
            # Amap takes longitude first; coordinate=wgs84 because browsers report WGS-84.
            (_("Amap"), f"https://uri.amap.com/marker?position={lng},{lat}&coordinate=wgs84"),
            (
                _("OpenStreetMap"),
                f"https://www.openstreetmap.org/?mlat={lat}&mlon={lng}#map=17/{lat}/{lng}",
            ),
        ]
    address = (rescue.address or "").strip()
    if not address:
        return []
    keyword = quote(address, safe="")
    return [
        # Amap's and Baidu's documented URL APIs: a search page that opens the app if it is there.
        (_("Amap"), f"https://uri.amap.com/search?keyword={keyword}&callnative=1&src=m4s"),
        (
            _("Baidu Maps"),
            f"https://api.map.baidu.com/geocoder?address={keyword}&output=html&src=m4s",
        ),
    ]
