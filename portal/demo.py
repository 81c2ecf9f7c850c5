"""Demo data: plausible Chinese owners, stores, VINs, plates and mileage histories.

The generators are shared with bench/, which builds the same kind of data at scale.
"""

from __future__ import annotations

import io
import random
from datetime import date, time, timedelta

from PIL import Image as PILImage
from PIL import ImageDraw
from sqlalchemy import select

from portal.extensions import db
from portal.models import AdvisorProfile, MileageReading, Store, User, Vehicle
from portal.models.accounts import ADMIN, ADVISOR, MANAGER, OWNER
from portal.services import passwords
from portal.services.media import store_image
from portal.timeutil import now
from portal.validation import VIN_ALPHABET, vin_check_digit

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
SURNAMES += "邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚"
GIVEN += "桂英华建国志强晓东海燕雪梅晨曦子涵浩然欣怡宇轩梓萱"
MODELS = [
    ("丰田", "凯美瑞", "LVG"),
    ("丰田", "RAV4荣放", "LVG"),
    ("本田", "雅阁", "LHG"),
    ("本田", "CR-V", "LHG"),
    ("大众", "帕萨特", "LSV"),
    ("大众", "途观L", "LSV"),
    ("比亚迪", "汉EV", "LGX"),
    ("比亚迪", "宋PLUS", "LGX"),
    ("日产", "轩逸", "LGB"),
    ("别克", "君威", "LSG"),
]
STORES = [
    {
        "name": "M4S 深圳南山店",
        "address": "深圳市南山区深南大道 9001 号",
        "phone": "0755-26000001",
        "bays": 8,
    },
    {
        "name": "M4S 广州天河店",
        "address": "广州市天河区黄埔大道西 188 号",
        "phone": "020-38000002",
        "bays": 6,
    },
]
DEMO_PASSWORD = {
    OWNER: "m4s-demo-owner",
    ADVISOR: "m4s-demo-advisor",
    MANAGER: "m4s-demo-manager",
    ADMIN: "m4s-demo-admin",
}
DEMO_LOGINS = {
    OWNER: "13800000001",
    ADVISOR: "13900000101",
    MANAGER: "13900000100",
    ADMIN: "13900000001",
}


def chinese_name(rng: random.Random) -> str:
    """Return a plausible Chinese full name."""
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def make_vin(rng: random.Random, wmi: str, year: int) -> str:
    """Return a real-format VIN with a valid check digit."""
    year_codes = "ABCDEFGHJKLMNPRSTVWXY123456789"
    vds = "".join(rng.choice(VIN_ALPHABET) for _ in range(5))
    year_code = year_codes[(year - 2010) % 30]
    serial = "".join(rng.choice("0123456789") for _ in range(6))
    draft = wmi + vds + "0" + year_code + rng.choice("ABCDEFGHJK") + serial
    return draft[:8] + vin_check_digit(draft) + draft[9:]


def make_plate(rng: random.Random, province: str = "粤", city: str = "B") -> str:
    """Return a plausible plate: regular 7 characters, or new-energy 8."""
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    if rng.random() < 0.25:
        return (
            province
            + city
            + rng.choice("DF")
            + rng.choice(letters + "0123456789")
            + "".join(rng.choice("0123456789") for _ in range(4))
        )
    tail = [rng.choice("0123456789") for _ in range(5)]
    tail[rng.randrange(5)] = rng.choice(letters)
    return province + city + "".join(tail)


def avatar_png(rng: random.Random) -> bytes:
    """Draw a simple generated portrait placeholder."""
    hue = rng.choice([(200, 60, 60), (40, 110, 180), (30, 140, 90), (150, 80, 160)])
    img = PILImage.new("RGB", (256, 256), hue)
    d = ImageDraw.Draw(img)
    d.ellipse((78, 40, 178, 140), fill=(245, 222, 200))
    d.ellipse((38, 150, 218, 330), fill=(40, 48, 60))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _staff(store: Store | None, role: str, login: str, name: str, pw_hash: str) -> User:
    user = db.session.scalar(select(User).where(User.phone == login))
    if user is None:
        user = User(
            role=role,
            name=name,
            phone=login,
            password_hash=pw_hash,
            store_id=store.id if store else None,
            password_changed_at=now(),
        )
        db.session.add(user)
        db.session.flush()
    return user


# Packages add their demo data here (callables taking the stores), so portal imports none.
DEMO_EXTENSIONS: list = []


def load_demo(owners: int = 200, seed: int = 42) -> dict[str, int]:
    """Create the demo stores, staff, owners and vehicles; running it again changes nothing."""
    rng = random.Random(seed)
    hashes = {role: passwords.hash_password(pw) for role, pw in DEMO_PASSWORD.items()}
    stores = []
    for spec in STORES:
        store = db.session.scalar(select(Store).where(Store.name == spec["name"]))
        if store is None:
            store = Store(
                **spec, timezone="Asia/Shanghai", opens_at=time(8, 30), closes_at=time(18, 0)
            )
            db.session.add(store)
            db.session.flush()
        stores.append(store)
    _staff(None, ADMIN, DEMO_LOGINS[ADMIN], "系统管理员", hashes[ADMIN])
    advisors: dict[int, list[User]] = {}
    for si, store in enumerate(stores):
        _staff(store, MANAGER, f"1390000{si}100", chinese_name(rng), hashes[MANAGER])
        advisors[store.id] = []
        for ai in range(4):
            login = f"1390000{si}{101 + ai}"
            adv = _staff(store, ADVISOR, login, chinese_name(rng), hashes[ADVISOR])
            if adv.profile is None:
                photo = store_image(avatar_png(rng))
                db.session.add(
                    AdvisorProfile(
                        user_id=adv.id,
                        display_name=adv.name,
                        phone=login,
                        department=rng.choice(["机电组", "钣喷组", "保养快修组", "新能源组"]),
                        photo_id=photo.id,
                    )
                )
            advisors[store.id].append(adv)
    created = sum(_demo_owner(rng, i, stores, advisors, hashes[OWNER]) for i in range(owners))
    db.session.flush()
    for extend in DEMO_EXTENSIONS:
        extend(stores)
    return {"stores": len(stores), "owners_created": created}


def _demo_owner(rng, i: int, stores: list[Store], advisors: dict, owner_hash: str) -> int:
    """Create demo owner number i with 1-2 vehicles and their mileage history; 0 if present."""
    login = f"138{i + 1:08d}"
    name = chinese_name(rng)
    store = stores[i % len(stores)]
    n_vehicles = 1 + (rng.random() < 0.4)
    specs = []
    for _ in range(n_vehicles):
        brand, series, wmi = rng.choice(MODELS)
        year = rng.randint(2015, 2025)
        specs.append(
            (
                brand,
                series,
                make_vin(rng, wmi, year),
                year,
                make_plate(rng, "粤", "B" if store is stores[0] else "A"),
            )
        )
    if db.session.scalar(select(User.id).where(User.phone == login)):
        return 0
    owner = User(
        role=OWNER,
        name=name,
        phone=login,
        password_hash=owner_hash,
        store_id=store.id,
        advisor_id=advisors[store.id][i % 4].id,
        password_changed_at=now(),
    )
    db.session.add(owner)
    db.session.flush()
    for brand, series, vin, year, plate in specs:
        if db.session.scalar(
            select(Vehicle.id).where((Vehicle.vin == vin) | (Vehicle.plate == plate))
        ):
            continue
        purchase = date(year, rng.randint(1, 12), rng.randint(1, 28))
        v = Vehicle(
            owner_id=owner.id,
            vin=vin,
            plate=plate,
            brand=brand,
            series=series,
            model_year=year,
            purchase_date=purchase,
            current_km=0,
        )
        db.session.add(v)
        db.session.flush()
        km, day = 0, purchase
        while day < now().date() - timedelta(days=90):
            day += timedelta(days=rng.randint(60, 200))
            km += rng.randint(2000, 9000)
            db.session.add(
                MileageReading(
                    vehicle_id=v.id,
                    km=km,
                    source="owner",
                    recorded_at=now() - timedelta(days=(now().date() - day).days),
                )
            )
        v.current_km = km
    return 1
