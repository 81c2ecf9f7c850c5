"""The Staff accounts page's deactivate action never strands an advisor's customers or open
work on a closed account: those go through the Advisors page's leave flow, which moves them."""

from __future__ import annotations

from crm import leads
from crm.models import PHONE
from portal.extensions import db


def _deactivate(client, *users):
    return client.post(
        "/admin/staff/action/",
        data={"action": "deactivate", "rowid": [str(u.id) for u in users]},
        follow_redirects=True,
    )


def test_an_advisor_with_customers_or_open_work_is_not_deactivated_here(f, client, auth):
    store = f.store("A")
    manager = f.manager(store)
    serving, with_lead, free = f.advisor(store), f.advisor(store), f.advisor(store)
    f.owner(store, advisor_id=serving.id)
    lead = leads.capture(
        leads.Inquiry(name="冯女士", phone="13812340000", store=store, source=PHONE)
    ).lead
    lead.advisor_id = with_lead.id
    db.session.commit()
    auth.login(manager)
    page = _deactivate(client, serving, with_lead, free).get_data(as_text=True)
    assert page.count("still has customers or open work") == 2
    for advisor, active in ((serving, True), (with_lead, True), (free, False)):
        db.session.refresh(advisor)
        assert advisor.is_active is active, advisor.name
