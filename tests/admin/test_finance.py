"""Recording loans and policies in the back office."""

from __future__ import annotations

from sqlalchemy import select

from portal.models import InsurancePolicy, Loan


def test_advisor_records_a_loan_and_sees_its_schedule(f, db, client, auth):
    store = f.store()
    owner, advisor = f.owner(store), f.advisor(store)
    vehicle = f.vehicle(owner)
    auth.login(advisor)
    assert client.get("/admin/loans/new/").status_code == 200
    r = client.post(
        "/admin/loans/new/",
        data={
            "customer": owner.phone,
            "vehicle": vehicle.plate,
            "lender": "招商银行",
            "principal": "100000",
            "rate": "4.35",
            "term_months": "36",
            "start_date": "2025-03-15",
        },
    )
    assert r.status_code == 302
    loan = db.session.scalar(select(Loan))
    assert (loan.principal_fen, loan.annual_rate_bp, loan.vehicle_id) == (
        10_000_000,
        435,
        vehicle.id,
    )
    page = client.get(f"/admin/loans/details/?id={loan.id}").get_data(as_text=True)
    assert "¥2,967.99" in page and f"schedule-{loan.id}" in page


def test_bad_records_are_refused_with_a_message(f, db, client, auth):
    store = f.store()
    owner, advisor = f.owner(store), f.advisor(store)
    stranger = f.owner(f.store())
    auth.login(advisor)
    base = {
        "customer": owner.phone,
        "insurer": "中国人保",
        "policy_number": "PDAA2025",
        "coverage": "combined",
        "premium": "4800",
        "starts_on": "2025-01-01",
        "ends_on": "2026-01-01",
    }
    assert client.post("/admin/policies/new/", data=base).status_code == 302
    again = client.post("/admin/policies/new/", data=base)
    assert again.status_code == 200 and "already has a policy" in again.get_data(as_text=True)
    other = client.post("/admin/policies/new/", data={**base, "customer": stranger.phone})
    assert "not a customer of your store" in other.get_data(as_text=True)
    bad_rate = client.post(
        "/admin/loans/new/",
        data={
            "customer": owner.phone,
            "lender": "x",
            "principal": "1000",
            "rate": "4.355",
            "term_months": "12",
            "start_date": "2025-01-01",
        },
    )
    assert "annual rate in percent" in bad_rate.get_data(as_text=True)
    assert db.session.scalar(select(InsurancePolicy.policy_number)) == "PDAA2025"
    assert db.session.scalar(select(Loan.id)) is None


def test_a_return_address_with_a_newline_is_a_400_not_a_500(f, db, client, auth):
    """Flask-Admin redirects to the form's `url`; a newline there cannot go in a header."""
    auth.login(f.admin())
    bad = "@x\n\x9f."
    r = client.post("/admin/loans/action/", data={"action": "x", "url": bad, "rowid": "1"})
    assert r.status_code == 400
    r = client.post("/admin/loans/new/?url=%0Ax", data={"lender": ""})
    assert r.status_code == 400
    r = client.post("/admin/loans/action/", data={"action": "x", "url": "/admin/loans/"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/loans/")
    assert db.session.scalar(select(Loan)) is None


def _record_policies(client, owner, insurers) -> None:
    for i, insurer in enumerate(insurers):
        r = client.post(
            "/admin/policies/new/",
            data={
                "customer": owner.phone,
                "insurer": insurer,
                "policy_number": f"PDAA{i:04d}",
                "coverage": "combined",
                "premium": "4800",
                "starts_on": "2025-01-01",
                "ends_on": "2026-01-01",
            },
        )
        assert r.status_code == 302


def test_the_search_box_finds_policies_and_loans_by_the_start_of_the_name(f, db, client, auth):
    """Insurer and lender are matched from their start through a prefix index: the search of a
    group's millions of policies must not read every one for '%text%'."""
    from admin.finance import LoanAdmin, PolicyAdmin
    from tests.admin.test_listing import searched_plan

    store = f.store()
    owner, advisor = f.owner(store), f.advisor(store)
    auth.login(advisor)
    _record_policies(client, owner, ["平安产险", "中国人保财险", "中国平安"])
    found = client.get("/admin/policies/?search=平安").get_data(as_text=True)
    assert "平安产险" in found and "中国平安" not in found and "中国人保财险" not in found
    assert "中国人保财险" in client.get("/admin/policies/?search=中国人").get_data(as_text=True)
    if db.engine.dialect.name == "postgresql":
        plan = searched_plan(PolicyAdmin, InsurancePolicy, "平安")
        assert "ix_insurance_policies_insurer_prefix" in plan, plan
        plan = searched_plan(LoanAdmin, Loan, "招商")
        assert "ix_loans_lender_prefix" in plan, plan


def test_policies_sort_only_by_indexed_columns(f, db, client, auth):
    """The insurer and the end date sort through an index; the coverage and the start date,
    which would sort every policy of the group for a page, are filtered instead."""
    auth.login(f.admin())
    page = client.get("/admin/policies/").get_data(as_text=True)
    assert "sort=2" in page and "sort=7" in page  # insurer, ends on
    assert "sort=4" not in page and "sort=6" not in page  # coverage, starts on
    assert client.get("/admin/policies/?sort=4").status_code == 200  # an old link still works
