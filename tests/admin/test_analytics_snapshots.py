"""The repair analytics' snapshots: the worker counts the default period of every store and of
all stores; the page shows a fresh snapshot of exactly its filter with its "as of" time, and
counts anything else live."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from admin import analytics_snapshots as snapshots
from admin.analytics_snapshots import AnalyticsSnapshot
from portal.extensions import db
from portal.models import Vehicle
from portal.timeutil import now
from portal.worker.jobs import JOBS
from tests.admin.test_analytics import _repair, _world
from tests.admin.test_page_statements import Counter

URL = "/admin/booking_analytics/"
AS_OF = 'id="analytics-as-of"'


def _repeats(html: str) -> int:
    return int(re.search(r'id="repeat-count">(\d+)<', html).group(1))


def _period(tz: str) -> tuple:
    return snapshots.default_period(tz, now())


def test_the_job_keeps_every_figure_of_every_store_and_of_all_stores(f, app):
    a, b = _world(f)
    assert snapshots.refresh_snapshots() == {"snapshots": 3}
    db.session.commit()
    kept = {s.scope: s for s in db.session.scalars(select(AnalyticsSnapshot))}
    assert set(kept) == {snapshots.ALL_STORES, a.id, b.id}
    days = current_app.config["REPEAT_REPAIR_DAYS"]
    group_tz = current_app.config["DEFAULT_TIMEZONE"]
    for store_id, scope, tz in ((None, 0, group_tz), (a.id, a.id, a.timezone)):
        live = snapshots.compute(store_id, tz, *_period(tz), days)
        assert kept[scope].figures == json.loads(json.dumps(live))
    group = kept[snapshots.ALL_STORES].figures
    assert group["repeats"]["count"] == 1 and group["funnel"]["submitted"] == 0
    assert {x["category"]: x["repairs"] for x in group["faults"]} == {"brakes": 2, "engine": 1}
    assert [p[2] for p in group["repeats"]["pairs"]] == [10.0]
    assert kept[b.id].figures["repeats"]["count"] == 0
    assert {x["description"] for x in kept[b.id].figures["parts"]} == {"B店专用件"}
    assert kept[a.id].first_day == _period(a.timezone)[0]
    assert kept[a.id].last_day - kept[a.id].first_day == timedelta(days=89)
    # A rerun replaces the snapshots (one per input), it does not add rows.
    snapshots.refresh_snapshots()
    db.session.commit()
    assert len(db.session.scalars(select(AnalyticsSnapshot)).all()) == 3
    job = next(j for j in JOBS if j.name == "analytics-snapshots")
    assert job.path == "admin.analytics_snapshots:refresh_snapshots"


def test_the_page_shows_the_snapshot_of_its_filter_and_counts_other_filters_live(f, client, auth):
    a, b = _world(f)
    snapshots.refresh_snapshots()
    db.session.commit()
    car = db.session.scalar(select(Vehicle).where(Vehicle.series == "凯美瑞"))
    _repair(a, car, "brakes", 3)  # after the snapshot: a second comeback
    auth.login(f.admin())
    with Counter() as seen:
        kept = client.get(URL).get_data(as_text=True)
    assert AS_OF in kept and _repeats(kept) == 1  # the snapshot, as of its time
    assert len(seen.statements) <= 8  # no figure counted: the snapshot and the shown rows
    first, last = _period(current_app.config["DEFAULT_TIMEZONE"])
    other = f"?start={first + timedelta(days=1)}&end={last}"
    live = client.get(URL + other).get_data(as_text=True)
    assert AS_OF not in live and _repeats(live) == 2
    only_b = client.get(URL + f"?store={b.id}").get_data(as_text=True)
    assert AS_OF in only_b and "B店专用件" in only_b and "刹车片" not in only_b
    auth.logout()
    auth.login(f.manager(a))
    mine = client.get(URL + f"?store={b.id}").get_data(as_text=True)
    assert AS_OF in mine and _repeats(mine) == 1 and "B店专用件" not in mine


def test_a_stale_snapshot_is_not_shown(f, client, auth):
    _world(f)
    tz = current_app.config["DEFAULT_TIMEZONE"]
    days = current_app.config["REPEAT_REPAIR_DAYS"]
    max_age = timedelta(seconds=current_app.config["ANALYTICS_SNAPSHOT_MAX_AGE"])
    snapshots.store(None, tz, *_period(tz), days, now() - max_age + timedelta(minutes=5))
    db.session.commit()
    auth.login(f.admin())
    assert AS_OF in client.get(URL).get_data(as_text=True)
    snap = db.session.scalar(select(AnalyticsSnapshot))
    snap.computed_at = now() - max_age - timedelta(minutes=5)
    db.session.commit()
    html = client.get(URL).get_data(as_text=True)
    assert AS_OF not in html and _repeats(html) == 1


def test_just_after_midnight_the_default_view_shows_the_period_that_ended_yesterday(
    f, client, auth
):
    _world(f)
    tz = current_app.config["DEFAULT_TIMEZONE"]
    first, last = _period(tz)
    one = timedelta(days=1)
    days = current_app.config["REPEAT_REPAIR_DAYS"]
    snapshots.store(None, tz, first - one, last - one, days, now())
    db.session.commit()
    auth.login(f.admin())
    html = client.get(URL).get_data(as_text=True)
    assert AS_OF in html and f'value="{first - one}"' in html
    asked = client.get(URL + f"?start={first}&end={last}").get_data(as_text=True)
    assert AS_OF not in asked  # dates asked for: counted live, not yesterday's period
