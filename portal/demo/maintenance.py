"""Demo maintenance plans and a plausible maintenance history for the demo cars."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    MaintenancePlan,
    PlanItem,
    ServiceItem,
    ServiceRecord,
    User,
    Vehicle,
    VehicleItemState,
)
from portal.services import maintenance

# code, name, km, months, first km, first months, severity, price (yuan), share that do it
DEFAULT_ITEMS = [
    (
        "engine_oil",
        "机油",
        5000,
        6,
        None,
        None,
        "must",
        380,
        0.95,
        "机油老化后润滑和清洁能力下降，会加速发动机磨损。",
    ),
    (
        "oil_filter",
        "机油滤清器",
        5000,
        6,
        None,
        None,
        "must",
        80,
        0.93,
        "滤芯堵塞后未经过滤的机油直接进入发动机。",
    ),
    (
        "air_filter",
        "空气滤清器",
        20000,
        24,
        None,
        None,
        "recommended",
        120,
        0.78,
        "进气不畅会增加油耗、降低动力。",
    ),
    (
        "cabin_filter",
        "空调滤清器",
        20000,
        12,
        None,
        None,
        "recommended",
        150,
        0.71,
        "过滤花粉和 PM2.5，脏了会有异味。",
    ),
    (
        "transmission_oil",
        "变速箱油",
        40000,
        48,
        None,
        None,
        "must",
        900,
        0.97,
        "变速箱油变质会导致换挡冲击，严重时损坏变速箱。",
    ),
    (
        "brake_fluid",
        "刹车油",
        40000,
        24,
        None,
        None,
        "must",
        300,
        0.88,
        "刹车油吸水后沸点降低，连续制动时可能失效。",
    ),
    (
        "coolant",
        "冷却液",
        60000,
        48,
        None,
        None,
        "recommended",
        350,
        0.66,
        "冷却液防冻防锈能力会随时间下降。",
    ),
    (
        "spark_plugs",
        "火花塞",
        40000,
        None,
        None,
        None,
        "recommended",
        600,
        0.74,
        "火花塞老化会导致点火不良、抖动和油耗上升。",
    ),
    (
        "tyre_rotation",
        "轮胎换位",
        10000,
        None,
        None,
        None,
        "recommended",
        100,
        0.52,
        "前后轮磨损不同，换位可以延长轮胎寿命。",
    ),
    (
        "battery_check",
        "蓄电池检测",
        None,
        12,
        None,
        None,
        "inspect",
        0,
        0.61,
        "冬季前检测电瓶，避免无法启动。",
    ),
]
MODEL_PLANS = {
    ("丰田", "凯美瑞"): {"engine_oil": (10000, 12), "oil_filter": (10000, 12)},
    ("本田", "雅阁"): {"engine_oil": (7500, 6), "oil_filter": (7500, 6)},
}
EV_ITEMS = [
    (
        "reducer_oil",
        "减速器油",
        60000,
        48,
        None,
        None,
        "recommended",
        400,
        0.69,
        "减速器油负责齿轮润滑，按周期更换可降低异响风险。",
    ),
    (
        "brake_fluid",
        "刹车油",
        40000,
        24,
        None,
        None,
        "must",
        300,
        0.9,
        "刹车油吸水后沸点降低，连续制动时可能失效。",
    ),
    (
        "battery_coolant",
        "电池冷却液",
        100000,
        48,
        None,
        None,
        "recommended",
        500,
        0.64,
        "动力电池热管理依赖冷却液，老化会影响电池寿命。",
    ),
    (
        "cabin_filter",
        "空调滤清器",
        20000,
        12,
        None,
        None,
        "recommended",
        150,
        0.73,
        "过滤花粉和 PM2.5，脏了会有异味。",
    ),
    (
        "tyre_rotation",
        "轮胎换位",
        10000,
        None,
        None,
        None,
        "recommended",
        100,
        0.55,
        "电动车扭矩大，轮胎磨损快，更需要定期换位。",
    ),
    (
        "hv_battery_check",
        "动力电池检测",
        None,
        12,
        None,
        None,
        "inspect",
        0,
        0.8,
        "检测电芯一致性和绝缘，及早发现隐患。",
    ),
]
EV_MODELS = [("比亚迪", "汉EV"), ("比亚迪", "宋PLUS")]
# The plans and items in English, beside the Chinese originals (the owner reads their language).
ITEMS_EN = {
    "engine_oil": (
        "Engine oil",
        "Old oil lubricates and cleans less, and the engine wears faster.",
    ),
    "oil_filter": ("Oil filter", "A clogged filter lets unfiltered oil into the engine."),
    "air_filter": ("Air filter", "A dirty intake raises fuel use and costs power."),
    "cabin_filter": ("Cabin air filter", "It keeps out pollen and PM2.5, and smells when dirty."),
    "transmission_oil": (
        "Transmission fluid",
        "Worn fluid makes shifts harsh and can end in a damaged gearbox.",
    ),
    "brake_fluid": (
        "Brake fluid",
        "Brake fluid absorbs water, its boiling point drops, and hard braking can fade.",
    ),
    "coolant": ("Coolant", "Coolant protects less against frost and rust as it ages."),
    "spark_plugs": ("Spark plugs", "Worn plugs misfire: the engine shakes and uses more fuel."),
    "tyre_rotation": (
        "Tyre rotation",
        "Rotating the tyres evens out wear, which matters more with an EV's torque.",
    ),
    "battery_check": ("12 V battery check", "Test the battery before winter so the car starts."),
    "reducer_oil": (
        "Reduction gear oil",
        "It lubricates the gears; changing it on time keeps the drive quiet.",
    ),
    "battery_coolant": (
        "Battery coolant",
        "The traction battery's temperature depends on it; old coolant shortens battery life.",
    ),
    "hv_battery_check": (
        "Traction battery check",
        "Checks cell balance and insulation to find problems early.",
    ),
}
BRANDS_EN = {"丰田": "Toyota", "本田": "Honda", "比亚迪": "BYD", "大众": "Volkswagen"}
SERIES_EN = {"凯美瑞": "Camry", "雅阁": "Accord", "汉EV": "Han EV", "宋PLUS": "Song PLUS"}


def _plan(name, brand, series, items, overrides=None, default=False) -> MaintenancePlan:
    name_en = (
        f"{BRANDS_EN.get(brand, brand)} {SERIES_EN.get(series, series)} maintenance plan"
        if brand
        else "Standard maintenance plan"
    )
    plan = MaintenancePlan(
        name=name, name_en=name_en, brand=brand, series=series, is_default=default
    )
    for code, label, km, months, fkm, fmonths, severity, price, _p, why in items:
        km, months = (overrides or {}).get(code, (km, months))
        plan.items.append(
            PlanItem(
                code=code,
                name=label,
                name_en=ITEMS_EN[code][0],
                description_en=ITEMS_EN[code][1],
                interval_km=km,
                interval_months=months,
                first_due_km=fkm,
                first_due_months=fmonths,
                severity=severity,
                description=why,
                typical_price_fen=price * 100,
            )
        )
    db.session.add(plan)
    return plan


def load_plans() -> None:
    """Create the default plan and the model plans (once)."""
    if db.session.scalar(select(func.count(MaintenancePlan.id))):
        return
    _plan("通用保养计划", None, None, DEFAULT_ITEMS, default=True)
    for (brand, series), overrides in MODEL_PLANS.items():
        _plan(f"{brand}{series}保养计划", brand, series, DEFAULT_ITEMS, overrides)
    for brand, series in EV_MODELS:
        _plan(f"{brand}{series}保养计划", brand, series, EV_ITEMS)
    db.session.flush()


def load_history(rng: random.Random) -> int:
    """Give each demo car a maintenance history that owners plausibly chose; return records."""
    if db.session.scalar(select(func.count(VehicleItemState.vehicle_id))):
        return 0
    shares = {row[0]: row[8] for row in DEFAULT_ITEMS + EV_ITEMS}
    records = 0
    vehicles = db.session.scalars(
        select(Vehicle).join(User, User.id == Vehicle.owner_id).order_by(Vehicle.id)
    ).all()
    for vehicle in vehicles:
        plan = maintenance.plan_for(vehicle)
        owner = db.session.get(User, vehicle.owner_id)
        if plan is None or not vehicle.purchase_date or vehicle.current_km < 3000:
            continue
        days = max((datetime.now(UTC).date() - vehicle.purchase_date).days, 1)
        per_day = vehicle.current_km / days
        with db.session.no_autoflush:
            for item in plan.items:
                records += _simulate_item(
                    rng, vehicle, owner, plan, item, per_day, shares.get(item.code, 0.7)
                )
        db.session.flush()
        maintenance.sync_vehicle(vehicle)
    db.session.flush()
    return records


def _simulate_item(rng, vehicle, owner, plan, item, per_day: float, share: float) -> int:
    """Walk one item's recent due points; the owner does it in the window with `share`."""
    km, day, records = 0, vehicle.purchase_date, 0
    step = item.interval_km or int((item.interval_months or 12) * 30.4 * per_day)
    km_start = max(vehicle.current_km - 2 * step, 0)  # the last due points are enough
    seeded = False
    while True:
        point = maintenance.due_point(
            item,
            last_km=km if km else None,
            last_day=day if km else None,
            purchase_day=vehicle.purchase_date,
        )
        candidates = []
        if point.km is not None:
            candidates.append(point.km)
        if point.day is not None:
            candidates.append(int((point.day - vehicle.purchase_date).days * per_day))
        point_km = min(candidates)
        late = rng.random() > share
        done_km = point_km + (rng.randint(1500, 6000) if late else rng.randint(-600, 600))
        if done_km >= vehicle.current_km - 200:
            return records
        done_day = vehicle.purchase_date + timedelta(days=int(done_km / per_day))
        done_at = datetime.combine(done_day, time(3, 0), tzinfo=UTC)
        if done_km >= km_start and not seeded and km:
            # Earlier history is summarised as "last done" without counting it again.
            db.session.add(
                VehicleItemState(
                    vehicle_id=vehicle.id,
                    code=item.code,
                    last_km=km,
                    last_done_at=datetime.combine(day, time(3, 0), tzinfo=UTC),
                )
            )
            db.session.flush()
        seeded = seeded or done_km >= km_start
        if done_km >= km_start:
            record = ServiceRecord(
                vehicle_id=vehicle.id,
                store_id=owner.store_id,
                advisor_id=owner.advisor_id,
                mileage_km=done_km,
                fault_category="maintenance",
                completed_at=done_at,
                total_fen=item.typical_price_fen,
                items=[
                    ServiceItem(
                        kind="part",
                        description=item.name,
                        plan_item_code=item.code,
                        quantity=1,
                        unit_price_fen=item.typical_price_fen,
                    )
                ],
            )
            db.session.add(record)
            maintenance.record_done(vehicle, item.code, done_km, done_at, plan=plan)
            records += 1
        km, day = done_km, done_day
