"""Demo people and cars: plausible Chinese names, stores, VINs, plates and portraits, and the demo
logins. The generators are shared with bench/, which builds the same kind of data at scale.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from datetime import date, timedelta

from PIL import Image as PILImage
from PIL import ImageDraw

from portal.models.accounts import (
    ADMIN,
    ADVISOR,
    AGENT,
    HQ,
    MANAGER,
    MANUFACTURER,
    OWNER,
    REGION,
    TECHNICIAN,
)
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
        "rescue_phone": "400-800-0755",
        "bays": 8,
    },
    {
        "name": "M4S 广州天河店",
        "address": "广州市天河区黄埔大道西 188 号",
        "phone": "020-38000002",
        "rescue_phone": "400-800-0020",
        "bays": 6,
    },
]
DEMO_PASSWORD = {
    OWNER: "m4s-demo-owner",
    ADVISOR: "m4s-demo-advisor",
    MANAGER: "m4s-demo-manager",
    ADMIN: "m4s-demo-admin",
    AGENT: "m4s-demo-agent",  # the call-centre agent (created by crm's demo)
    HQ: "m4s-demo-hq",  # the group's headquarters: every store's figures
    REGION: "m4s-demo-region",  # the regional manager of DEMO_REGION: its stores' figures
    TECHNICIAN: "m4s-demo-technician",  # a workshop technician of the first store
    MANUFACTURER: "m4s-demo-manufacturer",  # DEMO_BRAND's officer: its stores' figures
}
DEMO_LOGINS = {
    OWNER: "13800000001",
    ADVISOR: "13900000101",
    MANAGER: "13900000100",
    ADMIN: "13900000001",
    AGENT: "13900000200",
    HQ: "13900000002",
    REGION: "13900000003",
    TECHNICIAN: "13900000300",
    MANUFACTURER: "13900000004",
}
DEMO_REGION = "华南区"  # every demo store is in Guangdong
DEMO_BRAND = "BYD"  # the demo manufacturer officer's brand: sold by the first store only


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


def mileage_history(rng: random.Random, start: date, until: date) -> Iterator[tuple[date, int]]:
    """Yield a car's (day, total km) readings from its purchase: one every 60 to 200 days,
    2,000 to 9,000 km further each time, for as long as the day falls before `until`."""
    km, day = 0, start
    while True:
        day += timedelta(days=rng.randint(60, 200))
        if day >= until:
            return
        km += rng.randint(2000, 9000)
        yield day, km


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
