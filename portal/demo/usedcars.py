"""Demo data of the used-car desk: used cars in every state with generated photos, loans and
policies (some close to renewal), store notices and referrals. Called at the end of load_demo."""

from __future__ import annotations

import io
import random
from datetime import date, timedelta

from PIL import Image as PILImage
from PIL import ImageDraw
from sqlalchemy import func, select

from portal.demo.people import MODELS, make_vin
from portal.extensions import db
from portal.models import Notice, Store, UsedCarRequest, User
from portal.models.accounts import ADVISOR, MANAGER, OWNER
from portal.models.usedcars import (
    APPROVED,
    CHANGES_REQUESTED,
    LISTED,
    REJECTED,
    SOLD,
    SUBMITTED,
    UNDER_REVIEW,
    WITHDRAWN,
)
from portal.services import finance, notices, usedcars
from portal.timeutil import now

PAINTS = [(200, 30, 40), (30, 60, 140), (235, 235, 235), (20, 20, 20), (120, 120, 130)]
# The journey of each demo car: every state appears, and the market has a few cars.
STATES = [LISTED, LISTED, LISTED, LISTED, SOLD, APPROVED, UNDER_REVIEW, SUBMITTED,
          CHANGES_REQUESTED, REJECTED, WITHDRAWN, UNDER_REVIEW]  # fmt: skip
INSURERS = ["中国人保", "平安保险", "太平洋保险", "中华联合"]
LENDERS = ["招商银行", "上汽通用汽车金融", "丰田汽车金融", "平安银行"]


def car_photo(rng: random.Random, view: int) -> bytes:
    """Draw a simple generated car on a street background (a different angle per view)."""
    img = PILImage.new("RGB", (800, 600), (190 + rng.randint(0, 40), 210, 230))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 430, 800, 600), fill=(90, 90, 95))
    paint = rng.choice(PAINTS)
    x = 120 + view * 20
    d.rounded_rectangle((x, 300, x + 520, 430), radius=30, fill=paint)
    d.polygon([(x + 110, 300), (x + 180, 220), (x + 360, 220), (x + 440, 300)], fill=paint)
    d.polygon(
        [(x + 135, 295), (x + 190, 235), (x + 350, 235), (x + 410, 295)], fill=(160, 200, 230)
    )
    for cx in (x + 110, x + 410):
        d.ellipse((cx - 50, 380, cx + 50, 480), fill=(25, 25, 25))
        d.ellipse((cx - 22, 408, cx + 22, 452), fill=(170, 170, 175))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    return out.getvalue()


def load_usedcar_demo(seed: int = 7) -> dict[str, int]:
    """Create the demo used cars, loans, policies, notices and referrals once."""
    if db.session.scalar(select(func.count(UsedCarRequest.id))):
        return {"usedcars": 0}
    rng = random.Random(seed)
    store = db.session.scalar(select(Store).order_by(Store.id))
    if store is None:
        return {"usedcars": 0}
    staff = {
        role: db.session.scalars(
            select(User)
            .where(User.store_id == store.id, User.role == role, User.is_active.is_(True))
            .order_by(User.id)
        ).all()
        for role in (ADVISOR, MANAGER)
    }
    owners = db.session.scalars(
        select(User).where(User.role == OWNER, User.store_id == store.id).order_by(User.id)
    ).all()
    if not staff[ADVISOR] or not staff[MANAGER] or not owners:
        return {"usedcars": 0}
    cars = _used_cars(rng, owners, staff[ADVISOR][0])
    _finance(rng, owners, staff[ADVISOR][0])
    _notices(staff[MANAGER][0], staff[ADVISOR])
    _referrals(owners, staff[ADVISOR])
    db.session.flush()
    return {"usedcars": cars}


def _used_cars(rng: random.Random, owners: list[User], expert: User) -> int:
    count = 0
    for i, state in enumerate(STATES):
        owner = owners[i % len(owners)]
        first_round = i < len(owners)  # a car is offered once, even with few demo owners
        vehicle = owner.vehicles[0] if owner.vehicles and i % 3 == 0 and first_round else None
        year = vehicle.model_year if vehicle else rng.randint(2016, 2023)
        km = (
            (vehicle.current_km + rng.randint(500, 3000)) if vehicle else rng.randint(8, 120) * 1000
        )
        if i == len(STATES) - 1 and vehicle is None and owner.vehicles and first_round:
            vehicle = owner.vehicles[0]  # an odometer lower than the store's records: flagged
            year, km = vehicle.model_year, max(vehicle.current_km - 4000, 0)
        brand, series, wmi = rng.choice(MODELS)
        req = usedcars.submit_request(
            owner,
            vehicle=vehicle,
            vin=make_vin(rng, wmi, year),
            brand=brand,
            series=series,
            model_year=year,
            mileage_km=km,
            first_registered_on=date(year, rng.randint(1, 12), rng.randint(1, 28)),
            asking_price_fen=rng.randint(40, 260) * 100_000,
            condition=rng.choice(["车况良好，按时保养", "一手车，无改装", "内饰干净，轻微划痕"]),
            accident_history=rng.choice(["无", "无", "右后门轻微剐蹭已修复"]),
            photos=[car_photo(rng, v) for v in range(rng.randint(2, 4))],
        )
        _advance(req, state, expert, owner, rng)
        count += 1
    return count


def _advance(req, state: str, expert: User, owner: User, rng: random.Random) -> None:
    if state in (SUBMITTED,):
        return
    if state == WITHDRAWN:
        usedcars.withdraw(owner, req, "已自行售出")
        return
    usedcars.start_review(expert, req, expert)
    if state == UNDER_REVIEW:
        return
    if state == CHANGES_REQUESTED:
        usedcars.request_changes(expert, req, "请补充仪表盘里程和发动机舱照片")
        return
    if state == REJECTED:
        usedcars.reject(expert, req, "检测发现结构件更换，不符合收购标准")
        return
    for flag in req.open_flags:
        usedcars.resolve_flag(expert, flag, "已核实")
    low = req.asking_price_fen * rng.randint(80, 92) // 100
    usedcars.approve(
        expert,
        req,
        grade=rng.choice("ABBC"),
        checked_items=list(usedcars.CHECK_ITEMS)[: rng.randint(5, 8)],
        valuation_low_fen=low,
        valuation_high_fen=low + rng.randint(5, 20) * 100_000,
        notes="原版原漆，发动机变速箱工况正常",
    )
    if state in (LISTED, SOLD):
        usedcars.list_car(expert, req)
    if state == SOLD:
        usedcars.mark_sold(expert, req, "门店成交")


def _finance(rng: random.Random, owners: list[User], advisor: User) -> None:
    today = now().date()
    for i, owner in enumerate(owners[:8]):
        vehicle = owner.vehicles[0] if owner.vehicles else None
        if i % 2 == 0:
            finance.record_loan(
                advisor,
                customer=owner,
                vehicle=vehicle,
                lender=rng.choice(LENDERS),
                principal_fen=rng.randint(5, 25) * 1_000_000,
                annual_rate_bp=rng.choice([0, 299, 385, 435, 560]),
                term_months=rng.choice([12, 24, 36, 60]),
                start_date=today - timedelta(days=rng.randint(30, 700)),
            )
        ends = today + timedelta(days=[5, 12, 25, 60, 120, 200, 300, -10][i])
        finance.record_policy(
            advisor,
            customer=owner,
            vehicle=vehicle,
            insurer=rng.choice(INSURERS),
            policy_number=f"PDAA{today.year}{owner.id:06d}",
            coverage=rng.choice(list(finance.COVERAGE_LABELS)),
            premium_fen=rng.randint(2500, 9000) * 100,
            starts_on=ends - timedelta(days=365),
            ends_on=ends,
        )


def _notices(manager: User, advisors: list[User]) -> None:
    if db.session.scalar(select(func.count(Notice.id))):
        return
    first = notices.publish(
        manager,
        title="五一保养季活动",
        body="5 月 1 日至 5 日，常规保养工时八折，请提前联系老客户。",
    )
    notices.publish(
        manager,
        title="二手车评估新流程",
        body="评估前先核对行驶证和本店维修记录里程，发现疑点须在系统中处理后再通过。",
        advisor_ids=[a.id for a in advisors[:2]],
    )
    for advisor in advisors[1:3]:
        notices.mark_read(advisor, first)


def _referrals(owners: list[User], advisors: list[User]) -> None:
    for i, owner in enumerate(owners[2:10]):
        if owner.referred_by_id is None:
            owner.referred_by_id = (advisors[i % len(advisors)] if i % 3 else owners[0]).id
