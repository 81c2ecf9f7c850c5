"""Local HTTP servers that speak the providers' documented formats, signatures included.

Each fake checks requests the way the provider does (its own signature code, written
from the provider's documentation, not imported from the code under test), records what
it accepted and answers in the provider's response format."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeServer:
    """A threaded HTTP server; handle(req) -> (status, headers, body)."""

    handle: Any
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                req = Received(
                    method=self.command,
                    path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                status, headers, body = fake.handle(req)
                if status < 300 and _accepted(body):
                    fake.received.append(req)
                if isinstance(body, dict):
                    body = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, *args):  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _accepted(body) -> bool:
    """Whether a provider's answer says it took the message (errors may come with 200)."""
    if not isinstance(body, dict):
        return True
    if "Error" in body.get("Response", {}) or body.get("errcode", 0) != 0:
        return False
    return body.get("Code", "OK") == "OK"


JSON = {"Content-Type": "application/json; charset=utf-8"}


def _mainland(phone: str) -> bool:
    return re.fullmatch(r"1[3-9][0-9]{9}", phone) is not None  # mainland mobile numbers


# --- Aliyun dysmsapi SendSms, RPC style, signature method v1 (HMAC-SHA1) ------------------


def aliyun_fake(keys: dict[str, str]):
    """Aliyun SendSms: POST form, Signature recomputed with the secret of AccessKeyId."""

    def enc(s: str) -> str:
        return quote(s, safe="~")

    def handle(req: Received):
        form = {k: v[0] for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items()}
        given = form.pop("Signature", "")
        secret = keys.get(form.get("AccessKeyId", ""))
        if secret is None:
            return 404, JSON, {"Code": "InvalidAccessKeyId.NotFound", "Message": "no key"}
        query = "&".join(f"{enc(k)}={enc(form[k])}" for k in sorted(form))
        to_sign = "POST&%2F&" + enc(query)
        want = base64.b64encode(
            hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if not hmac.compare_digest(want, given):
            return 400, JSON, {"Code": "SignatureDoesNotMatch", "Message": "bad signature"}
        if (form.get("Action"), form.get("Version")) != ("SendSms", "2017-05-25"):
            return 400, JSON, {"Code": "InvalidAction", "Message": "unknown action"}
        missing = [k for k in ("PhoneNumbers", "SignName", "TemplateCode") if not form.get(k)]
        if missing:
            return 400, JSON, {"Code": "MissingParameter", "Message": ",".join(missing)}
        json.loads(form.get("TemplateParam") or "{}")
        if not _mainland(form["PhoneNumbers"]):
            return 200, JSON, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number"}
        if form["PhoneNumbers"] == "13900000000":  # the fake's throttled number
            return 200, JSON, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "throttled"}
        req.form = form
        return 200, JSON, {"Code": "OK", "Message": "OK", "BizId": "9006197", "RequestId": "r1"}

    return FakeServer(handle).start()


# --- Tencent Cloud SMS SendSms 2021-01-11, TC3-HMAC-SHA256 ---------------------------------


def tencent_fake(keys: dict[str, str]):
    """Tencent SendSms: JSON body, Authorization recomputed from the signed headers."""

    def h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    def error(code: str):
        return 200, JSON, {"Response": {"Error": {"Code": code, "Message": code}, "RequestId": "r"}}

    def handle(req: Received):
        auth = req.headers.get("authorization", "")
        try:
            algo, rest = auth.split(" ", 1)
            fields = dict(part.strip().split("=", 1) for part in rest.split(","))
            secret_id, date, service, term = fields["Credential"].split("/")
        except ValueError:
            return error("AuthFailure.InvalidAuthorization")
        secret_key = keys.get(secret_id)
        if algo != "TC3-HMAC-SHA256" or secret_key is None or term != "tc3_request":
            return error("AuthFailure.SecretIdNotFound")
        signed = fields["SignedHeaders"].split(";")
        canonical_headers = "".join(f"{name}:{req.headers[name].lower()}\n" for name in signed)
        canonical = "\n".join(
            [
                req.method,
                "/",
                "",
                canonical_headers,
                fields["SignedHeaders"],
                hashlib.sha256(req.body).hexdigest(),
            ]
        )
        timestamp = req.headers.get("x-tc-timestamp", "")
        to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                timestamp,
                f"{date}/{service}/tc3_request",
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = h(h(h(("TC3" + secret_key).encode(), date), service), "tc3_request")
        want = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, fields["Signature"]):
            return error("AuthFailure.SignatureFailure")
        if (req.headers.get("x-tc-action"), req.headers.get("x-tc-version")) != (
            "SendSms",
            "2021-01-11",
        ):
            return error("InvalidAction")
        body = json.loads(req.body)
        for name in ("PhoneNumberSet", "SmsSdkAppId", "TemplateId"):
            if not body.get(name):
                return error("MissingParameter")
        number = body["PhoneNumberSet"][0]
        ok = number.startswith("+86") and _mainland(number[3:])
        status = {
            "SerialNo": secrets.token_hex(8),
            "PhoneNumber": number,
            "Fee": 1 if ok else 0,
            "SessionContext": body.get("SessionContext", ""),
            "Code": "Ok" if ok else "InvalidParameterValue.IncorrectPhoneNumber",
            "Message": "send success" if ok else "incorrect number",
            "IsoCode": "CN",
        }
        req.json = body
        return 200, JSON, {"Response": {"SendStatusSet": [status], "RequestId": "r2"}}

    return FakeServer(handle).start()


# --- WeChat Official Account: token, template message, OAuth (snsapi_base) ------------------


class WeChatFake:
    """WeChat: /cgi-bin/token, /cgi-bin/message/template/send, /connect/oauth2/authorize,
    /sns/oauth2/access_token. The fake's user (who 'opens' the authorize page in WeChat)
    is state["visitor"]; clearing state["tokens"] simulates WeChat retiring the tokens."""

    def __init__(self, appid: str, secret: str, openids: set[str]) -> None:
        self.appid, self.secret, self.openids = appid, secret, openids
        self.state: dict[str, Any] = {
            "tokens": set(),
            "codes": {},
            "visitor": None,
            "token_fetches": 0,
        }

    def token(self, req: Received):
        q, state = req.query, self.state
        if (q.get("appid"), q.get("secret"), q.get("grant_type")) != (
            self.appid,
            self.secret,
            "client_credential",
        ):
            return 200, JSON, {"errcode": 40125, "errmsg": "invalid appsecret"}
        value = secrets.token_urlsafe(24)
        state["tokens"].add(value)
        state["token_fetches"] += 1
        return 200, JSON, {"access_token": value, "expires_in": 7200}

    def template_send(self, req: Received):
        if req.query.get("access_token") not in self.state["tokens"]:
            return 200, JSON, {"errcode": 40001, "errmsg": "invalid credential"}
        body = json.loads(req.body)
        if body.get("touser") not in self.openids:
            return 200, JSON, {"errcode": 40003, "errmsg": "invalid openid"}
        if not body.get("template_id") or not isinstance(body.get("data"), dict):
            return 200, JSON, {"errcode": 40037, "errmsg": "invalid template_id"}
        req.json = body
        return 200, JSON, {"errcode": 0, "errmsg": "ok", "msgid": 200228332}

    def authorize(self, req: Received):
        q = req.query
        if q.get("appid") != self.appid or q.get("response_type") != "code":
            return 400, JSON, {"errcode": 10003, "errmsg": "redirect_uri domain error"}
        code = secrets.token_urlsafe(12)
        self.state["codes"][code] = self.state["visitor"]
        query = urlencode({"code": code, "state": q.get("state", "")})
        return 302, {"Location": q["redirect_uri"] + "?" + query}, b""

    def oauth_token(self, req: Received):
        q = req.query
        openid = self.state["codes"].pop(q.get("code", ""), None)
        if (q.get("appid"), q.get("secret")) != (self.appid, self.secret) or openid is None:
            return 200, JSON, {"errcode": 40029, "errmsg": "invalid code"}
        answer = {"access_token": "t", "expires_in": 7200, "refresh_token": "r"}
        return 200, JSON, {**answer, "openid": openid, "scope": "snsapi_base"}

    def handle(self, req: Received):
        routes = {
            "/cgi-bin/token": self.token,
            "/cgi-bin/message/template/send": self.template_send,
            "/connect/oauth2/authorize": self.authorize,
            "/sns/oauth2/access_token": self.oauth_token,
        }
        route = routes.get(req.path)
        return route(req) if route else (404, JSON, {"errcode": 404, "errmsg": "not found"})


def wechat_fake(appid: str, secret: str, openids: set[str]) -> FakeServer:
    """Start a WeChat fake; its state is on .state."""
    api = WeChatFake(appid, secret, openids)
    fake = FakeServer(api.handle).start()
    fake.state = api.state
    return fake


def receiver(status: int = 200):
    """A webhook or gateway receiver that accepts everything with the given status."""
    return FakeServer(lambda req: (status, JSON, {"ok": status < 300})).start()
