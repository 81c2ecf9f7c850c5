"""The leads burst sends what a channel sends: valid bodies, new and known phones, every store."""

from __future__ import annotations

from api.schemas import LeadCreate
from bench.run_leads import percentile, requests_for


def test_the_burst_is_valid_leads_for_every_store_with_some_known_customers():
    data = {"customers": 10, "stores": [1, 2, 3], "known": ["13800000001", "13800000002"]}
    bodies = requests_for(data, rate=20, seconds=10, tag="t")
    assert len(bodies) == 200
    for body in bodies:
        LeadCreate.model_validate(body)  # what the API accepts, or this raises
    known = [b for b in bodies if b["phone"] in data["known"]]
    new = [b["phone"] for b in bodies if b["phone"] not in data["known"]]
    assert 0.2 < len(known) / len(bodies) < 0.4
    assert len(set(new)) == len(new)  # a new phone is a new customer
    assert {b["store_id"] for b in bodies} == {1, 2, 3}


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
