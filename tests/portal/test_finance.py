"""Loans and insurance: the annuity schedule and its rounding, records, renewal reminders."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.cli import policy_reminders_job
from portal.errors import ValidationError
from portal.models import PolicyReminder
from portal.services import finance as svc

# ---------------------------------------------------------------- the annuity schedule


@pytest.mark.parametrize(
    ("principal", "bp", "months", "payment"),
    [
        (10_000_000, 1200, 12, 888_488),  # 100,000 at 12 %/year, 1 year: 8,884.88 a month
        (20_000_000, 600, 360, 119_910),  # 200,000 at 6 %, 30 years: 1,199.10
        (10_000_000, 435, 36, 296_799),  # 100,000 at 4.35 % (benchmark), 3 years: 2,967.99
        (12_000_000, 0, 12, 1_000_000),  # interest-free: 120,000 / 12
        (1000, 0, 3, 333),  # 10 yuan over 3 months: 3.33, 3.33, then 3.34
    ],
)
def test_known_monthly_payments(principal, bp, months, payment):
    assert svc.monthly_payment(principal, bp, months) == payment


def test_the_first_instalments_of_a_known_schedule():
    rows = svc.schedule(10_000_000, 1200, 12, date(2025, 1, 31))
    first = rows[0]
    assert (first.payment_fen, first.interest_fen, first.principal_fen) == (
        888_488,
        100_000,
        788_488,
    )
    assert first.balance_fen == 9_211_512 and first.due_on == date(2025, 2, 28)  # month-end clamp
    assert rows[1].interest_fen == 92_115  # 9,211,512 * 1 % = 92,115.12 -> 92,115
    assert rows[-1].balance_fen == 0 and rows[-1].due_on == date(2026, 1, 31)
    assert rows[-1].payment_fen == 888_485  # the last instalment absorbs the rounding
    assert sum(r.principal_fen for r in rows) == 10_000_000


def test_zero_rate_last_instalment_absorbs_the_remainder():
    rows = svc.schedule(1000, 0, 3, date(2025, 1, 1))
    assert [r.payment_fen for r in rows] == [333, 333, 334]
    assert all(r.interest_fen == 0 for r in rows)


def test_half_up_rounding_to_the_fen():
    # 1 fen over 2 months: 0.5 rounds up to 1, so the second instalment repays nothing more.
    rows = svc.schedule(1, 0, 2, date(2025, 1, 1))
    assert [r.principal_fen for r in rows] == [1, 0]


@settings(max_examples=300, deadline=None)
@given(
    principal=st.integers(min_value=1, max_value=1_000_000_000),
    bp=st.integers(min_value=0, max_value=svc.MAX_RATE_BP),
    months=st.integers(min_value=1, max_value=svc.MAX_TERM),
)
def test_principal_parts_sum_to_the_principal_to_the_fen(principal, bp, months):
    rows = svc.schedule(principal, bp, months, date(2024, 2, 29))
    assert sum(r.principal_fen for r in rows) == principal
    assert rows[-1].balance_fen == 0 and len(rows) == months
    assert all(r.principal_fen >= 0 and r.interest_fen >= 0 for r in rows)
    regular = svc.monthly_payment(principal, bp, months)
    assert all(r.payment_fen == regular for r in rows[:-1] if r.balance_fen > 0)
    if principal >= 100_000 and regular > rows[0].interest_fen:
        # Each month rounds the payment and the interest by at most half a fen each; the
        # balance carries that error forward, growing by (1 + r) a month.
        r = bp / 120_000
        bound = months if r == 0 else ((1 + r) ** months - 1) / r
        assert abs(rows[-1].payment_fen - regular) <= bound + 1


@pytest.mark.parametrize(
    ("raw", "bp"), [("4.35", 435), ("0", 0), ("3.6%", 360), (" 12 ", 1200), ("36", 3600)]
)
def test_rates_are_read_in_percent(raw, bp):
    assert svc.parse_rate_percent(raw) == bp


@pytest.mark.parametrize("raw", ["4.355", "abc", "-1", "36.01", "", "NaN"])
def test_bad_rates_are_refused(raw):
    with pytest.raises(ValidationError) as err:
        svc.parse_rate_percent(raw)
    assert err.value.field == "rate"


# ---------------------------------------------------------------- records


@pytest.fixture
def desk(f):
    store = f.store()
    owner = f.owner(store)
    return {
        "store": store,
        "owner": owner,
        "advisor": f.advisor(store),
        "vehicle": f.vehicle(owner),
        "stranger": f.owner(f.store()),
    }


def policy(desk, *, number="PDAA2025001", insurer="中国人保", ends_in=20, customer=None):
    today = date.today()
    return svc.record_policy(
        desk["advisor"],
        customer=customer or desk["owner"],
        vehicle=None,
        insurer=insurer,
        policy_number=number,
        coverage="combined",
        premium_fen=480_000,
        starts_on=today - timedelta(days=365 - ends_in),
        ends_on=today + timedelta(days=ends_in),
    )


def test_policy_numbers_are_unique_per_insurer(desk, db):
    policy(desk)
    policy(desk, insurer="平安保险")  # the same number at another insurer is fine
    with pytest.raises(ValidationError, match="already has a policy") as err:
        policy(desk, number="pdaa2025001")
    assert err.value.field == "policy_number"


def test_records_are_for_customers_of_the_store(desk, db):
    with pytest.raises(ValidationError, match="not a customer of your store"):
        policy(desk, customer=desk["stranger"])
    with pytest.raises(ValidationError, match="belongs to someone else"):
        svc.record_loan(
            desk["advisor"],
            customer=desk["owner"],
            vehicle=_other_vehicle(desk),
            lender="招商银行",
            principal_fen=10_000_000,
            annual_rate_bp=435,
            term_months=36,
            start_date=date(2025, 1, 1),
        )


def _other_vehicle(desk):
    from tests import factories

    return factories.vehicle(desk["stranger"])


def test_a_loan_closes_once(desk, db):
    loan = svc.record_loan(
        desk["advisor"],
        customer=desk["owner"],
        vehicle=desk["vehicle"],
        lender="招商银行",
        principal_fen=10_000_000,
        annual_rate_bp=435,
        term_months=36,
        start_date=date(2025, 1, 1),
    )
    svc.set_loan_status(desk["advisor"], loan, "paid_off")
    with pytest.raises(svc.Conflict):
        svc.set_loan_status(desk["advisor"], loan, "cancelled")


def test_owner_sees_own_loans_and_policies_only(desk, db, client, auth):
    loan = svc.record_loan(
        desk["advisor"],
        customer=desk["owner"],
        vehicle=desk["vehicle"],
        lender="招商银行",
        principal_fen=10_000_000,
        annual_rate_bp=1200,
        term_months=12,
        start_date=date(2025, 1, 31),
    )
    policy(desk, ends_in=10)
    db.session.commit()
    auth.login(desk["owner"])
    page = client.get("/finance/").get_data(as_text=True)
    assert "招商银行" in page and "¥8,884.88" in page and "renewal-due" in page
    schedule = client.get(f"/finance/loans/{loan.id}").get_data(as_text=True)
    assert "¥8,884.85" in schedule and "¥100,000.00" in schedule
    auth.logout()
    auth.login(desk["stranger"])
    assert client.get(f"/finance/loans/{loan.id}").status_code == 404
    assert "招商银行" not in client.get("/finance/").get_data(as_text=True)


# ---------------------------------------------------------------- renewal reminders


def test_reminders_go_once_to_policies_ending_soon(desk, db, smtp):
    due = policy(desk, number="P-DUE", ends_in=20)
    policy(desk, number="P-LATER", ends_in=45)
    policy(desk, number="P-ENDED", ends_in=-1)
    phone_only = _phone_only_owner(desk)
    policy(desk, number="P-NOMAIL", ends_in=5, customer=phone_only)
    db.session.commit()
    assert policy_reminders_job()["sent"] == 1
    assert [m["Subject"] for m in smtp.deliver()] == [f"Your car insurance ends on {due.ends_on}"]
    assert "P-DUE" in smtp.messages[0].get_content()
    again = policy_reminders_job()
    assert again == {"sent": 0, "no_email": 0, "skipped": 0}
    assert len(smtp.deliver()) == 1


def _phone_only_owner(desk):
    from tests import factories

    return factories.owner(desk["store"], email=None)


def test_two_copies_at_once_send_each_reminder_once(app, desk, db, smtp):
    for i in range(6):
        policy(desk, number=f"P-{i}", ends_in=3 + i)
    db.session.commit()
    barrier = threading.Barrier(2)
    results = []

    def run():
        with app.app_context():
            barrier.wait()
            results.append(policy_reminders_job())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    assert sum(r["sent"] for r in results) == 6
    assert len(smtp.deliver()) == 6
    assert len({m.get_content() for m in smtp.messages}) == 6
    assert db.session.scalar(select(func.count(PolicyReminder.id))) == 6


def test_a_mail_the_server_did_not_take_is_retried_by_the_worker(app, desk, db, smtp, clock):
    policy(desk, number="P-RETRY", ends_in=3)
    db.session.commit()
    assert policy_reminders_job()["sent"] == 1
    port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = 1  # nobody listens there
    assert smtp.deliver() == []
    app.config["SMTP_PORT"] = port
    assert smtp.deliver() == []  # not due again before its backoff
    clock.advance(hours=1)
    assert len(smtp.deliver()) == 1
    assert policy_reminders_job()["sent"] == 0


def test_the_command_reports_what_it_did(app, desk, db):
    policy(desk, number="P-CLI", ends_in=2)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["m4s", "send-reminders", "--days", "5"])
    assert result.exit_code == 0 and "1 emailed" in result.output
