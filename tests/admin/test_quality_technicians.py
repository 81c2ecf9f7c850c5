"""NPS per technician on constructed answers with a known result: each answered service survey
counts for every technician on its job card (assigned or with a labour line, once each), and a
manager sees only the own store's technicians."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm import quality_stats, surveys
from crm.quality_models import Survey
from portal.extensions import db
from portal.services import bookings as svc
from portal.services.bookings import job_card
from tests import factories


def job(store, advisor, score: int, *, assigned=(), labour=()) -> None:
    """A completed job with these technicians assigned and with labour lines, its survey
    answered with this NPS score."""
    owner = factories.owner(store)
    vehicle = factories.vehicle(owner)
    booking = svc.book_repair(owner, vehicle, store, factories.slot(store), ["repair"])
    svc.accept(advisor, booking, bay=1)
    svc.check_in(advisor, booking, vehicle.current_km + 100)
    svc.start_work(advisor, booking)
    for tech in assigned:
        job_card.assign(advisor, booking, tech.id)
    for tech in labour:
        job_card.add_labour(
            advisor, booking, operation="更换刹车片", hours_tenths=10, rate_fen=20000,
            technician_id=tech.id,
        )  # fmt: skip
    typed = [{"kind": "labour", "description": "检查", "quantity": 1, "unit_price_fen": 5000}]
    svc.complete(advisor, booking, typed, fault_category="brakes")
    db.session.commit()
    surveys.send_due()
    survey = db.session.scalar(select(Survey).where(Survey.booking_id == booking.id))
    surveys.submit(survey, score, [5, 4, 3])
    db.session.commit()


@pytest.fixture
def scene(f):
    store, other = f.store(bays=8), f.store(bays=8)
    advisor, manager = f.advisor(store), f.manager(store)
    wang, li, zhao = (f.technician(store, name=n) for n in ("王师傅", "李师傅", "赵师傅"))
    rival = f.technician(other, name="钱师傅")
    db.session.commit()
    job(store, advisor, 10, assigned=[wang])
    job(store, advisor, 9, assigned=[wang], labour=[li])
    job(store, advisor, 7, labour=[li])
    job(store, advisor, 3, assigned=[wang], labour=[wang])  # one technician, counted once
    job(store, advisor, 0)  # no technician on the card: nobody's score
    job(other, f.advisor(other), 10, assigned=[rival])
    return manager, wang, li, zhao, rival


def test_nps_per_technician_on_known_answers(scene, f):
    manager, wang, li, zhao, rival = scene
    rows = quality_stats.nps_by_technician(manager)
    got = [(r.label, r.n, r.promoters, r.passives, r.detractors, round(r.nps, 2)) for r in rows]
    assert got == [
        ("王师傅", 3, 2, 0, 1, 33.33),  # 10, 9, 3
        ("李师傅", 2, 1, 1, 0, 50.0),  # 9, 7
    ]
    everyone = {r.label: r.n for r in quality_stats.nps_by_technician(f.admin())}
    assert everyone == {"王师傅": 3, "李师傅": 2, "钱师傅": 1}
    rival_manager = f.manager(db.session.get(type(rival.store), rival.store_id))
    assert [r.label for r in quality_stats.nps_by_technician(rival_manager)] == ["钱师傅"]
    assert quality_stats.nps_by_technician(factories.owner()) == []


def test_the_csi_page_shows_nps_per_technician_of_the_store(scene, auth, client):
    manager, wang, li, zhao, rival = scene
    auth.login(manager)
    page = client.get("/admin/csi/").get_data(as_text=True)
    assert 'id="csi-technician"' in page and 'id="csi-technician-table"' in page
    table = page[page.index('id="csi-technician-table"') :]
    table = table[: table.index("</table>")]
    assert "<td>王师傅</td><td>3</td><td>2</td><td>0</td><td>1</td><td>33</td>" in table
    assert "<td>李师傅</td><td>2</td><td>1</td><td>1</td><td>0</td><td>50</td>" in table
    assert "王师傅 (n=3)" in page  # the chart names the sample size
    assert "钱师傅" not in page and "赵师傅" not in page
    delivery = client.get("/admin/csi/?kind=delivery").get_data(as_text=True)
    assert 'id="csi-technician"' not in delivery
