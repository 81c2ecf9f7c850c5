"""SMS adapters: Aliyun SMS, Tencent Cloud SMS and a generic HTTP gateway.

Chinese providers only send templates approved beforehand, under an approved signature:
each adapter maps the message kind to a template (M4S_SMS_TEMPLATES) and passes the
message's params as the template's values. The signatures are computed by hand, as the
providers document them, so no vendor SDK is needed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from portal.channels.base import DeliveryError, Message, check_http_status, post, template_for

# Aliyun's codes worth a later retry: throttling, balance, and its own faults (isp.*).
_ALIYUN_RETRYABLE = {
    "isv.BUSINESS_LIMIT_CONTROL",
    "isv.AMOUNT_NOT_ENOUGH",
    "isv.OUT_OF_SERVICE",
    "Throttling",
    "Throttling.User",
    "ServiceUnavailable",
}


def aliyun_percent_encode(value: str) -> str:
    """Percent-encode as Aliyun's signature method v1 says (RFC 3986, '~' kept)."""
    return quote(value, safe="~")


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """Return the Signature of an Aliyun RPC request: HMAC-SHA1 over the canonical query."""
    canonical = "&".join(
        f"{aliyun_percent_encode(k)}={aliyun_percent_encode(params[k])}" for k in sorted(params)
    )
    to_sign = f"{method}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def send_aliyun(settings: Mapping[str, Any], message: Message) -> None:
    """Send one templated SMS through Aliyun dysmsapi SendSms (API version 2017-05-25)."""
    params = {
        "AccessKeyId": settings["ALIYUN_ACCESS_KEY_ID"],
        "Action": "SendSms",
        "Format": "JSON",
        "RegionId": settings["ALIYUN_SMS_REGION"],
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": secrets.token_hex(16),
        "SignatureVersion": "1.0",
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": "2017-05-25",
        "PhoneNumbers": message.recipient,
        "SignName": settings["SMS_SIGN_NAME"],
        "TemplateCode": template_for(settings, "SMS_TEMPLATES", message.kind),
        "TemplateParam": json.dumps(dict(message.params), ensure_ascii=False),
    }
    if message.message_id:
        params["OutId"] = message.message_id
    params["Signature"] = aliyun_signature(params, settings["ALIYUN_ACCESS_KEY_SECRET"])
    response = post(settings["ALIYUN_SMS_ENDPOINT"], data=params)
    try:
        answer = response.json()
    except ValueError:
        check_http_status(response, "Aliyun SMS")
        raise DeliveryError("Aliyun SMS answered without JSON") from None
    code = str(answer.get("Code", ""))
    if code == "OK":
        return
    retryable = code.startswith("isp.") or code in _ALIYUN_RETRYABLE or response.status_code >= 500
    raise DeliveryError(
        f"Aliyun SMS refused: {code} {answer.get('Message', '')}", retryable=retryable
    )


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac_sha256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    host: str,
    payload: bytes,
    timestamp: int,
    service: str = "sms",
    content_type: str = "application/json; charset=utf-8",
) -> str:
    """Return the Authorization header of a Tencent Cloud API 3.0 POST (TC3-HMAC-SHA256)."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    signed_headers = "content-type;host"
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type.lower()}\nhost:{host.lower()}\n",
            signed_headers,
            _sha256_hex(payload),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, _sha256_hex(canonical_request.encode())]
    )
    key = _hmac_sha256(("TC3" + secret_key).encode(), date)
    key = _hmac_sha256(key, service)
    key = _hmac_sha256(key, "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


def _tencent_retryable(code: str) -> bool:
    return code.startswith(("InternalError", "RequestLimitExceeded", "LimitExceeded")) or code in {
        "ResourceUnavailable",
        "ServiceUnavailable",
    }


def send_tencent(settings: Mapping[str, Any], message: Message) -> None:
    """Send one templated SMS through Tencent Cloud SendSms (API version 2021-01-11)."""
    endpoint = settings["TENCENT_SMS_ENDPOINT"]
    host = urlsplit(endpoint).netloc
    body = {
        "PhoneNumberSet": [_e164(message.recipient)],
        "SmsSdkAppId": settings["TENCENT_SMS_APP_ID"],
        "SignName": settings["SMS_SIGN_NAME"],
        "TemplateId": template_for(settings, "SMS_TEMPLATES", message.kind),
        "TemplateParamSet": [str(v) for v in message.params.values()],
    }
    if message.message_id:
        body["SessionContext"] = message.message_id
    payload = json.dumps(body, ensure_ascii=False).encode()
    timestamp = int(datetime.now(UTC).timestamp())
    headers = {
        "Authorization": tc3_authorization(
            secret_id=settings["TENCENT_SECRET_ID"],
            secret_key=settings["TENCENT_SECRET_KEY"],
            host=host,
            payload=payload,
            timestamp=timestamp,
        ),
        "Content-Type": "application/json; charset=utf-8",
        "Host": host,
        "X-TC-Action": "SendSms",
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Version": "2021-01-11",
        "X-TC-Region": settings["TENCENT_SMS_REGION"],
    }
    response = post(endpoint, data=payload, headers=headers)
    check_http_status(response, "Tencent Cloud SMS")
    try:
        answer = response.json()["Response"]
    except (ValueError, KeyError):
        raise DeliveryError("Tencent Cloud SMS answered without a Response") from None
    if "Error" in answer:
        code = str(answer["Error"].get("Code", ""))
        raise DeliveryError(
            f"Tencent Cloud SMS refused: {code} {answer['Error'].get('Message', '')}",
            retryable=_tencent_retryable(code),
        )
    statuses = answer.get("SendStatusSet") or [{}]
    code = str(statuses[0].get("Code", ""))
    if code != "Ok":
        raise DeliveryError(
            f"Tencent Cloud SMS did not send: {code} {statuses[0].get('Message', '')}",
            retryable=_tencent_retryable(code),
        )


def _e164(phone: str) -> str:
    return phone if phone.startswith("+") else "+86" + phone


class _JSONTemplate(string.Template):
    """$name placeholders, each replaced by its value as a JSON string literal."""


def render_gateway_body(template: str, message: Message) -> str:
    """Fill the gateway's body template; values are JSON-encoded so they cannot break out."""
    values = {
        "phone": message.recipient,
        "text": message.body or message.subject,
        "subject": message.subject,
        "kind": message.kind,
        "id": message.message_id,
        **{f"param_{k}": str(v) for k, v in message.params.items()},
    }
    encoded = {k: json.dumps(v, ensure_ascii=False) for k, v in values.items()}
    encoded["params"] = json.dumps(dict(message.params), ensure_ascii=False)
    try:
        return _JSONTemplate(template).substitute(encoded)
    except (KeyError, ValueError) as exc:
        raise DeliveryError(f"SMS gateway body template: {exc}", retryable=False) from exc


def send_gateway(settings: Mapping[str, Any], message: Message) -> None:
    """POST one SMS to a generic HTTP gateway: configured URL, headers and body template."""
    url = settings["SMS_GATEWAY_URL"]
    if not url:
        raise DeliveryError("M4S_SMS_GATEWAY_URL is not set", retryable=False)
    body = render_gateway_body(settings["SMS_GATEWAY_BODY"], message)
    headers = {"Content-Type": "application/json; charset=utf-8", **settings["SMS_GATEWAY_HEADERS"]}
    response = post(url, data=body.encode(), headers=headers)
    check_http_status(response, "SMS gateway")


SMS_PROVIDERS = {"aliyun": send_aliyun, "tencent": send_tencent, "gateway": send_gateway}


def send_sms(settings: Mapping[str, Any], message: Message) -> None:
    """Send an SMS through the configured provider (M4S_SMS_PROVIDER)."""
    adapter = SMS_PROVIDERS.get(settings["SMS_PROVIDER"])
    if adapter is None:
        raise DeliveryError("no SMS provider is configured (M4S_SMS_PROVIDER)", retryable=False)
    adapter(settings, message)
