"""Demo API tokens: an ERP limited to the demo store, a marketing tool, a revoked old DMS."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api import tokens
from api.models import ApiToken
from portal.demo import DEMO_LOGINS
from portal.extensions import db
from portal.models import User
from portal.models.accounts import ADMIN, ADVISOR
from portal.timeutil import now


def load_api_demo() -> dict[str, object]:
    """Create the demo tokens once; return the ERP token's secret, shown this once."""
    if db.session.scalar(select(ApiToken.id).limit(1)) is not None:
        return {"tokens": 0}
    admin = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[ADMIN]))
    advisor = db.session.scalar(select(User).where(User.phone == DEMO_LOGINS[ADVISOR]))
    if admin is None or advisor is None or advisor.store is None:
        return {"tokens": 0}
    # The ERP also writes back: stock counts from the parts store, customers' changed contacts.
    erp_scopes = ["customers:read", "customers:write", "service_records:read", "bookings:read",
                  "shop:read", "shop:write", "orders:read"]  # fmt: skip
    erp, secret = tokens.create_token(
        admin,
        "金蝶云星空 ERP",
        erp_scopes,
        advisor.store,
        full_phones=True,
    )
    erp.last_used_at = now() - timedelta(minutes=7)
    marketing = ["customers:read", "bookings:read", "bookings:write", "leads:read", "leads:write"]
    tokens.create_token(admin, "企业微信营销平台", marketing, None)  # also feeds campaign leads
    old, _secret = tokens.create_token(admin, "旧 DMS 数据同步", ["bookings:read"], advisor.store)
    old.created_at = now() - timedelta(days=400)
    old.last_used_at = now() - timedelta(days=35)
    old.revoked_at = now() - timedelta(days=30)
    db.session.flush()
    return {"tokens": 3, "erp_token": secret}
