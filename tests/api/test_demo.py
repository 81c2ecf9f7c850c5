"""The demo tokens: loaded once, and the ERP token printed by the demo works."""

from __future__ import annotations

from sqlalchemy import func, select

from api.demo import load_api_demo
from api.models import ApiToken


def test_demo_tokens_load_once_and_the_erp_token_reads(client, db):
    from portal.demo import load_demo

    load_demo(owners=12)
    first = load_api_demo()
    db.session.commit()
    assert first["tokens"] == 3
    assert load_api_demo() == {"tokens": 0}
    assert db.session.scalar(select(func.count(ApiToken.id))) == 3
    headers = {"Authorization": f"Bearer {first['erp_token']}"}
    r = client.get("/api/v1/customers", headers=headers)
    assert r.status_code == 200 and r.get_json()["items"]
    assert client.get("/api/v1/cameras", headers=headers).status_code == 403  # not its scope
    assert client.get("/api/v1/shop/orders", headers=headers).status_code == 200
    assert client.get("/api/v1/leads", headers=headers).status_code == 403
    stock = {"delta": 1, "reason": "ERP 入库"}
    posted = client.post(
        "/api/v1/products/2147483647/stock", json=stock, headers=headers | {"Idempotency-Key": "d1"}
    )
    assert posted.status_code == 404  # its scope: only no such product (a 403 without it)
