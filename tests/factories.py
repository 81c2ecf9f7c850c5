"""Plain factory functions for tests; each adds to the session and commits."""

from __future__ import annotations

import itertools
import random
from datetime import time

from portal.demo import make_plate, make_vin
from portal.extensions import db
from portal.models import AdvisorProfile, Brand, Region, Store, User, Vehicle
from portal.services import passwords

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)
_rng = random.Random(7)


def store(name: str | None = None, **kw) -> Store:
    s = Store(
        name=name or f"Store {next(_seq)}",
        address="深圳市",
        phone="0755-1",
        timezone="Asia/Shanghai",
        opens_at=time(8, 30),
        closes_at=time(18, 0),
        bays=kw.pop("bays", 4),
        **kw,
    )
    db.session.add(s)
    db.session.commit()
    return s


def main_store() -> Store:
    """Return the group's first store (the one the shop shows when the owner has no home
    store), made if there is none."""
    from sqlalchemy import select

    first = db.session.scalar(select(Store).order_by(Store.id).limit(1))
    return first if first is not None else store()


def stock(product, quantity: int, store: Store | None = None) -> Store:
    """Put quantity units of the product on a store's shelf (the group's first store unless
    one is given), through the stock ledger; return the store. The one way tests stock a shelf."""
    from shop import stock as shop_stock

    shelf = store if store is not None else main_store()
    shop_stock.set_initial(product, shelf.id, quantity)
    db.session.commit()
    return shelf


def stock_at(product, store: Store) -> int:
    """Return the units of the product for sale on the store's shelf."""
    from shop import stock as shop_stock

    return shop_stock.at_store(store.id, product.id)


def user(role: str, store: Store | None = None, password: str = PASSWORD, **kw) -> User:
    n = next(_seq)
    u = User(
        role=role,
        name=kw.pop("name", f"{role} {n}"),
        phone=kw.pop("phone", f"137{n:08d}"),
        email=kw.pop("email", f"{role}{n}@example.com"),
        password_hash=passwords.hash_password(password),
        store_id=store.id if store else None,
        **kw,
    )
    db.session.add(u)
    db.session.commit()
    if role == "advisor":
        db.session.add(AdvisorProfile(user_id=u.id, display_name=u.name, phone=u.phone or ""))
        db.session.commit()
    return u


def owner(store: Store | None = None, **kw) -> User:
    return user("owner", store, **kw)


def advisor(store: Store, **kw) -> User:
    return user("advisor", store, **kw)


def manager(store: Store, **kw) -> User:
    return user("manager", store, **kw)


def admin(**kw) -> User:
    return user("admin", None, **kw)


def agent(store: Store, **kw) -> User:
    return user("agent", store, **kw)


def technician(store: Store, **kw) -> User:
    return user("technician", store, **kw)


def region(name: str | None = None, stores: tuple[Store, ...] = ()) -> Region:
    r = Region(name=name or f"Region {next(_seq)}")
    db.session.add(r)
    db.session.flush()
    for s in stores:
        s.region_id = r.id
    db.session.commit()
    return r


def hq(**kw) -> User:
    return user("hq", None, **kw)


def regional(region: Region, **kw) -> User:
    return user("region", None, region_id=region.id, **kw)


def brand(code: str | None = None, stores: tuple[Store, ...] = (), **kw) -> Brand:
    n = next(_seq)
    code = code or f"B{n}"
    b = Brand(code=code, name=kw.pop("name", f"品牌{n}"), name_en=kw.pop("name_en", f"Brand {n}"))
    db.session.add(b)
    db.session.flush()
    for s in stores:
        s.brands.append(b)
    db.session.commit()
    return b


def manufacturer(brand: Brand, **kw) -> User:
    return user("manufacturer", None, brand_id=brand.id, **kw)


_made: set[str] = set()  # plates and VINs handed out in this process: never twice


def _fresh(make) -> str:
    """Return a value make() has not returned before (random plates collide now and then:
    a test with 120 cars once drew the same plate twice)."""
    value = make()
    while value in _made:
        value = make()
    _made.add(value)
    return value


def vin() -> str:
    return _fresh(lambda: make_vin(_rng, "LSV", 2021))


def plate() -> str:
    return _fresh(lambda: make_plate(_rng))


def vehicle(owner: User, **kw) -> Vehicle:
    v = Vehicle(
        owner_id=owner.id,
        vin=kw.pop("vin", None) or vin(),
        plate=kw.pop("plate", None) or plate(),
        brand=kw.pop("brand", "大众"),
        series=kw.pop("series", "帕萨特"),
        model_year=kw.pop("model_year", 2021),
        current_km=kw.pop("current_km", 10000),
        **kw,
    )
    db.session.add(v)
    db.session.commit()
    return v


def slot(store: Store, days: int = 1, hour: int = 10, minute: int = 30):
    """Return the UTC start of the store's slot `days` from today at hour:minute local time."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from portal.timeutil import now

    tz = ZoneInfo(store.timezone)
    local_day = now().astimezone(tz).date() + timedelta(days=days)
    return datetime(
        local_day.year, local_day.month, local_day.day, hour, minute, tzinfo=tz
    ).astimezone(ZoneInfo("UTC"))


def booking(
    owner: User,
    store: Store,
    *,
    days: int = 1,
    hour: int = 10,
    types=("repair",),
    vehicle: Vehicle | None = None,
):
    from portal.services import bookings as svc

    v = vehicle or (owner.vehicles[0] if owner.vehicles else globals()["vehicle"](owner))
    b = svc.book_repair(owner, v, store, slot(store, days, hour), list(types), "异响")
    db.session.commit()
    return b


def rescue(owner: User, vehicle: Vehicle | None = None, **kw):
    """Send a rescue request for the owner (typed address unless coordinates are given)."""
    import secrets

    from portal.services import rescue as svc

    v = vehicle or (owner.vehicles[0] if owner.vehicles else globals()["vehicle"](owner))
    r, _new = svc.request_rescue(
        owner,
        v,
        problem=kw.pop("problem", "flat_tyre"),
        callback_phone=kw.pop("callback_phone", owner.phone or "13800000000"),
        idempotency_key=kw.pop("idempotency_key", secrets.token_urlsafe(24)),
        address=kw.pop("address", "G4 京港澳高速 深圳方向 K2345"),
        **kw,
    )
    db.session.commit()
    return r
