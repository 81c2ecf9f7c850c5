"""Each test starts from empty tables: the first test writes, the second sees nothing."""

from sqlalchemy import func, select

from portal.models import Store


def test_isolation_first_writes(f, db):
    f.store("Isolation store")
    assert db.session.scalar(select(func.count(Store.id))) == 1


def test_isolation_second_sees_nothing(db):
    assert db.session.scalar(select(func.count(Store.id))) == 0
