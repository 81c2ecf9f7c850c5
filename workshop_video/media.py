"""The media server: `python -m workshop_video.media` (or `flask m4s media`).

An aiohttp app on its own asyncio loop: POST /offer {token, sdp, type} -> SDP answer. It checks
the portal's signed token, never imports Flask and never touches the database; it reports
connection states to the portal's internal endpoint, signed with the same secret.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from workshop_video import rtc
from workshop_video.tokens import BadToken, read_token, sign_report

log = logging.getLogger("m4s.media")


MAX_SDP_CHARS = 32_768  # a browser's offer is 3-6 KB; anything far larger is not one


@dataclass
class Settings:
    secret: str
    media_url: str = "http://127.0.0.1:8081"
    origin: str = "http://127.0.0.1:5000"
    portal_url: str = "http://127.0.0.1:5000"
    report_every: float = 5.0
    grace: float = 10.0
    ice_hosts: str = ""  # comma-separated addresses offered as host candidates; empty: aioice's

    @classmethod
    def from_env(cls, env=os.environ) -> Settings:
        """Read the M4S_* variables the portal uses for the same settings."""
        secret = env.get("M4S_SECRET_KEY", "")
        if not secret:
            raise SystemExit("M4S_SECRET_KEY is not set: the media server cannot check tokens.")
        base = env.get("M4S_BASE_URL", cls.portal_url)
        return cls(
            secret=secret,
            media_url=env.get("M4S_MEDIA_URL") or cls.media_url,
            origin=env.get("M4S_MEDIA_ORIGIN") or origin_of(base),
            portal_url=base,
            report_every=float(env.get("M4S_VIDEO_REPORT_SECONDS") or cls.report_every),
            grace=float(env.get("M4S_VIDEO_GRACE_SECONDS") or cls.grace),
            ice_hosts=env.get("M4S_MEDIA_ICE_HOSTS", ""),
        )


def origin_of(url: str) -> str:
    """Return scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def offer_ice_hosts(hosts: str) -> None:
    """Offer exactly these host candidates (aioice leaves 127.0.0.1 out; loopback tests need it)."""
    addresses = [h.strip() for h in hosts.split(",") if h.strip()]
    if not addresses:
        return
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(addresses)


def _cors(settings: Settings, response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Access-Control-Allow-Origin"] = settings.origin
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    response.headers["Vary"] = "Origin"
    return response


def _refuse(settings: Settings, status: int, reason: str) -> web.Response:
    return _cors(settings, web.json_response({"error": reason}, status=status))


SETTINGS = web.AppKey("settings", Settings)
HUB = web.AppKey("hub", rtc.MediaHub)


async def _offer(request: web.Request) -> web.Response:
    """Check the token, then answer the viewer's SDP offer with the camera's stream."""
    settings: Settings = request.app[SETTINGS]
    origin = request.headers.get("Origin")
    if origin is not None and origin != settings.origin:
        return _refuse(settings, 403, "origin not allowed")
    try:
        body = await request.json()
        token, sdp, kind = str(body["token"]), str(body["sdp"]), str(body["type"])
    except (ValueError, KeyError, TypeError):
        return _refuse(settings, 400, "expected JSON {token, sdp, type}")
    if kind != "offer":
        return _refuse(settings, 400, "type must be offer")
    if len(sdp) > MAX_SDP_CHARS or "m=video" not in sdp:
        return _refuse(settings, 400, "malformed SDP offer")
    try:
        grant = read_token(settings.secret, token)
    except BadToken as exc:
        return _refuse(settings, 403, str(exc))
    try:
        answer = await request.app[HUB].answer(grant, sdp, kind)
    except ValueError as exc:
        return _refuse(settings, 400, str(exc))
    except (RuntimeError, OSError) as exc:
        log.warning("offer for camera %s failed: %s", grant.camera_id, exc)
        return _refuse(settings, 502, "camera unavailable")
    return _cors(settings, web.json_response({"sdp": answer.sdp, "type": answer.type}))


async def _preflight(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    if request.headers.get("Origin") != settings.origin:
        return web.json_response({"error": "origin not allowed"}, status=403)
    return _cors(settings, web.Response(status=204))


async def _health(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    return web.json_response({"cameras": len(hub.cameras), "viewers": len(hub.viewers)})


def build_app(settings: Settings, hub: rtc.MediaHub | None = None) -> web.Application:
    """Return the media server's aiohttp application."""
    app = web.Application(client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[HUB] = hub or rtc.MediaHub(grace=settings.grace, report_every=settings.report_every)
    app.router.add_post("/offer", _offer)
    app.router.add_route("OPTIONS", "/offer", _preflight)
    app.router.add_get("/healthz", _health)
    app.cleanup_ctx.append(_background)
    return app


async def _background(app: web.Application):
    """Connect the hub to the portal (signed reports) for the app's lifetime."""
    settings: Settings = app[SETTINGS]
    hub: rtc.MediaHub = app[HUB]
    client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
    url = settings.portal_url.rstrip("/") + "/video/internal/report"

    async def report(payload: dict) -> dict:
        body = sign_report(settings.secret, payload)
        async with client.post(url, data=body, headers={"Content-Type": "text/plain"}) as r:
            r.raise_for_status()
            return await r.json()

    if hub.report is None:
        hub.report = report
    task = asyncio.ensure_future(hub.report_loop())
    yield
    task.cancel()
    await hub.close()
    await client.close()


def serve(settings: Settings) -> None:
    """Run the media server until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s media %(message)s")
    offer_ice_hosts(settings.ice_hosts)
    parts = urlsplit(settings.media_url)
    log.info("media server on %s for origin %s", settings.media_url, settings.origin)
    web.run_app(
        build_app(settings),
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 8081,
        print=None,
        handle_signals=True,
    )


if __name__ == "__main__":
    serve(Settings.from_env())
