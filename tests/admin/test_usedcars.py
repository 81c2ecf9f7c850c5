"""The vetting queue and review page in the back office."""

from __future__ import annotations

from sqlalchemy import select

from portal.models import UsedCarRequest
from portal.models.usedcars import APPROVED, LISTED, UNDER_REVIEW
from tests.portal.test_usedcars import submit


def test_manager_vets_and_lists_a_car_through_the_back_office(f, db, client, auth):
    store = f.store()
    owner, advisor, manager = f.owner(store), f.advisor(store), f.manager(store)
    req = submit(owner)
    db.session.commit()
    auth.login(manager)
    queue = client.get("/admin/usedcar_review/?status=submitted").get_data(as_text=True)
    assert f'id="queue-{req.id}"' in queue
    page = client.get(f"/admin/usedcar_review/{req.id}").get_data(as_text=True)
    assert "step-take" in page and advisor.name in page
    url = f"/admin/usedcar_review/{req.id}/act"
    assert client.post(url, data={"verb": "take", "expert": advisor.id}).status_code == 303
    r = client.post(
        url,
        data={
            "verb": "approve",
            "grade": "A",
            "checked_items": ["engine", "paint"],
            "valuation_low": "100000",
            "valuation_high": "115000.50",
            "notes": "原版原漆",
        },
    )
    assert r.status_code == 303
    db.session.expire_all()
    req = db.session.get(UsedCarRequest, req.id)
    assert (req.status, req.expert_id, req.grade) == (APPROVED, advisor.id, "A")
    assert req.valuation_high_fen == 11_500_050 and req.checked_items == ["engine", "paint"]
    client.post(url, data={"verb": "list"})
    assert db.session.scalar(select(UsedCarRequest.status)) == LISTED
    history = client.get(f"/admin/usedcar_review/{req.id}").get_data(as_text=True)
    assert manager.name in history and "原版原漆" in history


def test_a_refused_step_is_shown_and_changes_nothing(f, db, client, auth):
    store = f.store()
    owner, advisor = f.owner(store), f.advisor(store)
    req = submit(owner)
    db.session.commit()
    auth.login(advisor)
    url = f"/admin/usedcar_review/{req.id}/act"
    client.post(url, data={"verb": "take", "expert": advisor.id})
    r = client.post(url, data={"verb": "reject", "reason": ""}, follow_redirects=True)
    assert "Give the reason for the rejection." in r.get_data(as_text=True)
    assert db.session.get(UsedCarRequest, req.id).status == UNDER_REVIEW
    r = client.post(url, data={"verb": "list"}, follow_redirects=True)
    assert "cannot become listed" in r.get_data(as_text=True)


def test_other_stores_requests_do_not_exist(f, db, client, auth):
    req = submit(f.owner(f.store()))
    db.session.commit()
    auth.login(f.advisor(f.store()))
    assert client.get(f"/admin/usedcar_review/{req.id}").status_code == 404
    assert f'id="queue-{req.id}"' not in client.get("/admin/usedcar_review/").get_data(as_text=True)
