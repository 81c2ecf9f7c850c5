"""The demo's customer value: computed when the demo loads, so the report shows several bands."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.demo_value import SEGMENT_NAME, load_value_demo
from crm.value_models import CustomerValue
from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, load_demo
from portal.models import User
from shop.demo import load_demo as load_shop_demo


def test_demo_fills_the_bands_and_the_report(db, client, auth):
    load_demo(owners=12)
    load_shop_demo()
    db.session.commit()
    result = load_value_demo()
    db.session.commit()
    owners = db.session.scalar(
        select(func.count(User.id)).where(
            User.role == "owner", User.is_active.is_(True), User.store_id.is_not(None)
        )
    )
    assert result["customers"] == owners and result["segments"] == 1
    manager = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS["manager"]))
    banded = db.session.scalars(
        select(CustomerValue.band_id)
        .where(CustomerValue.store_id == manager.store_id, CustomerValue.band_id.is_not(None))
        .distinct()
    ).all()
    assert len(banded) >= 2  # the demo store's customers fall in more than one band
    assert load_value_demo()["segments"] == 0  # loaded again: the segment is not repeated
    auth.login(manager, DEMO_PASSWORD["manager"])
    page = client.get("/admin/customer_value/", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "of revenue" in html and "Core" in html
    segments = client.get("/admin/segments/", headers={"Accept-Language": "en"})
    assert SEGMENT_NAME.split(" · ")[1] in segments.get_data(as_text=True)
