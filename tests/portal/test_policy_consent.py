"""Privacy policy versions and consent (PIPL): at registration, at the next sign-in after a new
version, and entered by staff with how it was obtained; all recorded and audited."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.errors import Conflict
from portal.extensions import db
from portal.models import AuditEvent, ConsentRecord, PolicyVersion, User
from portal.services import consent, policy
from portal.timeutil import now
from tests.factories import PASSWORD


def publish(days_ago: int = 1, tag: str = "") -> PolicyVersion:
    row = policy.publish_policy(
        None,
        text_zh=f"# 一、收集的信息\n我们收集手机号码。{tag}",
        text_en=f"# 1. What we collect\nWe collect your mobile number. {tag}",
        effective_at=now() - timedelta(days=days_ago),
        summary_zh="新增条款",
        summary_en="A new section",
    )
    db.session.commit()
    return row


def registration(store, **kw) -> dict:
    data = {
        "name": "周晓琳",
        "phone": "13712340001",
        "email": "",
        "store": store.id,
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    data.update(kw)
    return data


def records(user_id: int) -> list[ConsentRecord]:
    return list(
        db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.user_id == user_id).order_by(ConsentRecord.id)
        )
    )


def test_registration_asks_unticked_and_records_the_version_and_each_channel(f, client):
    store = f.store()
    v1 = publish(30)
    page = client.get("/register").get_data(as_text=True)
    for name in ("accept_policy", "marketing_sms", "marketing_wechat", "marketing_email"):
        box = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
        assert 'type="checkbox"' in box and "checked" not in box
    assert 'name="policy_version" type="hidden" value="1"' in page

    refused = client.post("/register", data=registration(store, policy_version="1"))
    assert "Agree to the privacy policy to create an account." in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id)).where(User.role == "owner")) == 0

    done = client.post(
        "/register",
        data=registration(store, policy_version="1", accept_policy="y", marketing_wechat="y"),
    )
    assert done.status_code == 303
    owner = db.session.scalar(select(User).where(User.phone == "13712340001"))
    rows = records(owner.id)
    assert [(r.kind, r.channel, r.granted, r.policy_id, r.source) for r in rows] == [
        ("policy", None, True, v1.id, "registration"),
        ("marketing", "wechat", True, v1.id, "registration"),
    ]
    assert all(r.at is not None and r.method is None for r in rows)
    assert consent.consents(owner.id) == {
        "inapp": False,
        "email": False,
        "sms": False,
        "wechat": True,
    }
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"policy_accepted", "marketing_consent_given"} <= actions


def test_registration_against_a_superseded_version_changes_nothing(f, client):
    store = f.store()
    publish(30)
    publish(1)
    r = client.post("/register", data=registration(store, policy_version="1", accept_policy="y"))
    assert r.status_code == 200
    assert "The privacy policy changed while you were registering" in r.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.phone == "13712340001")) is None
    assert db.session.scalar(select(func.count(ConsentRecord.id))) == 0


def test_the_policy_in_force_has_a_stable_address_and_older_versions_stay_readable(client):
    publish(30, tag="OLD")
    publish(1, tag="NEW")
    policy.publish_policy(
        None, text_zh="未来", text_en="FUTURE", effective_at=now() + timedelta(days=9)
    )
    db.session.commit()
    current = client.get("/privacy-policy", headers={"Accept-Language": "en"})
    text = current.get_data(as_text=True)
    assert current.status_code == 200 and "NEW" in text and "FUTURE" not in text
    assert "<h2>1. What we collect</h2>" in text and 'href="/privacy-policy/v1"' in text
    old = client.get("/privacy-policy/v1").get_data(as_text=True)
    assert "OLD" in old and 'id="policy-superseded"' in old
    assert client.get("/privacy-policy/v3").status_code == 404  # not in force yet
    assert client.get("/privacy-policy/v0").status_code == 404
    assert client.get("/privacy-policy/v99999999999").status_code == 404
    zh = client.get("/privacy-policy", headers={"Accept-Language": "zh-CN"})
    assert "<h2>一、收集的信息</h2>" in zh.get_data(as_text=True)


def test_with_no_policy_published_the_page_says_so(client):
    r = client.get("/privacy-policy")
    assert r.status_code == 200 and 'id="policy-none"' in r.get_data(as_text=True)


def test_a_new_version_is_asked_for_at_the_next_sign_in_and_accepted_once(f, client, auth):
    owner = f.owner()
    v1 = publish(30)
    policy.accept_policy(owner, v1, source="registration")
    db.session.commit()
    auth.login(owner)
    assert client.get("/").status_code == 200  # nothing new
    v2 = publish(0)
    assert client.get("/").status_code == 200  # not in the middle of a session
    auth.logout()
    auth.login(owner)
    sent = client.get("/bookings/")
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/account/privacy-policy")
    htmx = client.get("/bookings/", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].endswith("/account/privacy-policy")
    assert client.get("/privacy-policy").status_code == 200  # the text stays readable
    rights = client.get("/account/privacy/")  # the owner's rights stay open too
    assert rights.status_code == 200 and "You agreed to version 1" in rights.get_data(as_text=True)
    page = client.get("/account/privacy-policy").get_data(as_text=True)
    assert "A new section" in page
    refused = client.post("/account/privacy-policy", data={"policy_version": "2"})
    assert refused.status_code == 422
    assert not policy.has_accepted(owner, v2)
    stale = client.post(
        "/account/privacy-policy", data={"policy_version": "1", "accept_policy": "y"}
    )
    assert stale.status_code == 422 and not policy.has_accepted(owner, v2)
    ok = client.post("/account/privacy-policy", data={"policy_version": "2", "accept_policy": "y"})
    assert ok.status_code == 303
    assert client.get("/bookings/").status_code == 200
    row = records(owner.id)[-1]
    assert (row.policy_id, row.source) == (v2.id, "policy_prompt")
    again = client.post(
        "/account/privacy-policy", data={"policy_version": "2", "accept_policy": "y"}
    )
    assert again.status_code == 303 and len(records(owner.id)) == 2


def test_staff_never_get_the_owner_prompt(f, client, auth):
    store = f.store()
    publish(1)
    auth.login(f.manager(store))
    assert client.get("/account/privacy-policy").status_code == 403


def test_staff_register_a_customer_saying_how_consent_was_obtained(f, client, auth):
    store = f.store()
    advisor = f.advisor(store)
    v1 = publish(1)
    auth.login(advisor)
    url = "/admin/advisors/customers/new"
    missing = client.post(url, data={"name": "陈静", "phone": "13800005555"})
    assert missing.status_code == 422
    assert db.session.scalar(select(User).where(User.phone == "13800005555")) is None
    bad = client.post(url, data={"name": "陈静", "phone": "13800005555", "consent_method": "fax"})
    assert bad.status_code == 422
    r = client.post(
        url,
        data={
            "name": "陈静",
            "phone": "13800005555",
            "consent_method": "phone_recording",
            "marketing_sms": "y",
        },
    )
    assert r.status_code == 200
    customer = db.session.scalar(select(User).where(User.phone == "13800005555"))
    got = [
        (r.kind, r.channel, r.policy_id, r.source, r.method, r.recorded_by_id)
        for r in records(customer.id)
    ]
    assert got == [
        ("policy", None, v1.id, "staff", "phone_recording", advisor.id),
        ("marketing", "sms", v1.id, "staff", "phone_recording", advisor.id),
    ]
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "marketing_consent_given")
    )
    assert event.actor_id == advisor.id and event.detail["method"] == "phone_recording"


def test_staff_change_their_customers_consent_with_its_history(f, client, auth):
    store = f.store()
    advisor, colleague = f.advisor(store), f.advisor(store)
    mine = f.owner(store, advisor_id=advisor.id)
    theirs = f.owner(store, advisor_id=colleague.id)
    elsewhere = f.owner(f.store("B"), advisor_id=advisor.id)
    consent.set_consent(mine.id, "email", True)
    db.session.commit()
    auth.login(advisor)
    page = client.get(f"/admin/crm_customers/{mine.id}/consent")
    assert page.status_code == 200 and 'id="consent-history"' in page.get_data(as_text=True)
    assert '<input checked class="form-check-input" id="marketing_email"' in page.get_data(
        as_text=True
    )
    assert client.get(f"/admin/crm_customers/{theirs.id}/consent").status_code == 404
    assert client.get(f"/admin/crm_customers/{elsewhere.id}/consent").status_code == 404
    assert client.get(f"/admin/crm_customers/{advisor.id}/consent").status_code == 404
    assert client.post(f"/admin/crm_customers/{mine.id}/consent", data={}).status_code == 422
    done = client.post(
        f"/admin/crm_customers/{mine.id}/consent",
        data={"consent_method": "in_person", "marketing_wechat": "y"},
    )
    assert done.status_code == 303
    assert consent.consents(mine.id)["email"] is False
    assert consent.consents(mine.id)["wechat"] is True
    last = {(r.channel, r.granted, r.source, r.method) for r in records(mine.id)[-3:]}
    assert ("email", False, "staff", "in_person") in last
    assert ("wechat", True, "staff", "in_person") in last
    assert (
        client.post(
            f"/admin/crm_customers/{theirs.id}/consent", data={"consent_method": "in_person"}
        ).status_code
        == 404
    )
    assert records(theirs.id) == []


def test_settings_and_unsubscribe_are_recorded_too(f):
    owner = f.owner()
    v1 = publish(1)
    assert consent.set_consent(owner.id, "sms", True)
    assert not consent.set_consent(owner.id, "sms", True)  # no change, no record
    assert consent.set_consent(owner.id, "sms", False, source="unsubscribe")
    got = [(r.channel, r.granted, r.source, r.policy_id) for r in records(owner.id)]
    assert got == [("sms", True, "settings", v1.id), ("sms", False, "unsubscribe", v1.id)]


def test_publishing_needs_both_languages():
    from portal.errors import ValidationError

    with pytest.raises(ValidationError):
        policy.publish_policy(None, text_zh="中文", text_en=" ", effective_at=now())


def _race(app, fn, n: int = 2) -> list:
    results: list = []
    barrier = threading.Barrier(n)

    def work():
        with app.app_context():
            barrier.wait()
            try:
                results.append(fn())
                db.session.commit()
            except Conflict:
                db.session.rollback()
                results.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_tabs_accepting_at_once_record_one_acceptance(f, app):
    owner = f.owner()
    v1 = publish(1)
    owner_id, policy_id = owner.id, v1.id

    def accept():
        return policy.accept_policy(
            db.session.get(User, owner_id),
            db.session.get(PolicyVersion, policy_id),
            source="settings",
        )

    assert sorted(_race(app, accept)) == [False, True]
    db.session.rollback()  # read what the threads committed
    assert len(records(owner_id)) == 1


def test_two_publishers_at_once_never_share_a_version_number(app):
    def publish_one():
        return policy.publish_policy(
            None, text_zh="版本", text_en="version", effective_at=now()
        ).version

    results = _race(app, publish_one)
    db.session.rollback()  # read what the threads committed
    versions = list(db.session.scalars(select(PolicyVersion.version)))
    assert len(versions) == len(set(versions)) == len([r for r in results if r != "conflict"])
    assert len(results) == 2 and versions


def test_the_demo_has_two_versions_and_consents_from_every_source(db):
    from portal.demo import load_demo
    from portal.demo.privacy import load_privacy_demo

    load_demo(owners=16)
    first = load_privacy_demo()
    again = load_privacy_demo()
    db.session.commit()
    assert [p.version for p in policy.in_force_versions()] == [2, 1]
    assert first["owners_with_consents"] > 0 and again["owners_with_consents"] == 0
    sources = set(db.session.execute(select(ConsentRecord.source, ConsentRecord.method)))
    assert {("registration", None), ("policy_prompt", None)} <= sources
    assert {("staff", m) for m in ("paper_form", "phone_recording", "in_person")} <= sources
    owners = select(func.count(User.id)).where(User.role == "owner")
    accepted_v2 = select(func.count(ConsentRecord.id)).where(
        ConsentRecord.kind == "policy", ConsentRecord.policy_id == policy.current_policy().id
    )
    assert db.session.scalar(accepted_v2) == db.session.scalar(owners)  # no demo journey prompted


def test_publish_policy_command(app, tmp_path):
    zh, en = tmp_path / "zh.md", tmp_path / "en.md"
    zh.write_text("# 一、总则\n正文", encoding="utf-8")
    en.write_text("# 1. General\nText", encoding="utf-8")
    runner = app.test_cli_runner()
    args = ["m4s", "publish-policy", "--zh", str(zh), "--en", str(en), "--effective"]
    result = runner.invoke(args=[*args, "2026-01-01", "--summary-en", "First"])
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output
    empty = tmp_path / "empty.md"
    empty.write_text(" ", encoding="utf-8")
    refused = runner.invoke(
        args=[
            "m4s",
            "publish-policy",
            "--zh",
            str(empty),
            "--en",
            str(en),
            "--effective",
            "2026-02-01",
        ]
    )
    assert refused.exit_code != 0 and "both Chinese and English" in refused.output
    db.session.rollback()
    row = db.session.scalar(select(PolicyVersion))
    assert (row.version, row.summary_en, row.effective_at.isoformat()) == (
        1,
        "First",
        "2025-12-31T16:00:00+00:00",  # midnight in Shanghai
    )
    assert db.session.scalar(select(func.count(PolicyVersion.id))) == 1
