"""The merge pages: the side-by-side preview, the merge itself, and the old record's redirect."""

from __future__ import annotations

from sqlalchemy import select

from crm.staffing_models import CustomerMerge
from portal.models import AuditEvent, User, Vehicle


def test_a_manager_previews_side_by_side_merges_and_the_old_page_redirects(client, auth, f, db):
    store = f.store()
    boss = f.manager(store)
    keep = f.owner(store, name="李雷", phone="13900000101")
    gone = f.owner(store, name="李雷（重复）", phone="13900000102")
    f.vehicle(gone)
    f.vehicle(gone)
    keep_id, gone_id = keep.id, gone.id
    auth.login(boss)

    page = client.get(f"/admin/crm_customers/{keep_id}")
    assert 'id="merge-find"' in page.get_data(as_text=True)
    shown = client.get(f"/admin/crm_customers/{keep_id}/merge?other=139 0000 0102")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "李雷（重复）" in html
    assert 'data-key="vehicles.owner_id"' in html and "<td>2</td>" in html
    assert db.session.scalar(select(CustomerMerge.merged_id)) is None  # a preview changes nothing

    done = client.post(f"/admin/crm_customers/{keep_id}/merge", data={"other": str(gone_id)})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/{keep_id}")
    db.session.expire_all()
    assert set(db.session.scalars(select(Vehicle.owner_id))) == {keep_id}
    assert not db.session.get(User, gone_id).is_active
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.target_id == keep_id)) == (
        "customers_merged"
    )
    old = client.get(f"/admin/crm_customers/{gone_id}")
    assert old.status_code == 302 and old.headers["Location"].endswith(f"/{keep_id}")
    again = client.post(f"/admin/crm_customers/{keep_id}/merge", data={"other": str(gone_id)})
    assert again.status_code == 303  # the old id leads to the survivor itself: refused, said
    assert db.session.scalar(select(CustomerMerge.survivor_id)) == keep_id


def test_advisors_cannot_merge_and_unknown_or_foreign_records_are_not_offered(client, auth, f, db):
    store, other_store = f.store(), f.store()
    adv = f.advisor(store)
    boss = f.manager(store)
    keep = f.owner(store)
    stranger = f.owner(other_store)
    keep_id, stranger_id = keep.id, stranger.id
    auth.login(adv)
    assert client.post(f"/admin/crm_customers/{keep_id}/merge").status_code == 403
    auth.logout()
    auth.login(boss)
    for other in ("abc", "99999999999", str(stranger_id), "1" * 40, "-1"):
        got = client.get(f"/admin/crm_customers/{keep_id}/merge", query_string={"other": other})
        assert got.status_code == 303, other
    refused = client.post(f"/admin/crm_customers/{keep_id}/merge", data={"other": str(stranger_id)})
    assert refused.status_code == 303
    assert db.session.scalar(select(CustomerMerge.merged_id)) is None
    assert client.get(f"/admin/crm_customers/{stranger_id}/merge").status_code == 404
