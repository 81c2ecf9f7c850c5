"""The SMS, WeChat and webhook adapters against local servers speaking each provider's format."""

from __future__ import annotations

import json

import pytest

from portal.channels.base import DeliveryError, Message
from portal.channels.sms import aliyun_signature, send_aliyun, send_gateway, send_sms, send_tencent
from portal.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, send_webhook, verify_webhook
from portal.channels.wechat import cached_token, send_wechat
from tests import channel_fakes


@pytest.fixture
def settings(app):
    cfg = dict(app.config)
    cfg.update(
        SMS_SIGN_NAME="四季车服", SMS_TEMPLATES={"login_code": "SMS_0001", "rescue": "SMS_9"}
    )
    return cfg


@pytest.fixture
def fakes():
    started = []

    def start(server):
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


CODE = Message(
    recipient="13800138000", kind="login_code", params={"code": "123456"}, message_id="m1"
)


def test_aliyun_signature_matches_the_documented_example():
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert aliyun_signature(params, "testsecret", method="GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_sends_a_signed_template(settings, fakes):
    fake = fakes(channel_fakes.aliyun_fake({"LTAIkey": "s3cret"}))
    settings.update(
        ALIYUN_SMS_ENDPOINT=fake.url,
        ALIYUN_ACCESS_KEY_ID="LTAIkey",
        ALIYUN_ACCESS_KEY_SECRET="s3cret",
    )
    send_aliyun(settings, CODE)
    form = fake.received[0].form
    assert form["PhoneNumbers"] == "13800138000"
    assert form["SignName"] == "四季车服"
    assert form["TemplateCode"] == "SMS_0001"
    assert json.loads(form["TemplateParam"]) == {"code": "123456"}
    assert form["OutId"] == "m1"


def test_aliyun_rejects_a_wrong_secret_for_good(settings, fakes):
    fake = fakes(channel_fakes.aliyun_fake({"LTAIkey": "s3cret"}))
    settings.update(
        ALIYUN_SMS_ENDPOINT=fake.url,
        ALIYUN_ACCESS_KEY_ID="LTAIkey",
        ALIYUN_ACCESS_KEY_SECRET="wrong",
    )
    with pytest.raises(DeliveryError, match="SignatureDoesNotMatch") as err:
        send_aliyun(settings, CODE)
    assert err.value.retryable is False
    assert fake.received == []


@pytest.mark.parametrize(
    ("number", "code", "retryable"),
    [("12345", "MOBILE_NUMBER_ILLEGAL", False), ("13900000000", "BUSINESS_LIMIT_CONTROL", True)],
)
def test_aliyun_classifies_refusals(settings, fakes, number, code, retryable):
    fake = fakes(channel_fakes.aliyun_fake({"k": "s"}))
    settings.update(
        ALIYUN_SMS_ENDPOINT=fake.url, ALIYUN_ACCESS_KEY_ID="k", ALIYUN_ACCESS_KEY_SECRET="s"
    )
    with pytest.raises(DeliveryError, match=code) as err:
        send_aliyun(settings, Message(recipient=number, kind="rescue", params={"plate": "沪A1"}))
    assert err.value.retryable is retryable


def _tencent(settings, fake, key="tc-secret"):
    settings.update(
        TENCENT_SMS_ENDPOINT=fake.url,
        TENCENT_SECRET_ID="AKIDtest",
        TENCENT_SECRET_KEY=key,
        TENCENT_SMS_APP_ID="1400006666",
    )


def test_tencent_sends_a_signed_template(settings, fakes):
    fake = fakes(channel_fakes.tencent_fake({"AKIDtest": "tc-secret"}))
    _tencent(settings, fake)
    send_tencent(settings, CODE)
    body = fake.received[0].json
    assert body["PhoneNumberSet"] == ["+8613800138000"]
    assert body["SmsSdkAppId"] == "1400006666"
    assert body["TemplateId"] == "SMS_0001"
    assert body["TemplateParamSet"] == ["123456"]
    assert fake.received[0].headers["x-tc-region"] == "ap-guangzhou"


def test_tencent_rejects_a_wrong_secret_for_good(settings, fakes):
    fake = fakes(channel_fakes.tencent_fake({"AKIDtest": "tc-secret"}))
    _tencent(settings, fake, key="not-the-key")
    with pytest.raises(DeliveryError, match="AuthFailure.SignatureFailure") as err:
        send_tencent(settings, CODE)
    assert err.value.retryable is False
    assert fake.received == []


def test_tencent_bad_number_is_not_retried(settings, fakes):
    fake = fakes(channel_fakes.tencent_fake({"AKIDtest": "tc-secret"}))
    _tencent(settings, fake)
    with pytest.raises(DeliveryError, match="IncorrectPhoneNumber") as err:
        send_tencent(settings, Message(recipient="123", kind="login_code", params={"c": "1"}))
    assert err.value.retryable is False


def test_gateway_posts_the_body_template_with_safe_values(settings, fakes):
    fake = fakes(channel_fakes.receiver())
    settings.update(
        SMS_PROVIDER="gateway",
        SMS_GATEWAY_URL=fake.url + "send",
        SMS_GATEWAY_HEADERS={"X-Api-Key": "k1"},
        SMS_GATEWAY_BODY='{"mobile": $phone, "content": $text, "vars": $params}',
    )
    tricky = 'Say "hi"\n}, "evil": 1'
    send_sms(settings, Message(recipient="13800138000", kind="x", body=tricky, params={"a": "b"}))
    req = fake.received[0]
    assert req.path == "/send"
    assert req.headers["x-api-key"] == "k1"
    assert json.loads(req.body) == {"mobile": "13800138000", "content": tricky, "vars": {"a": "b"}}


@pytest.mark.parametrize(("status", "retryable"), [(400, False), (503, True), (429, True)])
def test_gateway_failures_are_classified(settings, fakes, status, retryable):
    fake = fakes(channel_fakes.receiver(status))
    settings.update(SMS_GATEWAY_URL=fake.url)
    with pytest.raises(DeliveryError) as err:
        send_gateway(settings, CODE)
    assert err.value.retryable is retryable


def test_unreachable_provider_is_retryable(settings, fakes):
    fake = fakes(channel_fakes.receiver())
    url = fake.url
    fake.stop()
    fake.stop = lambda: None
    settings.update(SMS_GATEWAY_URL=url)
    with pytest.raises(DeliveryError, match="cannot reach") as err:
        send_gateway(settings, CODE)
    assert err.value.retryable is True


def test_no_sms_provider_is_a_permanent_failure(settings):
    with pytest.raises(DeliveryError) as err:
        send_sms(settings, CODE)
    assert err.value.retryable is False


def test_webhook_is_signed_and_verifiable(settings, fakes):
    fake = fakes(channel_fakes.receiver())
    settings.update(WEBHOOK_SECRET="hook-secret", WEBHOOK_HEADERS={"X-Gotify-Key": "g"})
    msg = Message(
        recipient=fake.url + "hook",
        kind="rescue",
        subject="救援",
        body="Car stuck",
        message_id="m9",
    )
    send_webhook(settings, msg)
    req = fake.received[0]
    ts, sig = req.headers[TIMESTAMP_HEADER.lower()], req.headers[SIGNATURE_HEADER.lower()]
    assert verify_webhook("hook-secret", ts, req.body, sig)
    assert not verify_webhook("another-secret", ts, req.body, sig)
    assert not verify_webhook("hook-secret", ts, req.body + b" ", sig)
    payload = json.loads(req.body)
    assert (payload["title"], payload["message"], payload["id"]) == ("救援", "Car stuck", "m9")
    assert req.headers["x-gotify-key"] == "g"
    assert req.headers["idempotency-key"] == "m9"


def test_webhook_without_secret_is_refused(settings):
    with pytest.raises(DeliveryError, match="SECRET") as err:
        send_webhook(settings, Message(recipient="http://127.0.0.1:9/", kind="rescue"))
    assert err.value.retryable is False


@pytest.fixture
def wechat(settings, fakes):
    fake = fakes(channel_fakes.wechat_fake("wxappid", "wxsecret", {"openid-1"}))
    settings.update(
        WECHAT_APP_ID="wxappid",
        WECHAT_APP_SECRET="wxsecret",
        WECHAT_API_BASE=fake.url,
        WECHAT_TEMPLATES={"reminder": "TPL-reminder"},
    )
    return fake


def test_wechat_sends_a_template_message_and_caches_the_token(settings, wechat, db):
    msg = Message(
        recipient="openid-1",
        kind="reminder",
        subject="保养提醒",
        body="Oil",
        params={"plate": "沪A1"},
        link="http://portal/x",
    )
    send_wechat(settings, msg)
    send_wechat(settings, msg)
    sent = [r for r in wechat.received if r.path.endswith("template/send")]
    assert len(sent) == 2
    assert sent[0].json["template_id"] == "TPL-reminder"
    assert sent[0].json["data"]["plate"] == {"value": "沪A1"}
    assert sent[0].json["url"] == "http://portal/x"
    assert wechat.state["token_fetches"] == 1  # the second send used the stored token
    assert cached_token(settings) in wechat.state["tokens"]


def test_wechat_refetches_a_token_that_wechat_retired(settings, wechat, db):
    msg = Message(recipient="openid-1", kind="reminder", subject="s")
    send_wechat(settings, msg)
    wechat.state["tokens"].clear()  # WeChat invalidated it (another fetch elsewhere, say)
    send_wechat(settings, msg)
    assert wechat.state["token_fetches"] == 2


def test_wechat_unknown_openid_is_not_retried(settings, wechat, db):
    with pytest.raises(DeliveryError, match="40003") as err:
        send_wechat(settings, Message(recipient="nobody", kind="reminder"))
    assert err.value.retryable is False


def test_wechat_wrong_secret_is_not_retried(settings, wechat, db):
    settings["WECHAT_APP_SECRET"] = "wrong"
    with pytest.raises(DeliveryError, match="40125") as err:
        send_wechat(settings, Message(recipient="openid-1", kind="reminder"))
    assert err.value.retryable is False
    assert wechat.state["token_fetches"] == 0


def test_workers_fetching_the_token_at_once_both_send(app, settings, wechat, db):
    import threading

    barrier, errors = threading.Barrier(3), []

    def send():
        with app.app_context():
            from portal.extensions import db as tdb

            try:
                barrier.wait()
                send_wechat(settings, Message(recipient="openid-1", kind="reminder"))
                tdb.session.commit()
            except Exception as exc:  # noqa: BLE001 (collected, asserted below)
                errors.append(exc)
            finally:
                tdb.session.remove()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len([r for r in wechat.received if r.path.endswith("template/send")]) == 3
    assert cached_token(settings) in wechat.state["tokens"]
