"""Configuration: defaults, then instance/m4s.cfg, then M4S_* environment, then overrides."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from portal.data_keys import derived_dev_key, derived_dev_lookup_key, parse_keys

# Every key here can be overridden by an environment variable named M4S_<KEY>.
# The README lists them; tests/portal/test_config.py checks the README stays complete.
DEFAULTS: dict[str, Any] = {
    "ENV": "production",  # production | development | testing
    "DEBUG": False,
    "SECRET_KEY": "",
    "DATABASE_URL": "",  # empty: SQLite file m4s.db in the instance folder
    "REDIS_URL": "",  # empty: in-memory rate limits (one process only)
    "BASE_URL": "http://127.0.0.1:5000",
    "DEFAULT_LOCALE": "zh_CN",
    "DEFAULT_TIMEZONE": "Asia/Shanghai",
    "SMTP_HOST": "",  # empty: email is logged, not sent
    "SMTP_PORT": 25,
    "SMTP_USER": "",
    "SMTP_PASSWORD": "",
    "SMTP_STARTTLS": False,
    "MAIL_FROM": "M4S <no-reply@m4s.local>",
    "STAFF_MAX_FAILED_LOGINS": 2,
    "STAFF_DEVICE_LOCK_MINUTES": 15,  # a known device's lock runs out after this
    "STAFF_REPEAT_PASSWORD_MINUTES": 15,  # the same wrong password again within this counts once
    "STAFF_SESSION_IDLE_MINUTES": 30,  # a staff session ends after this long without a request
    "STAFF_SESSION_MAX_HOURS": 12,  # and after this long in any case
    "STAFF_TOTP_REQUIRED_ROLES": "",  # e.g. "manager,admin": these must use a second factor
    "STAFF_PASSWORD_MAX_AGE_DAYS": 90,  # 0 switches expiry off
    "PASSWORD_HISTORY": 5,
    "UNLOCK_APPROVAL_HOURS": 24,
    "RESET_TOKEN_MINUTES": 30,
    "ERASURE_GRACE_DAYS": 7,  # an owner's account is erased this long after they ask
    "OWNER_LOGIN_LIMIT_IP": "20 per minute",
    "OWNER_LOGIN_LIMIT_ACCOUNT": "5 per minute",
    "RATELIMIT_ENABLED": True,
    "API_RATE_LIMIT": "300 per minute",  # per API token
    "API_IDEMPOTENCY_HOURS": 24,  # how long a POST's Idempotency-Key answer is kept
    "GROUP_MIN_CELL": 5,  # the group's comparison hides a figure of fewer people or records
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,
    "ARGON2_PARALLELISM": 4,
    "BOOKING_SLOT_MINUTES": 60,
    "BOOKING_HORIZON_DAYS": 30,
    "BOOKING_CANCEL_CUTOFF_HOURS": 2,
    "BOOKING_MAX_PHOTOS": 6,
    "IMAGE_MAX_PIXELS": 24_000_000,  # larger images are refused from their header, undecoded
    "IMAGE_MAX_SIDE": 10_000,
    "UPLOAD_MAX_MB": 64,  # a request's whole body; larger ones are answered 413
    "UPLOAD_MAX_PARTS": 500,  # form fields and files in one request
    "EXPORT_SYNC_ROWS": 5000,  # larger back-office exports are written by the worker
    "EXPORT_DIR": "",  # the worker's export files; empty: the exports folder in the instance folder
    "EXPORT_LINK_SECONDS": 3600,  # a download link of an export works this long
    "EXPORT_KEEP_SECONDS": 86400,  # export files are deleted after this long
    "IMPORT_MAX_ROWS": 20000,  # rows of one customer and vehicle import file
    "LEAD_IMPORT_MAX_ROWS": 5000,  # rows of one platform lead export
    "CATALOG_IMPORT_MAX_ROWS": 5000,  # rows of one product, stock or price-list import
    "IMPORT_MAX_BYTES": 5 * 1024 * 1024,  # size of one import file
    "IMPORT_BATCH": 200,  # rows the worker applies (and commits) at a time, progress between
    "IMPORT_LEASE_SECONDS": 300,  # a running import silent this long lost its worker: reclaimed
    "IMPORT_MAX_ATTEMPTS": 3,  # claims of one import before it is given up
    "IMPORT_UPLOAD_KEEP_DAYS": 7,  # a checked upload nobody applied is deleted after this
    "REPEAT_REPAIR_DAYS": 30,
    # The closed days the daily-stats job recounts each run: a late change to an older day
    # (a lead won, an order refunded) reaches the rollup only through `flask m4s daily-stats`.
    # 92 covers every period the group's comparison offers (the longest, 90 days).
    "DAILY_STATS_DAYS": 92,
    # The repair analytics read the closed days the daily rollups cover from them (False: every
    # figure from the raw rows, the baseline the bench and the tests compare with).
    "ANALYTICS_FROM_ROLLUPS": True,
    # The repair analytics show the worker's snapshot of their default period (hourly, job
    # analytics-snapshots) while it is at most this old (seconds); older, they count live.
    "ANALYTICS_SNAPSHOT_MAX_AGE": 3 * 3600,
    "MAINTENANCE_MIN_SAMPLE": 30,
    "MAINTENANCE_WINDOW_KM": 1000,
    "MAINTENANCE_WINDOW_DAYS": 30,
    "MAINTENANCE_SOON_KM": 1000,
    "MAINTENANCE_SOON_DAYS": 30,
    "RESCUE_CLAIM_MINUTES": 5,  # an unclaimed rescue is escalated to the managers after this
    "RESCUE_RESOLVE_MINUTES": 90,  # an unresolved rescue is escalated after this
    "INSPECTION_LINK_HOURS": 72,  # an inspection link sent to an owner works this long
    "STATUS_LINK_DAYS": 7,  # a repair status link works this long after the job ends
    "STATUS_LINK_MAX_DAYS": 60,  # and never longer than this after it was sent
    "QUOTE_LINK_DAYS": 30,  # a car quote's link works this long (and while the quote is valid)
    "INSPECTION_REMINDER_DAYS": 30,  # a declined recommendation is brought back after this
    "CLIP_MAX_MB": 40,  # an inspection item's video clip as uploaded; larger ones are refused
    "CLIP_MAX_SECONDS": 30,  # a longer clip is refused
    "CLIP_MAX_SIDE": 720,  # the transcoded clip's long side, in pixels
    "FRAGMENT_CACHE_BYTES": 16 * 2**20,  # rendered fragments kept per cache and process; 0: off
    "PROXY_COUNT": 0,  # reverse proxies in front of the app that set X-Forwarded-*
    "SESSION_COOKIE_SECURE": True,
    "SHOP_HOLD_MINUTES": 30,  # how long checkout holds the stock of an unpaid order
    # Stripe payment methods a PaymentIntent offers, in CNY (a JSON list).
    "SHOP_PAYMENT_METHODS": ["card", "alipay", "wechat_pay"],
    "STRIPE_API_BASE": "",  # empty: api.stripe.com; tests point it at localstripe
    "USEDCAR_INQUIRY_LIMIT_IP": "5 per hour",  # buyers' inquiries about listed cars, per IP
    "POLICY_REMINDER_DAYS": 30,  # renewal reminder this many days before a policy ends
    "MEDIA_URL": "http://127.0.0.1:8081",  # the media server as browsers reach it
    "MEDIA_ORIGIN": "",  # the portal origin the media server accepts; empty: from BASE_URL
    "MEDIA_ICE_HOSTS": "",  # host candidates the media server offers; empty: its interfaces
    "VIDEO_TOKEN_SECONDS": 60,
    "VIDEO_REPORT_SECONDS": 5,
    "VIDEO_STALE_SECONDS": 20,
    "VIDEO_GRACE_SECONDS": 10,
    "VIDEO_PROBE_SECONDS": 3,  # how long a camera check waits for the source to open
    # Camera checks open rtsp(s) addresses on these networks only (private ranges, loopback).
    "CAMERA_ALLOWED_NETWORKS": "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,::1/128,"
    "fc00::/7",
    "CAMERA_CLIP_DIR": "",  # clips usable as camera sources; empty: instance/video (the demo's)
    "DATA_KEYS": "",  # Fernet keys, comma-separated, current first (README: "Data at rest")
    "LOOKUP_KEY": "",  # the key of the hashes that find encrypted values (README: "Data at rest")
    "RESCUE_LOCATION_RETENTION_DAYS": 180,  # a closed rescue's precise location is kept this long
    "BACKUP_KEY": "",  # encrypts backups (flask m4s backup-key makes one); required to back up
    "BACKUP_DIR": "",  # empty: the backups folder in the instance folder
    "BACKUP_KEEP": 14,  # flask m4s backup keeps this many newest backups
    "OUTBOX_MAX_ATTEMPTS": 8,  # tries before a message becomes a dead letter
    "OUTBOX_LEASE_SECONDS": 120,  # a claimed message is reclaimed if not settled by then
    "CAMPAIGN_BATCH": 500,  # campaign sends the worker puts into the outbox per transaction
    "OUTBOX_BATCH": 20,  # messages one worker claims at a time
    "OUTBOX_MAX_PER_SECOND": 0,  # per delivery thread; 0: as fast as the providers take them
    "OUTBOX_BACKOFF_SECONDS": 30,  # first retry after about this long, then doubling
    "OUTBOX_BACKOFF_MAX_SECONDS": 3600,  # longest wait between two tries
    "WORKER_POLL_SECONDS": 1,  # how often an idle worker looks for due messages and jobs
    # Channels beyond email (README: "Channels"). Empty provider or app id: channel off.
    "SMS_PROVIDER": "",  # aliyun | tencent | gateway; empty: no SMS
    "SMS_SIGN_NAME": "",  # the approved SMS signature (签名)
    "SMS_TEMPLATES": {},  # kind -> approved template code/id, e.g. {"login_code": "SMS_1"}
    "ALIYUN_SMS_ENDPOINT": "https://dysmsapi.aliyuncs.com/",
    "ALIYUN_SMS_REGION": "cn-hangzhou",
    "ALIYUN_ACCESS_KEY_ID": "",
    "ALIYUN_ACCESS_KEY_SECRET": "",
    "TENCENT_SMS_ENDPOINT": "https://sms.tencentcloudapi.com/",
    "TENCENT_SMS_REGION": "ap-guangzhou",
    "TENCENT_SMS_APP_ID": "",  # SmsSdkAppId
    "TENCENT_SECRET_ID": "",
    "TENCENT_SECRET_KEY": "",
    "SMS_GATEWAY_URL": "",
    "SMS_GATEWAY_HEADERS": {},  # JSON object of extra headers (an API key, say)
    "SMS_GATEWAY_BODY": '{"to": $phone, "text": $text}',  # $names become JSON strings
    "SMS_QUIET_START": "21:00",  # no SMS from here (store time) ...
    "SMS_QUIET_END": "08:00",  # ... to here, except rescue; others wait until the end
    "SMS_CODE_MINUTES": 5,
    "SMS_CODE_ATTEMPTS": 5,  # wrong codes accepted per code before it dies
    "SMS_CODE_LIMIT_NUMBER": "3 per 10 minutes",
    "SMS_CODE_LIMIT_IP": "10 per hour",
    "SMS_VERIFY_LIMIT_IP": "20 per 10 minutes",
    "WECHAT_APP_ID": "",  # the Official Account's AppID; empty: WeChat off
    "WECHAT_APP_SECRET": "",
    "WECHAT_API_BASE": "https://api.weixin.qq.com/",
    "WECHAT_OAUTH_BASE": "https://open.weixin.qq.com/connect/",
    "WECHAT_TEMPLATES": {},  # kind -> template_id
    "WECHAT_BIND_MINUTES": 15,
    "WEBHOOK_URL": "",  # the store's own system, ntfy or gotify; empty: no webhook
    "WEBHOOK_SECRET": "",
    "WEBHOOK_HEADERS": {},  # e.g. {"X-Gotify-Key": "..."}
    "WEBHOOK_TOPIC": "",  # ntfy's topic, when publishing JSON to ntfy's root URL
    "WEBHOOK_KINDS": ["rescue"],  # kinds of message the webhook receives
    # Stores' own webhook endpoints (back office, docs/webhooks.md): addresses in private
    # networks are refused unless this is on (tests and a local receiver in development).
    "WEBHOOK_ALLOW_PRIVATE": False,
    "CALLERID_TOKEN": "",  # the phone system's caller-ID webhook token; empty: webhook off
    "SMS_INBOUND_TOKEN": "",  # the SMS provider's reply webhook token; empty: webhook off
}

ENV_PREFIX = "M4S_"
DEV_ENVS = {"development", "testing"}


def _coerce(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, (list, dict)):
        return json.loads(raw)
    return raw


def load_config(app: Flask, overrides: dict[str, Any] | None = None) -> None:
    """Fill app.config from defaults, instance file, environment and overrides, then check it."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile(os.path.join(app.instance_path, "m4s.cfg"), silent=True)
    for key, default in DEFAULTS.items():
        raw = os.environ.get(ENV_PREFIX + key)
        if raw is not None:
            app.config[key] = _coerce(raw, default)
    for key in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"):
        app.config.setdefault(key, os.environ.get(ENV_PREFIX + key, ""))
    if overrides:
        app.config.update(overrides)
    _derive(app, overrides)


def _derive(app: Flask, overrides: dict[str, Any] | None = None) -> None:
    cfg = app.config
    env = cfg["ENV"]
    if env not in {"production", "development", "testing"}:
        raise RuntimeError(f"M4S_ENV must be production, development or testing, not {env!r}")
    if env == "production":
        cfg["DEBUG"] = False
    if not cfg["SECRET_KEY"]:
        if env not in DEV_ENVS:
            raise RuntimeError(
                "M4S_SECRET_KEY is not set. Generate one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))'` and export it."
            )
        cfg["SECRET_KEY"] = _dev_secret(Path(app.instance_path))
    if env == "production" and len(cfg["SECRET_KEY"]) < 32:
        raise RuntimeError("M4S_SECRET_KEY must be at least 32 characters in production.")
    _data_keys(cfg, env)
    if env != "production" and "M4S_SESSION_COOKIE_SECURE" not in os.environ:
        cfg["SESSION_COOKIE_SECURE"] = bool((overrides or {}).get("SESSION_COOKIE_SECURE", False))
    url = cfg["DATABASE_URL"] or "sqlite:///" + str(Path(app.instance_path) / "m4s.db")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    cfg["SQLALCHEMY_DATABASE_URI"] = url
    cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if url.startswith("sqlite"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("connect_args", {"timeout": 15})
    else:
        cfg["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("pool_pre_ping", True)
        # No JIT: PostgreSQL compiles any query its planner prices over jit_above_cost, and
        # for a request's short queries the compiling costs more than it saves (a customer
        # search at 1M customers: 405 ms of JIT for 258 ms of work). The server's own
        # setting is left alone; only the app's sessions turn it off.
        cfg["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("connect_args", {"options": "-c jit=off"})
    cfg["RATELIMIT_STORAGE_URI"] = cfg["REDIS_URL"] or "memory://"
    cfg["RATELIMIT_HEADERS_ENABLED"] = True
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["REMEMBER_COOKIE_HTTPONLY"] = True
    cfg["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    cfg["REMEMBER_COOKIE_SECURE"] = cfg["SESSION_COOKIE_SECURE"]
    cfg["WTF_CSRF_TIME_LIMIT"] = None  # tied to the session instead; no stale-form failures
    cfg["BABEL_DEFAULT_LOCALE"] = cfg["DEFAULT_LOCALE"]
    cfg["BABEL_DEFAULT_TIMEZONE"] = "UTC"
    cfg["MAX_CONTENT_LENGTH"] = cfg.get("MAX_CONTENT_LENGTH") or cfg["UPLOAD_MAX_MB"] << 20
    cfg["MAX_FORM_PARTS"] = cfg["UPLOAD_MAX_PARTS"]
    _check_networks(cfg["CAMERA_ALLOWED_NETWORKS"])
    cfg["SHOP_PAYMENT_METHODS"] = _payment_methods(cfg["SHOP_PAYMENT_METHODS"])


# The names are shop.models.PAYMENT_METHODS (portal does not import shop; a test compares).
PAYMENT_METHOD_NAMES = ("card", "alipay", "wechat_pay")


def _payment_methods(value: Any) -> tuple[str, ...]:
    """Fail fast on an unknown Stripe payment method, or none; return them as a tuple."""
    names = value.split(",") if isinstance(value, str) else list(value or ())
    names = [str(n).strip() for n in names if str(n).strip()]
    if not names or any(n not in PAYMENT_METHOD_NAMES for n in names):
        raise RuntimeError(
            f"M4S_SHOP_PAYMENT_METHODS must list some of {', '.join(PAYMENT_METHOD_NAMES)}, "
            f"not {value!r}."
        )
    return tuple(dict.fromkeys(names))


def _data_keys(cfg, env: str) -> None:
    """Parse DATA_KEYS into a tuple; development and tests derive one from the SECRET_KEY."""
    raw = cfg["DATA_KEYS"]
    raw = ",".join(raw) if isinstance(raw, (list, tuple)) else str(raw or "")
    if not raw.strip():
        if env not in DEV_ENVS:
            raise RuntimeError(
                "M4S_DATA_KEYS is not set: personal information is encrypted at rest. Make a key "
                "with `flask --app wsgi m4s data-key`, export it, and keep it with your secrets."
            )
        raw = derived_dev_key(cfg["SECRET_KEY"])
    cfg["DATA_KEYS"] = parse_keys(raw)
    lookup = str(cfg["LOOKUP_KEY"] or "").strip()
    if not lookup:
        if env not in DEV_ENVS:
            raise RuntimeError(
                "M4S_LOOKUP_KEY is not set: it keys the hashes that find encrypted values (policy "
                "numbers). Make one with `flask --app wsgi m4s data-key`, export it, keep it with "
                "your secrets, and never change it."
            )
        lookup = derived_dev_lookup_key(cfg["SECRET_KEY"])
    if len(lookup) < 32:
        raise RuntimeError("M4S_LOOKUP_KEY is too short: give at least 32 random characters.")
    cfg["LOOKUP_KEY"] = lookup


def _check_networks(text: str) -> None:
    """Fail fast on a camera network that is no CIDR network."""
    for network in str(text).split(","):
        try:
            ipaddress.ip_network(network.strip(), strict=False)
        except ValueError as exc:
            raise RuntimeError(
                f"M4S_CAMERA_ALLOWED_NETWORKS: {network.strip()!r} is not a CIDR network."
            ) from exc


def _dev_secret(instance: Path) -> str:
    """Return a per-checkout random key for development, kept in the instance folder."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
