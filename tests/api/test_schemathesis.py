"""Schemathesis against the app's own OpenAPI document: generated requests to every operation,
no server error, and every answer (status, media type, body) as the document says."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.spec import document

CASES = int(os.environ.get("M4S_API_CASES", "2200"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _world(f, db):
    """Store A with customers, vehicles, bookings, a service record, a camera, a product and
    a lead."""
    from portal.models import ServiceItem, ServiceRecord
    from shop.models import Category, Product
    from workshop_video.models import Camera

    store = f.store("A")
    advisor = f.advisor(store)
    for i in range(4):
        owner = f.owner(store, phone=f"1380000{i:04d}")
        booking = f.booking(owner, store, days=1 + i, hour=10)
        record = ServiceRecord(
            booking_id=booking.id, vehicle_id=booking.vehicle_id, store_id=store.id,
            advisor_id=advisor.id, mileage_km=12000, fault_category="maintenance",
            total_fen=30000, items=[ServiceItem(kind="part", description="机油", quantity=1,
                                                unit_price_fen=30000)],
        )  # fmt: skip
        db.session.add(record)
    db.session.add(Camera(store_id=store.id, bay=1, name="1号工位", source="rtsp://u:p@h/1"))
    db.session.add(Product(sku="OIL-1", name="机油", category=Category(name="保养"), price_fen=100))
    db.session.commit()
    from crm import leads as crm_leads

    crm_leads.capture(  # a lead to move along the pipeline
        crm_leads.Inquiry(name="潜客", phone="13955550001", store=store, source="phone")
    )
    db.session.commit()


def test_generated_requests_match_the_document(app, f, db, make_token):
    _world(f, db)
    _token, secret = make_token()
    schema = schemathesis.openapi.from_dict(document())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    # Positive cases follow the document; negative ones break it (and drop the token), and
    # must be refused with a documented 4xx problem.
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategy = st.one_of(*[op.as_strategy(generation_mode=m) for op in operations for m in modes])
    client = app.test_client()
    seen: dict[str, int] = {}

    @settings(
        max_examples=CASES,
        deadline=None,
        derandomize=os.environ.get("M4S_API_RANDOM") != "1",
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],  # no shrinking: a failure is reported as found
    )
    @given(strategy)
    def one(case):
        headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}
        kwargs = case.as_transport_kwargs(headers=headers)
        response = client.open(
            kwargs["url"].replace("http://localhost", ""),
            method=kwargs["method"],
            headers=kwargs.get("headers"),
            query_string=kwargs.get("params"),
            json=kwargs.get("json"),
        )
        seen[str(response.status_code)] = seen.get(str(response.status_code), 0) + 1
        case.validate_response(response, checks=CHECKS)  # raises on the first failure

    one()
    total = sum(seen.values())
    assert total >= CASES, seen
    assert seen.get("200", 0) > CASES // 20, seen  # it reached real data, not only refusals
