"""Demo repair jobs and one store's year of bookings, collected in memory and bulk-inserted."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert

from portal.extensions import db
from portal.models import (
    Booking,
    BookingEvent,
    MileageReading,
    Rating,
    ServiceItem,
    ServiceRecord,
    Store,
)
from portal.services import brands

# (weight, service type, fault category, labour items, part items, technician notes)
# Items are (description, part no, unit price in fen, quantity range).
JOBS = [
    (30, "maintenance", "maintenance", [("常规保养工时", "", 18000, (1, 1))],
     [("全合成机油 5W-30 4L", "OIL-5W30-4", 32000, (1, 1)), ("机油滤清器", "FLT-OIL", 4500, (1, 1)),
      ("空气滤清器", "FLT-AIR", 8500, (0, 1))],
     ["按厂家规范完成保养，各项检查正常", "保养完成，建议下次 5000 公里后复查轮胎"]),
    (12, "repair", "brakes", [("更换前刹车片工时", "", 20000, (1, 1))],
     [("前刹车片（一套）", "BRK-PAD-F", 48000, (1, 1)), ("刹车盘", "BRK-DISC-F", 65000, (0, 2)),
      ("刹车油 DOT4", "BRK-FLD", 8000, (0, 1))],
     ["前刹车片磨损到极限，已更换", "刹车异响，打磨刹车盘并更换刹车片"]),
    (9, "tyres", "tyres", [("四轮定位", "", 20000, (1, 1)), ("动平衡", "", 8000, (1, 1))],
     [("轮胎 225/55 R17", "TYR-2255517", 68000, (2, 4))],
     ["轮胎偏磨，已更换并做四轮定位", "轮胎鼓包，更换两条"]),
    (8, "repair", "air_conditioning", [("空调系统检测与加注", "", 15000, (1, 1))],
     [("R134a 冷媒", "AC-R134A", 12000, (1, 2)), ("空调滤芯", "FLT-CABIN", 9000, (1, 1))],
     ["空调制冷差，冷媒不足，检漏后加注", "更换空调滤芯，清洗蒸发箱"]),
    (7, "repair", "electrical", [("电路检测", "", 10000, (1, 1))],
     [("蓄电池 12V 60Ah", "BAT-60AH", 65000, (0, 1)), ("点火线圈", "IGN-COIL", 38000, (0, 1))],
     ["蓄电池亏电无法启动，已更换", "仪表故障灯亮，读取故障码后更换传感器"]),
    (6, "bodywork", "body", [("钣金修复", "", 80000, (1, 1)), ("喷漆（每面）", "", 60000, (1, 3))],
     [("前保险杠", "BDY-BUMP-F", 120000, (0, 1))],
     ["左前翼子板凹陷，钣金喷漆", "后保险杠刮擦，补漆"]),
    (5, "repair", "suspension", [("底盘检查与更换工时", "", 30000, (1, 1))],
     [("减震器", "SUS-SHOCK", 55000, (1, 2)), ("下摆臂胶套", "SUS-BUSH", 18000, (0, 2))],
     ["过减速带异响，减震器漏油，已更换", "更换下摆臂胶套，异响消除"]),
    (5, "repair", "engine", [("发动机检修工时", "", 25000, (1, 1))],
     [("火花塞", "IGN-PLUG", 6500, (4, 4)), ("节气门清洗剂", "ENG-CLEAN", 4000, (0, 1))],
     ["发动机抖动，更换火花塞并清洗节气门", "冷车启动困难，清洗积碳"]),
    (3, "repair", "transmission", [("变速箱油更换工时", "", 30000, (1, 1))],
     [("变速箱油", "ATF-1L", 9000, (4, 6))],
     ["换挡顿挫，更换变速箱油后正常", "变速箱油到期更换"]),
    (4, "inspection", "other", [("年检前全车检测", "", 10000, (1, 1))], [],
     ["全车检测完成，无异常", "灯光调整后符合年检要求"]),
]  # fmt: skip
ELECTRIC = {"汉EV"}  # no engine oil: a different maintenance job
EV_SERVICE = (
    [("新能源车常规保养工时", "", 15000, (1, 1)), ("高压电池包检测", "", 20000, (1, 1))],
    [("空调滤芯", "FLT-CABIN", 9000, (1, 1)), ("电机冷却液", "EV-COOLANT", 12000, (0, 1))],
)
COMEBACK = {"brakes", "electrical", "air_conditioning", "engine", "suspension"}
DESCRIPTIONS = {
    "maintenance": "到保养里程了，做常规保养",
    "brakes": "刹车时有异响，踩刹车感觉发软",
    "tyres": "轮胎磨损严重，方向盘有点跑偏",
    "air_conditioning": "空调不太制冷，有异味",
    "electrical": "早上打不着火，仪表有故障灯",
    "body": "停车时被刮了，需要钣金喷漆",
    "suspension": "过减速带底盘咚咚响",
    "engine": "怠速抖动，加速无力",
    "transmission": "换挡有顿挫感",
    "other": "年检前想全面检查一下",
}
COMMENTS = {
    5: ["服务很专业，顾问很耐心", "速度快，价格透明", "环境好，等候区很舒服", "非常满意，下次还来"],
    4: ["整体不错，就是等的时间有点长", "修得挺好，价格略贵", "顾问讲解清楚"],
    3: ["一般，交车比预计晚了", "态度还行，收费有点高"],
    2: ["问题没有一次修好", "等了很久没人理"],
    1: ["很不满意，又坏了"],
}
STARS = [5] * 60 + [4] * 28 + [3] * 8 + [2] * 3 + [1]


@dataclass
class Car:
    id: int
    owner_id: int
    electric: bool = False
    readings: list[tuple[datetime, int]] = field(default_factory=list)

    def km_at(self, when: datetime) -> int:
        """Interpolate the odometer between known readings; extrapolate after the last."""
        if not self.readings:
            return 5000
        times = [t for t, _ in self.readings]
        i = bisect.bisect_left(times, when)
        if i == 0:
            return max(0, self.readings[0][1] * 9 // 10)
        t0, k0 = self.readings[i - 1]
        if i < len(self.readings):
            t1, k1 = self.readings[i]
            return k0 + int((k1 - k0) * (when - t0) / (t1 - t0))
        return k0 + int(40 * (when - t0).total_seconds() / 86400)  # about 15,000 km a year

    def add(self, when: datetime, km: int) -> None:
        bisect.insort(self.readings, (when, km))


class History:
    """Rows of one store's year, collected in memory and written with a few bulk inserts."""

    def __init__(self, rng: random.Random, store: Store, advisors: list[int], cars: list[Car]):
        self.rng, self.store, self.advisors, self.cars = rng, store, advisors, cars
        self.loyal = cars[: max(len(cars) // 8, 1)]  # regulars who book online again and again
        self.speed = {a: rng.choice((0.5, 1.5, 3, 8)) for a in advisors}  # hours to decide
        self.bookings: list[dict] = []
        self.extra: list[dict] = []  # per booking: events, record, items, rating

    def job(self, category: str | None = None):
        rng = self.rng
        if category is not None:
            return next(j for j in JOBS if j[2] == category)
        return rng.choices(JOBS, weights=[j[0] for j in JOBS])[0]

    def pick_car(self, slot: datetime) -> Car:
        """Pick a car that its owner already had on that day, regulars more often."""
        rng = self.rng
        for _ in range(5):
            car = rng.choice(self.loyal) if rng.random() < 0.3 else rng.choice(self.cars)
            if car.readings and car.readings[0][0] < slot:
                break
        return car

    def add(self, slot: datetime, car: Car | None = None, category: str | None = None) -> dict:
        """Collect one past booking (and what followed it); return its extra rows."""
        rng = self.rng
        car = car or self.pick_car(slot)
        _, stype, fault, labour, parts, notes = job = self.job(category)
        if car.electric and fault in ("maintenance", "engine", "transmission"):
            _, stype, fault, labour, parts, notes = job = self.job("maintenance")
            labour, parts = EV_SERVICE
        created = slot - timedelta(hours=rng.choice((3, 20, 26, 45, 70, 100, 160, 300)))
        created -= timedelta(minutes=rng.randint(0, 600))
        advisor = rng.choice(self.advisors)
        decided = min(
            created + timedelta(hours=rng.expovariate(1 / self.speed[advisor])),
            slot - timedelta(minutes=30),
        )
        status = rng.choices(
            ("completed", "rejected", "cancelled", "no_show"), weights=(80, 7, 9, 4)
        )[0]
        row = {
            "owner_id": car.owner_id,
            "vehicle_id": car.id,
            "store_id": self.store.id,
            "slot_start": slot,
            "status": status,
            "service_types": [stype],
            "description": ("返修：" if category else "") + DESCRIPTIONS[fault],
            "created_at": created,
            "updated_at": decided,
            "advisor_id": advisor,
            "decided_at": decided,
            "bay": rng.randint(1, self.store.bays),
        }
        extra = {"car": car, "job": job, "events": [("submitted", created, car.owner_id, "")]}
        if status == "rejected":
            reason = rng.choices(("no_capacity", "parts_unavailable", "other"), (55, 30, 15))[0]
            note = {"other": "该车型需到授权钣喷中心处理", "parts_unavailable": "配件需从总仓调货"}
            row.update(decision_reason=reason, decision_note=note.get(reason, ""), bay=None)
            extra["events"].append(("rejected", decided, advisor, row["decision_note"]))
        elif status == "cancelled" and rng.random() < 0.4:  # before the store answered
            row.update(advisor_id=None, decided_at=None, bay=None)
            extra["events"].append(("cancelled", created + timedelta(hours=2), car.owner_id, ""))
        else:
            extra["events"].append(("accepted", decided, advisor, ""))
            if status == "cancelled":
                extra["events"].append(("cancelled", slot - timedelta(hours=6), car.owner_id, ""))
            elif status == "no_show":
                extra["events"].append(("no_show", slot + timedelta(hours=2), advisor, ""))
            else:
                self._completed(row, extra, slot, car, fault, labour, parts, notes, category)
        self.bookings.append(row)
        self.extra.append(extra)
        return extra

    def _completed(self, row, extra, slot, car, fault, labour, parts, notes, comeback) -> None:
        rng = self.rng
        km = car.km_at(slot)
        car.add(slot, km)
        done = slot + timedelta(hours=rng.choice((1, 2, 3, 5, 24)))
        row["checkin_km"] = km
        for i, step in enumerate(("checked_in", "in_progress", "ready")):
            extra["events"].append(
                (step, slot + timedelta(minutes=10 + i * 20), row["advisor_id"], "")
            )
        extra["events"].append(("completed", done, row["advisor_id"], ""))
        items = [
            ("labour", d, "", n, p) for d, _, p, (lo, hi) in labour if (n := rng.randint(lo, hi))
        ]
        items += [
            ("part", d, no, n, p) for d, no, p, (lo, hi) in parts if (n := rng.randint(lo, hi))
        ]
        note = ("同一故障再次出现，" if comeback else "") + rng.choice(notes)
        extra["record"] = {
            "vehicle_id": car.id,
            "store_id": self.store.id,
            "advisor_id": row["advisor_id"],
            "mileage_km": km,
            "fault_category": fault,
            "technician_note": note,
            "total_fen": sum(n * p for *_, n, p in items),
            "completed_at": done,
        }
        extra["items"] = items
        if rng.random() < 0.7:
            stars = rng.choice(STARS) if not comeback else rng.choice((1, 2, 3, 4))
            comment = rng.choice(COMMENTS[stars]) if rng.random() < 0.5 else ""
            extra["rating"] = (stars, max(1, min(5, stars + rng.choice((-1, 0, 0, 1)))), comment)
            extra["rated_at"] = done + timedelta(hours=rng.randint(2, 72))
        if fault in COMEBACK and not comeback and rng.random() < 0.09:
            extra["comeback"] = (done + timedelta(days=rng.randint(4, 26)), car, fault)

    def _branded(self) -> list[dict]:
        """Return the bookings' rows, each with its car's brand (as a booking made sets it)."""
        made = brands.car_brands([row["vehicle_id"] for row in self.bookings])
        return [{**row, "brand_id": made.get(row["vehicle_id"])} for row in self.bookings]

    def write(self) -> int:
        """Insert the collected rows; return how many bookings."""
        if not self.bookings:
            return 0
        ids = db.session.scalars(
            insert(Booking).returning(Booking.id, sort_by_parameter_order=True), self._branded()
        ).all()
        events, records, pending = [], [], []
        for booking_id, row, extra in zip(ids, self.bookings, self.extra, strict=True):
            prev = None
            for kind, at, actor, note in extra["events"]:
                events.append(event_row(booking_id, kind, at, actor, note, prev))
                prev = kind
            if "record" in extra:
                records.append({"booking_id": booking_id, **extra["record"]})
                pending.append((booking_id, row, extra))
        db.session.execute(insert(BookingEvent), events)
        record_ids = db.session.scalars(
            insert(ServiceRecord).returning(ServiceRecord.id, sort_by_parameter_order=True),
            records,
        ).all()
        items, ratings, readings = [], [], []
        for record_id, (booking_id, row, extra) in zip(record_ids, pending, strict=True):
            for kind, desc, part_no, qty, price in extra["items"]:
                items.append(
                    {"record_id": record_id, "kind": kind, "description": desc}
                    | {"part_no": part_no, "quantity": qty, "unit_price_fen": price}
                )
            readings.append(
                {"vehicle_id": row["vehicle_id"], "km": row["checkin_km"], "source": "service"}
                | {"recorded_at": row["slot_start"]}
            )
            if "rating" in extra:
                s, a, comment = extra["rating"]
                ratings.append(
                    {"booking_id": booking_id, "owner_id": row["owner_id"]}
                    | {"store_id": row["store_id"], "advisor_id": row["advisor_id"]}
                    | {"service_stars": s, "advisor_stars": a}
                    | {"comment": comment, "created_at": extra["rated_at"]}
                )
        for table, rows in ((ServiceItem, items), (Rating, ratings), (MileageReading, readings)):
            if rows:
                db.session.execute(insert(table), rows)
        return len(ids)


def event_row(booking_id, kind, at, actor, note, prev) -> dict:
    """Return one booking event as a row for a bulk insert."""
    return {
        "booking_id": booking_id,
        "at": at,
        "actor_id": actor,
        "kind": kind,
        "from_status": prev,
        "to_status": kind,
        "note": note,
    }
