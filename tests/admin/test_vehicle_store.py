"""A car carries its owner's store: set when it is registered, moved with its owner, and
backfilled by the migration; the back office lists a store's cars through it."""

from __future__ import annotations

from datetime import date, time

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Store, User, Vehicle
from portal.services import vehicles as vehicle_svc
from tests.crm.test_races import _run


def _store_of(vehicle_id: int) -> int | None:
    db.session.expire_all()
    return db.session.scalar(select(Vehicle.store_id).where(Vehicle.id == vehicle_id))


def test_a_registered_car_belongs_to_its_owners_store(f):
    a = f.store("A")
    owner = f.owner(a)
    car = vehicle_svc.add_vehicle(
        owner,
        vin=f.vin(),
        plate="粤B1A2B3",
        brand="丰田",
        series="凯美瑞",
        model_year=2022,
        purchase_date=date(2022, 3, 1),
    )
    db.session.commit()
    assert _store_of(car.id) == a.id
    storeless = f.vehicle(f.owner(None))
    assert _store_of(storeless.id) is None


def test_an_owner_who_moves_takes_their_cars_and_a_car_given_away_follows_its_new_owner(f):
    a, b = f.store("A"), f.store("B")
    owner, other = f.owner(a), f.owner(b)
    first, second = f.vehicle(owner), f.vehicle(owner)
    owner.store_id = b.id
    db.session.commit()
    assert (_store_of(first.id), _store_of(second.id)) == (b.id, b.id)
    first = db.session.get(Vehicle, first.id)
    first.owner_id = f.owner(a).id
    db.session.commit()
    assert (_store_of(first.id), _store_of(second.id)) == (a.id, b.id)
    assert _store_of(f.vehicle(other).id) == b.id


def test_the_database_keeps_a_cars_store_its_owners(f):
    a, b = f.store("A"), f.store("B")
    owner = f.owner(a)
    car = f.vehicle(owner)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.execute(update(Vehicle).where(Vehicle.id == car.id).values(store_id=b.id))
    # A bulk update of the owner, past every ORM hook: the cars follow (ON UPDATE CASCADE).
    db.session.execute(update(User).where(User.id == owner.id).values(store_id=b.id))
    db.session.commit()
    assert _store_of(car.id) == b.id


def test_cars_registered_while_their_owner_moves_end_in_the_owners_store(app, f):
    a, b = f.store("A"), f.store("B")
    owner = f.owner(a)
    ids = {"owner": owner.id, "to": b.id}
    db.session.commit()

    def work(i: int) -> None:
        me = db.session.get(User, ids["owner"])
        if i == 0:
            me.store_id = ids["to"]
            return
        vehicle_svc.add_vehicle(
            me,
            vin=f.vin(),
            plate=f"粤B{i:05d}",
            brand="丰田",
            series="凯美瑞",
            model_year=2022,
            purchase_date=date(2022, 3, 1),
        )

    results = _run(app, 6, work)
    db.session.expire_all()
    # A car refused because its owner moved meanwhile is a clear message, never a wrong store.
    assert all(r == "ok" or "ValidationError" in r for r in results), results
    cars = db.session.scalars(select(Vehicle.store_id).where(Vehicle.owner_id == owner.id)).all()
    assert db.session.get(User, owner.id).store_id == b.id
    assert len(cars) == results.count("ok") - 1 and set(cars) <= {b.id}, (results, cars)


def test_a_manager_lists_the_cars_of_owners_who_moved_to_the_store(f, client, auth):
    a, b = f.store("A"), f.store("B")
    mover = f.owner(a)
    f.vehicle(mover, plate="粤B00009")
    f.vehicle(f.owner(b), plate="粤B00001")
    manager_a, manager_b = f.manager(a), f.manager(b)
    mover.store_id = b.id
    db.session.commit()
    auth.login(manager_b)
    html = client.get("/admin/vehicles_admin/?sort=0").get_data(as_text=True)
    assert html.index("粤B00001") < html.index("粤B00009")
    auth.logout()
    auth.login(manager_a)
    html = client.get("/admin/vehicles_admin/").get_data(as_text=True)
    assert "粤B00009" not in html and "粤B00001" not in html


def test_the_migration_backfills_each_cars_store_from_its_owner(tmp_path, make_app):
    url = f"sqlite:///{tmp_path / 'backfill.db'}"
    app = make_app(DATABASE_URL=url)
    with app.app_context():
        upgrade(revision="0022_admin_speed")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                insert(Store.__table__).values(
                    id=7,
                    name="A",
                    address="深圳",
                    phone="1",
                    timezone="Asia/Shanghai",
                    opens_at=time(8, 30),
                    closes_at=time(18),
                    bays=4,
                )
            )
            for uid, store in ((1, 7), (2, None)):
                conn.execute(
                    insert(User.__table__).values(
                        id=uid,
                        role="owner",
                        name="车主",
                        phone=f"1380000000{uid}",
                        password_hash="x",
                        store_id=store,
                    )
                )
            for vid, owner in ((1, 1), (2, 2)):
                conn.execute(
                    text(
                        "INSERT INTO vehicles (id, owner_id, vin, plate, brand, series, "
                        "model_year, current_km, created_at) VALUES (:id, :o, :vin, :plate, "
                        "'丰田', '凯美瑞', 2020, 0, '2026-01-01 00:00:00')"
                    ),
                    {
                        "id": vid,
                        "o": owner,
                        "vin": f"LSVAB2AB1MN00000{vid}",
                        "plate": f"粤B0000{vid}",
                    },
                )
        upgrade()
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, store_id FROM vehicles ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, 7), (2, None)]
        downgrade(revision="0022_admin_speed")
        db.engine.dispose()
        engine.dispose()
