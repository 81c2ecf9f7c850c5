"""The advisor directory, performance page and store notices in the back office."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.errors import NotAllowed, ValidationError
from portal.models import Notice, NoticeRecipient, Store
from portal.services import notices


@pytest.fixture
def team(f):
    store = f.store()
    return {
        "manager": f.manager(store),
        "a": f.advisor(store),
        "b": f.advisor(store),
        "other": f.advisor(f.store()),
    }


def test_publish_to_all_or_to_chosen_advisors(team, db):
    everyone = notices.publish(team["manager"], title="五一活动", body="保养八折")
    chosen = notices.publish(
        team["manager"], title="新流程", body="先拍照再接车", advisor_ids=[team["b"].id]
    )
    assert {r.advisor_id for r in everyone.recipients} == {team["a"].id, team["b"].id}
    assert [r.advisor_id for r in chosen.recipients] == [team["b"].id]
    with pytest.raises(ValidationError):
        notices.publish(team["manager"], title="x", body="y", advisor_ids=[team["other"].id])
    with pytest.raises(NotAllowed):
        notices.publish(team["a"], title="x", body="y")


def test_mark_read_once_and_managers_see_who_read(team, db, client, auth):
    notice = notices.publish(team["manager"], title="五一活动", body="保养八折")
    db.session.commit()
    auth.login(team["a"])
    home = client.get("/admin/").get_data(as_text=True)
    assert "unread-notices" in home and "五一活动" in home
    r = client.post(f"/admin/notices/{notice.id}/read", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.get_data(as_text=True)
    assert "五一活动" not in client.get("/admin/").get_data(as_text=True)
    assert notices.mark_read(team["a"], notice) is False  # already read
    auth.logout()
    auth.login(team["manager"])
    page = client.get(f"/admin/notices/{notice.id}").get_data(as_text=True)
    assert f'id="reader-{team["a"].id}"' in page and "✓" in page
    listing = client.get("/admin/notices/").get_data(as_text=True)
    assert "1 / 2" in listing
    read = db.session.scalars(
        select(NoticeRecipient.advisor_id).where(NoticeRecipient.read_at.is_not(None))
    ).all()
    assert read == [team["a"].id]


def test_publish_through_the_form(team, db, client, auth):
    auth.login(team["manager"])
    r = client.post(
        "/admin/notices/new",
        data={"title": "", "body": "x", "audience": "all"},
    )
    assert r.status_code == 422
    r = client.post(
        "/admin/notices/new",
        data={"title": "培训", "body": "周六", "audience": "chosen", "advisors": [team["a"].id]},
    )
    assert r.status_code == 303
    notice = db.session.scalar(select(Notice))
    assert [x.advisor_id for x in notice.recipients] == [team["a"].id] and not notice.to_all


def test_advisors_see_only_their_notices(team, db, client, auth):
    notice = notices.publish(team["manager"], title="仅B", body="x", advisor_ids=[team["b"].id])
    db.session.commit()
    auth.login(team["a"])
    assert client.get(f"/admin/notices/{notice.id}").status_code == 404
    assert "仅B" not in client.get("/admin/notices/").get_data(as_text=True)


def test_directory_and_performance_page(team, f, db, client, auth):
    f.owner(team["manager"].store, advisor_id=team["a"].id)
    auth.login(team["manager"])
    directory = client.get("/admin/advisors/").get_data(as_text=True)
    assert f'id="advisor-{team["a"].id}"' in directory
    assert f'id="advisor-{team["other"].id}"' not in directory
    page = client.get(f"/admin/advisors/{team['a'].id}").get_data(as_text=True)
    assert 'id="chart-referrals"' in page and "<svg" in page
    assert 'id="perf-bound">1<' in page and "perf-service-empty" in page
    assert client.get(f"/admin/advisors/{team['other'].id}").status_code == 404


def test_the_group_admin_sees_one_stores_advisors_at_a_time(team, f, db, client, auth):
    """A group of 100 stores has hundreds of advisors: the admin picks the store (the first by
    name when none is chosen, or when the choice names no store), never all of them at once."""
    admin = f.admin()
    db.session.commit()
    home, away = team["a"].store, team["other"].store
    first = min((home, away), key=lambda s: (s.name, s.id))
    auth.login(admin)
    body = client.get("/admin/advisors/").get_data(as_text=True)
    assert f'<option value="{first.id}" selected>' in body and '<option value="">' not in body
    chosen = client.get(f"/admin/advisors/?store={away.id}").get_data(as_text=True)
    assert f'id="advisor-{team["other"].id}"' in chosen
    assert f'id="advisor-{team["a"].id}"' not in chosen
    for odd in ("999999", "abc", "-1", "1" * 40):
        page = client.get(f"/admin/advisors/?store={odd}")
        assert page.status_code == 200
        assert f'<option value="{first.id}" selected>' in page.get_data(as_text=True)


def test_a_notice_to_an_advisor_id_past_the_integers_is_refused(client, auth, f, db):
    store = f.store("A")
    manager = f.manager(store)
    db.session.commit()
    auth.login(manager)
    r = client.post(
        "/admin/notices/new",
        data={"title": "t", "body": "b", "audience": "chosen", "advisors": "9" * 23},
    )
    assert r.status_code == 422


def test_the_notice_list_counts_recipients_and_reads_per_notice(team, db, f):
    everyone = notices.publish(team["manager"], title="五一活动", body="保养八折")
    chosen = notices.publish(
        team["manager"], title="新流程", body="先拍照再接车", advisor_ids=[team["b"].id]
    )
    elsewhere = f.manager(db.session.get(Store, team["other"].store_id))
    other_store = notices.publish(elsewhere, title="外店", body="x")
    notices.mark_read(team["a"], everyone)
    db.session.commit()
    shown = {n.id: (total, read, mine) for n, total, read, mine in notices.listing(team["manager"])}
    assert shown == {everyone.id: (2, 1, None), chosen.id: (1, 0, None)}
    mine = {n.id: (total, read, me) for n, total, read, me in notices.listing(team["a"])}
    assert mine == {everyone.id: (2, 1, True)}
    of_b = {n.id: me for n, _t, _r, me in notices.listing(team["b"])}
    assert of_b == {everyone.id: False, chosen.id: False}
    every = {n.id: (total, read) for n, total, read, _m in notices.listing(f.admin())}
    assert every == {everyone.id: (2, 1), chosen.id: (1, 0), other_store.id: (1, 0)}


def test_a_notices_readers_table_does_not_load_each_reader(f, db, client, auth):
    from tests.admin.test_page_statements import Counter

    def statements(k: int) -> int:
        store = f.store()
        manager = f.manager(store)
        for _ in range(k):
            f.advisor(store)
        notice = notices.publish(manager, title="周会", body="周一八点")
        db.session.commit()
        auth.login(manager)
        with Counter() as seen:
            page = client.get(f"/admin/notices/{notice.id}")
        assert page.status_code == 200 and page.get_data(as_text=True).count('id="reader-') == k
        auth.logout()
        return len(seen.statements)

    assert statements(2) == statements(8)
