"""A dealer group at scale: 100 stores in many cities, brands and two time zones, their staff,
and customers with cars whose whole history streams into the database one customer at a time.

    python -m bench.generate --group --scale 10k --seed 1 --database-url postgresql://...

The shape is the same at every scale; only the number of customers changes (SCALES). Stores
are skewed (the largest holds about 6% of the customers, the median under 1%); each customer
draws a history profile: new (no service history yet), regular, or a veteran with up to ten
years.

Customers come in chunks of CHUNK: each chunk has its own Random, seeded from the seed and the
chunk's number, and its own range of ids in every table, so the chunks can be made by several
processes at once (--jobs, each COPYing on its own connection) and a seed gives the same rows
whatever the number of processes. What depends on the whole group (the upcoming bookings that
a slot's bays can hold, viewing sessions, the shop's stock) is written once the chunks are in.
"""

from __future__ import annotations

import bisect
import itertools
import multiprocessing
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection

from bench import group_extra, group_history, group_sales
from bench.rows import owner_login
from bench.sink import Sink, close
from portal.demo import MODELS, chinese_name
from portal.models import AdvisorProfile, Store, User, Vehicle
from portal.models.accounts import ADMIN, ADVISOR, MANAGER, OWNER
from portal.validation import VIN_ALPHABET, vin_check_digit

SCALES = {"tiny": 400, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}
CHUNK = 5_000  # customers per seeded stream
ID_SPACE = 100  # ids per customer that each chunk reserves in every history table
CARS_MAX = 3  # cars per customer at most: each chunk reserves that many vehicle ids
STORES = 100
ADMIN_LOGIN = "13900000001"
# City, province character, plate letter, time zone, (latitude, longitude), districts.
CITIES = [
    ("深圳", "粤", "B", "Asia/Shanghai", (22.54, 114.06), "南山 福田 宝安 龙岗 罗湖"),
    ("广州", "粤", "A", "Asia/Shanghai", (23.13, 113.26), "天河 番禺 白云 海珠 黄埔"),
    ("东莞", "粤", "S", "Asia/Shanghai", (23.02, 113.75), "南城 松山湖 长安"),
    ("佛山", "粤", "E", "Asia/Shanghai", (23.02, 113.12), "禅城 南海 顺德"),
    ("上海", "沪", "A", "Asia/Shanghai", (31.23, 121.47), "浦东 闵行 嘉定 宝山 徐汇"),
    ("北京", "京", "A", "Asia/Shanghai", (39.90, 116.40), "朝阳 海淀 丰台 亦庄 顺义"),
    ("杭州", "浙", "A", "Asia/Shanghai", (30.27, 120.16), "西湖 滨江 萧山 余杭"),
    ("南京", "苏", "A", "Asia/Shanghai", (32.06, 118.80), "江宁 鼓楼 浦口"),
    ("苏州", "苏", "E", "Asia/Shanghai", (31.30, 120.59), "工业园区 吴中 相城"),
    ("成都", "川", "A", "Asia/Shanghai", (30.57, 104.07), "武侯 高新 成华 双流"),
    ("重庆", "渝", "A", "Asia/Shanghai", (29.56, 106.55), "渝北 九龙坡 南岸"),
    ("武汉", "鄂", "A", "Asia/Shanghai", (30.59, 114.31), "江汉 洪山 东西湖"),
    ("长沙", "湘", "A", "Asia/Shanghai", (28.23, 112.94), "岳麓 雨花 开福"),
    ("西安", "陕", "A", "Asia/Shanghai", (34.34, 108.94), "雁塔 未央 长安"),
    ("郑州", "豫", "A", "Asia/Shanghai", (34.75, 113.63), "金水 二七 郑东新区"),
    ("青岛", "鲁", "B", "Asia/Shanghai", (36.07, 120.38), "市南 崂山 黄岛"),
    ("厦门", "闽", "D", "Asia/Shanghai", (24.48, 118.09), "思明 湖里 集美"),
    ("天津", "津", "A", "Asia/Shanghai", (39.34, 117.36), "河西 南开 滨海新区"),
    ("乌鲁木齐", "新", "A", "Asia/Urumqi", (43.83, 87.62), "天山 沙依巴克 新市 水磨沟"),
    ("喀什", "新", "Q", "Asia/Urumqi", (39.47, 75.99), "喀什市 疏附"),
]
CITY_WEIGHTS = [14, 12, 6, 5, 12, 10, 7, 5, 5, 6, 5, 5, 4, 4, 4, 3, 3, 4, 4, 2]
UTC_OFFSET = {"Asia/Shanghai": 8, "Asia/Urumqi": 6}  # neither has daylight saving time
BRANDS = sorted({brand for brand, _series, _wmi in MODELS})
DEPARTMENTS = ("机电组", "钣喷组", "保养快修组", "新能源组")
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
PLATE_ALNUM = PLATE_LETTERS + "0123456789"


def manager_login(store_index: int) -> str:
    """Return the mobile number of the manager of the i-th store (0-based; 0 is the largest)."""
    return f"137{store_index:04d}0000"


def advisor_login(store_index: int, k: int) -> str:
    return f"137{store_index:04d}{k + 1:04d}"


def utc(day: date, hour: float, zone: str) -> datetime:
    """Return the UTC time of a store-local wall-clock hour on a day."""
    local = datetime.combine(day, time(0, 0), tzinfo=UTC) + timedelta(hours=hour)
    return local - timedelta(hours=UTC_OFFSET[zone])


# -- the group: stores and staff --------------------------------------------------------------


def store_specs(rng: random.Random, when: datetime) -> list[dict[str, Any]]:
    """Return the 100 stores: cities by weight, brands spread, sizes skewed by rank."""
    specs, seen = [], set()
    for sid in range(1, STORES + 1):
        ci = rng.choices(range(len(CITIES)), CITY_WEIGHTS)[0] if sid > 3 else sid - 1
        city, province, letter, zone, (lat, lon), districts = CITIES[ci]
        brand = BRANDS[(sid * 7) % len(BRANDS)]
        district = rng.choice(districts.split())
        name = f"{brand}{city}{district}4S店"
        n = 2
        while name in seen:
            name, n = f"{brand}{city}{district}{n}号店", n + 1
        seen.add(name)
        specs.append(
            {
                "id": sid,
                "name": name,
                "city": city,
                "province": province,
                "letter": letter,
                "timezone": zone,
                "lat": lat,
                "lon": lon,
                "brand": brand,
                "address": f"{city}市{district}区汽车城大道 {rng.randint(1, 999)} 号",
                "phone": f"0{rng.randint(10, 999)}-{rng.randint(2000_0000, 8999_9999)}",
                "bays": rng.randint(6, 16),
                "weight": 1 / (sid + 3) ** 0.9,  # a few large stores, a long tail
            }
        )
    total = sum(s["weight"] for s in specs)
    for s in specs:
        s["share"] = s["weight"] / total
        s["created_at"] = when - timedelta(days=rng.randint(4 * 365, 12 * 365))
    return specs


def insert_group(
    conn: Connection, rng: random.Random, specs: list[dict], staff_hash: str, when: datetime
) -> int:
    """Insert the stores, an admin, and per store a manager and its advisors; return the next
    free user id. Each spec gets its "manager" and "advisors" user ids."""
    stores = Sink(
        conn,
        Store.__table__,
        "id name address phone rescue_phone timezone opens_at closes_at bays is_active created_at",
    )
    for s in specs:
        stores.add(
            (
                s["id"],
                s["name"],
                s["address"],
                s["phone"],
                "400-800-" + s["phone"][-4:],
                s["timezone"],
                time(8, 30),
                time(18, 0),
                s["bays"],
                True,
                s["created_at"],
            )
        )
    users = Sink(
        conn,
        User.__table__,
        "id role name phone password_hash store_id password_changed_at created_at",
        parents=[stores],
    )
    profiles = Sink(
        conn, AdvisorProfile.__table__, "user_id display_name phone department", parents=[users]
    )
    users.add((1, ADMIN, "集团系统管理员", ADMIN_LOGIN, staff_hash, None, when, when))
    uid = 2
    for si, s in enumerate(specs):
        s["manager"] = uid
        users.add(
            (
                uid,
                MANAGER,
                chinese_name(rng),
                manager_login(si),
                staff_hash,
                s["id"],
                when,
                s["created_at"],
            )
        )
        uid += 1
        s["advisors"] = []
        for k in range(max(3, min(25, round(s["share"] * 400)))):
            name = chinese_name(rng)
            users.add(
                (
                    uid,
                    ADVISOR,
                    name,
                    advisor_login(si, k),
                    staff_hash,
                    s["id"],
                    when,
                    s["created_at"],
                )
            )
            profiles.add((uid, name, advisor_login(si, k), rng.choice(DEPARTMENTS)))
            s["advisors"].append(uid)
            uid += 1
    close(stores, users, profiles)
    return uid


# -- customers and their cars -----------------------------------------------------------------


def make_vin(rng: random.Random, vehicle_id: int, wmi: str, year: int) -> str:
    """Return a valid VIN that no other vehicle id gets: the id is in the VDS and serial."""
    vds = VIN_ALPHABET[(vehicle_id // 1_000_000) % len(VIN_ALPHABET)]
    vds += "".join(rng.choice(VIN_ALPHABET) for _ in range(4))
    year_code = "ABCDEFGHJKLMNPRSTVWXY123456789"[(year - 2010) % 30]
    draft = f"{wmi}{vds}0{year_code}{rng.choice('ABCDEFGHJK')}{vehicle_id % 1_000_000:06d}"
    return draft[:8] + vin_check_digit(draft) + draft[9:]


class Plates:
    """Unique plates per city: a counter, scrambled by a bijection so they do not look serial.
    Chunk k of n takes the counter values k, k + n, k + 2n, ... so chunks never share one."""

    def __init__(self, chunk: int = 0, chunks: int = 1) -> None:
        self.chunk, self.chunks = chunk, chunks
        self.regular: dict[str, int] = {}
        self.nev: dict[str, int] = {}

    def next(self, province: str, letter: str, electric: bool) -> str:
        key = province + letter
        if electric:  # new-energy: D + a letter or digit + 4 digits (340,000 per city)
            n = self.nev[key] = self.nev.get(key, -1) + 1
            n = ((n * self.chunks + self.chunk) * 7919) % 340_000
            return f"{key}D{PLATE_ALNUM[n % 34]}{n // 34:04d}"
        n = self.regular[key] = self.regular.get(key, -1) + 1
        n = (
            (n * self.chunks + self.chunk) * 7919
        ) % 1_200_000  # 4 digits and one letter in one of 5 places
        digits = f"{n // 120:04d}"
        pos, letter_at = n % 5, PLATE_LETTERS[(n // 5) % 24]
        return key + digits[:pos] + letter_at + digits[pos:]


PROFILES = (("new", 10), ("regular", 78), ("veteran", 12))


def customer_profile(rng: random.Random) -> str:
    return rng.choices([p for p, _ in PROFILES], [w for _, w in PROFILES])[0]


def purchase_day(rng: random.Random, profile: str, today: date) -> date:
    """Return when the car was bought: veterans 8-10 years ago, new customers this year."""
    low, high = {"new": (20, 330), "regular": (120, 8 * 365), "veteran": (8 * 365, 10 * 365)}[
        profile
    ]
    return today - timedelta(days=rng.randint(low, high))


class Customers:
    """Owners and vehicles, written as they are made; history goes to group_history."""

    def __init__(
        self,
        conn: Connection,
        specs: list[dict],
        owner_hash: str,
        first_id: int,
        first_vehicle: int = 1,
        plates: Plates | None = None,
    ):
        self.specs = specs
        self.cum = list(itertools.accumulate(s["share"] for s in specs))
        self.owner_hash = owner_hash
        self.next_owner = first_id
        self.next_vehicle = first_vehicle
        self.plates = plates or Plates()
        self.users = Sink(
            conn,
            User.__table__,
            "id role name phone email password_hash store_id advisor_id "
            "password_changed_at created_at last_login_at",
        )
        self.vehicles = Sink(
            conn,
            Vehicle.__table__,
            "id owner_id store_id vin plate brand series model_year purchase_date current_km "
            "created_at",
            parents=[self.users],
        )

    def store_of(self, rng: random.Random) -> dict:
        return self.specs[min(bisect.bisect(self.cum, rng.random() * self.cum[-1]), STORES - 1)]

    def add(self, rng: random.Random, i: int, today: date, when: datetime) -> dict[str, Any]:
        """Make the i-th customer and their cars; return them for the history generators."""
        store = self.store_of(rng)
        profile = customer_profile(rng)
        r = rng.random()
        n_cars = 1 + (r < 0.44) + (r < 0.06)
        cars = []
        for _ in range(n_cars):
            bought = purchase_day(rng, profile, today)
            own_brand = [m for m in MODELS if m[0] == store["brand"]]
            brand, series, wmi = rng.choice(own_brand if rng.random() < 0.7 else MODELS)
            vid = self.next_vehicle
            self.next_vehicle += 1
            cars.append(
                {
                    "id": vid,
                    "brand": brand,
                    "series": series,
                    "year": min(bought.year, today.year),
                    "vin": make_vin(rng, vid, wmi, bought.year),
                    "plate": self.plates.next(
                        store["province"], store["letter"], series.endswith("EV")
                    ),
                    "purchase": bought,
                    "km_per_day": rng.uniform(18, 65),
                }
            )
        first = min(c["purchase"] for c in cars)
        joined = datetime.combine(first, time(2, 0), tzinfo=UTC) + timedelta(
            minutes=rng.randint(0, 600)
        )
        customer = {
            "id": self.next_owner,
            "index": i,
            "name": chinese_name(rng),
            "phone": owner_login(i),
            "store": store,
            "advisor": store["advisors"][i % len(store["advisors"])],
            "profile": profile,
            "joined": joined,
            "cars": cars,
        }
        self.next_owner += 1
        recent = when - timedelta(days=rng.randint(0, 400)) if rng.random() < 0.6 else None
        self.users.add(
            (
                customer["id"],
                OWNER,
                customer["name"],
                customer["phone"],
                f"c{i + 1}@bench.m4s.test" if i % 6 == 0 else None,
                self.owner_hash,
                store["id"],
                customer["advisor"],
                joined,
                joined,
                recent,
            )
        )
        return customer

    def write_cars(self, customer: dict, today: date) -> None:
        for c in customer["cars"]:
            km = int((today - c["purchase"]).days * c["km_per_day"])
            created = datetime.combine(c["purchase"], time(4, 0), tzinfo=UTC)
            self.vehicles.add(
                (
                    c["id"],
                    customer["id"],
                    customer["store"]["id"],
                    c["vin"],
                    c["plate"],
                    c["brand"],
                    c["series"],
                    c["year"],
                    c["purchase"],
                    km,
                    created,
                )
            )


@dataclass(frozen=True)
class Chunk:
    """The customers first .. first + count - 1, chunk number index of chunks, size each."""

    index: int
    chunks: int
    size: int
    first: int
    count: int


def chunks_of(customers: int, size: int) -> list[Chunk]:
    n = max(-(-customers // size), 1)
    return [Chunk(k, n, size, k * size, min(size, customers - k * size)) for k in range(n)]


def fill_chunk(
    conn: Connection,
    chunk: Chunk,
    seed: int,
    when: datetime,
    specs: list[dict],
    setup: group_extra.Setup,
    owner_hash: str,
    first_owner: int,
) -> dict[str, Any]:
    """Make and write one chunk's customers with everything they have; return the counts and
    what the group-wide steps need (upcoming bookings, recent visits, stock sold)."""
    rng = random.Random(f"{seed}:{chunk.index}")
    today = when.date()
    base = chunk.index * chunk.size * ID_SPACE
    people = Customers(
        conn,
        specs,
        owner_hash,
        first_owner + chunk.first,
        1 + chunk.first * CARS_MAX,
        Plates(chunk.index, chunk.chunks),
    )
    history = group_history.History(conn, people, setup, when, base)
    extra = group_extra.Extras(conn, people, history, setup, when, base)
    for i in range(chunk.first, chunk.first + chunk.count):
        customer = people.add(rng, i, today, when)
        people.write_cars(customer, today)
        history.add(rng, customer)
        extra.add(rng, customer)
    counts = close(people.users, people.vehicles)
    for part in (history.close(), extra.close()):
        counts.update(part)
    used = max([*history.ids.values(), *extra.ids.values(), *extra.sales.ids.values()])
    used = max(used, extra.sales.next_move - base)
    if used > chunk.size * ID_SPACE:
        raise RuntimeError(f"chunk {chunk.index} used {used} ids, more than its range")
    return {
        "counts": counts,
        "upcoming": history.upcoming,
        "completed": history.completed,
        "sold": dict(extra.sales.sold),
    }


_WORKER: dict[str, Any] = {}


def _start_worker(database_url: str) -> None:
    from bench.database import bench_app
    from portal.extensions import db

    app = bench_app(database_url)
    context = app.app_context()
    context.push()  # the encrypted columns' keys come from the app's config
    _WORKER["conn"] = db.engine.connect()


def _run_chunk(args: tuple) -> dict[str, Any]:
    conn = _WORKER["conn"]
    with conn.begin():  # the COPYs go through the driver: begin here so that commit is real
        return fill_chunk(conn, *args)


def run_chunks(
    conn: Connection, tasks: list[tuple], jobs: int, database_url: str | None
) -> Iterator[dict[str, Any]]:
    """Yield each chunk's result in order: here on conn, or in jobs processes on PostgreSQL
    (each its own connection; conn's transaction must be committed first)."""
    if jobs <= 1 or conn.dialect.name != "postgresql" or not database_url:
        for task in tasks:
            yield fill_chunk(conn, *task)
        return
    spawn = multiprocessing.get_context("spawn")  # no inherited connections
    with spawn.Pool(min(jobs, len(tasks)), _start_worker, (database_url,)) as pool:
        yield from pool.imap(_run_chunk, tasks)


def fill_group(
    conn: Connection,
    customers: int,
    seed: int,
    when: datetime,
    staff_hash: str,
    owner_hash: str,
    log: Callable[[str], None],
    *,
    jobs: int = 1,
    database_url: str | None = None,
    commit: Callable[[], None] = lambda: None,
    chunk_size: int = CHUNK,
) -> dict[str, int]:
    """Fill the empty, migrated database with the group; return the row counts per table.

    With jobs > 1 on PostgreSQL the chunks are made by that many processes, and the work
    done so far on conn is committed (commit) before they start."""
    rng = random.Random(seed)
    specs = store_specs(rng, when)
    first_owner = insert_group(conn, rng, specs, staff_hash, when)
    log(f"{STORES} stores, {first_owner - 1} staff")
    setup = group_extra.Setup(conn, rng, specs, when)
    counts: Counter[str] = Counter(setup.counts)
    chunks = chunks_of(customers, chunk_size)
    tasks = [(c, seed, when, specs, setup, owner_hash, first_owner) for c in chunks]
    if jobs > 1:
        commit()
    upcoming: list[tuple] = []
    completed: list[tuple[int, int, int, datetime]] = []
    sold: Counter[tuple[int, int]] = Counter()
    step = max(len(chunks) // 10, 1)
    for k, out in enumerate(run_chunks(conn, tasks, jobs, database_url), start=1):
        counts.update(out["counts"])
        upcoming += out["upcoming"]
        completed += out["completed"]
        sold.update(out["sold"])
        if k % step == 0 or k == len(chunks):
            done = chunks[k - 1].first + chunks[k - 1].count
            log(f"{done} customers, {counts['service_records']} records")
    last = len(chunks) * chunk_size * ID_SPACE
    counts.update(group_history.add_upcoming_bookings(conn, specs, upcoming, last + 1))
    counts.update(group_extra.add_sessions(conn, specs, completed))
    group_sales.take_sold_stock(conn, sold)
    out = dict(counts)
    out["staff"] = first_owner - 1
    return out


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
