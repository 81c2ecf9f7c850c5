"""Demo data for `flask m4s demo`, the tests and the screenshots: one module per domain."""

from portal.demo.owners import load_demo
from portal.demo.people import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    MODELS,
    STORES,
    avatar_png,
    chinese_name,
    make_plate,
    make_vin,
    mileage_history,
)

__all__ = [
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "MODELS",
    "STORES",
    "avatar_png",
    "chinese_name",
    "load_demo",
    "make_plate",
    "make_vin",
    "mileage_history",
]
