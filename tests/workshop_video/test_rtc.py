"""The media server with real aiortc peers over loopback: token -> offer -> answer -> frames."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription

from portal.services import bookings as booking_svc
from workshop_video import media, rtc
from workshop_video import services as svc
from workshop_video.tokens import make_token, sign_report

SECRET = "test-secret-key-" + "x" * 32
ORIGIN = "http://portal.test"
WAIT = 20  # seconds: a guard against hanging, not a timing assertion


@pytest.fixture(autouse=True)
def loopback(monkeypatch):
    """Offer 127.0.0.1 as the only host candidate (aioice leaves loopback out)."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


class Server:
    """The media server on a free port in this test's loop, reporting to the test app."""

    def __init__(self, client):
        self.client = client
        self.reports: list[dict] = []
        self.hub = rtc.MediaHub(grace=0.2, report=self.report, report_every=0.2)

    async def report(self, payload: dict) -> dict:
        self.reports.append(payload)
        answer = self.client.post("/video/internal/report", data=sign_report(SECRET, payload))
        assert answer.status_code == 200
        return answer.get_json()

    async def __aenter__(self):
        settings = media.Settings(secret=SECRET, origin=ORIGIN)
        self.runner = web.AppRunner(media.build_app(settings, self.hub))
        await self.runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # a free port, known before the site starts
        await web.SockSite(self.runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()


class Viewer:
    """A real aiortc peer that receives (and decodes) the video."""

    def __init__(self):
        self.pc = RTCPeerConnection()
        self.frames = []
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.on("track", self._track)

    def _track(self, track):
        async def eat():
            while True:
                try:
                    self.frames.append(await track.recv())
                except Exception:
                    return

        self.task = asyncio.ensure_future(eat())

    async def offer(self, url: str, token: str, origin: str = ORIGIN) -> int:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        body = {"token": token, "sdp": self.pc.localDescription.sdp, "type": "offer"}
        async with aiohttp.ClientSession() as http:
            async with http.post(url + "/offer", json=body, headers={"Origin": origin}) as r:
                if r.status != 200:
                    return r.status
                assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
                await self.pc.setRemoteDescription(RTCSessionDescription(**await r.json()))
                return 200

    async def wait_frames(self, n: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.frames) < n:
                await asyncio.sleep(0.05)


def _token(owner, booking):
    session = svc.request_video(owner, booking)
    return session, svc.issue_token(owner, session)


def test_full_flow_frames_at_the_source_rate(job, db, client):
    store, owner, advisor, booking, camera = job
    session, token = _token(owner, booking)

    async def run():
        async with Server(client) as server:
            viewer = Viewer()
            assert await viewer.offer(server.url, token) == 200
            await viewer.wait_frames(30)
            second = Viewer()  # a joiner shares the open camera
            assert await second.offer(server.url, _second_token(owner, booking, session)) == 200
            await second.wait_frames(5)
            assert len(server.hub.cameras) == 1
            await viewer.pc.close()
            await second.pc.close()
            async with asyncio.timeout(WAIT):
                while server.hub.viewers or server.hub.cameras:
                    await asyncio.sleep(0.05)
            return viewer.frames, second.frames

    frames, joined = asyncio.run(run())
    # Every frame of the 25 fps source arrives: timestamps step by 1/25 s (90 kHz clock).
    steps = {b.pts - a.pts for a, b in zip(frames[1:], frames[2:], strict=False)}
    assert steps == {3600}
    assert (frames[0].width, frames[0].height) == (640, 360)
    assert joined[0].width == 640  # the joiner decodes from its first frame: it got the GOP
    db.session.refresh(session)
    assert session.status == "ended" and session.end_reason in ("closed", "failed")
    assert session.started_at is not None


def _second_token(owner, booking, session):
    # Same owner, same session id: a reconnect replaces the first connection, so use a
    # token of a second (staff-less) session on the same camera instead.
    from workshop_video.tokens import make_token as mk

    return mk(
        SECRET,
        session_id=session.id + 1000,
        camera_id=session.camera_id,
        viewer_id=owner.id,
        booking_id=booking.id,
        source=session.camera.source,
        ttl=60,
    )


@pytest.mark.parametrize("kind", ["expired", "forged", "foreign", "origin"])
def test_bad_tokens_get_403(job, db, client, kind):
    store, owner, advisor, booking, camera = job
    session, token = _token(owner, booking)
    grant = {
        "session_id": session.id,
        "camera_id": camera.id,
        "viewer_id": owner.id,
        "booking_id": booking.id,
        "source": camera.source,
    }
    origin = ORIGIN
    if kind == "expired":
        token = make_token(SECRET, ttl=-1, **grant)
    elif kind == "forged":
        token = make_token("not-the-portal-secret-" + "z" * 32, ttl=60, **grant)
    elif kind == "foreign":
        token = sign_report(SECRET, grant)  # signed by us, but not a viewing token
    else:
        origin = "http://evil.test"

    async def run():
        async with Server(client) as server:
            viewer = Viewer()
            status = await viewer.offer(server.url, token, origin=origin)
            await viewer.pc.close()
            return status, len(server.hub.cameras)

    assert asyncio.run(run()) == (403, 0)


def test_a_stopped_session_closes_the_peer_connection(job, db, client):
    store, owner, advisor, booking, camera = job
    session, token = _token(owner, booking)

    async def run():
        async with Server(client) as server:
            viewer = Viewer()
            assert await viewer.offer(server.url, token) == 200
            await viewer.wait_frames(3)
            svc.stop_session(owner, session)  # the owner's stop button, in the portal
            db.session.commit()
            async with asyncio.timeout(WAIT):
                while viewer.pc.connectionState not in ("closed", "failed"):
                    await asyncio.sleep(0.05)
            assert session.id not in server.hub.viewers
            await viewer.pc.close()

    asyncio.run(run())


def test_the_job_leaving_in_progress_ends_the_stream(job, db, client):
    store, owner, advisor, booking, camera = job
    session, token = _token(owner, booking)

    async def run():
        async with Server(client) as server:
            viewer = Viewer()
            assert await viewer.offer(server.url, token) == 200
            await viewer.wait_frames(3)
            booking_svc.mark_ready(advisor, booking)
            db.session.commit()
            async with asyncio.timeout(WAIT):
                while session.id in server.hub.viewers:
                    await asyncio.sleep(0.05)
            await viewer.pc.close()

    asyncio.run(run())
    db.session.refresh(session)
    assert session.end_reason == "job_done"


MALFORMED_OFFERS = [
    "",
    "garbage",
    "v=0\r\nm=video x\r\n",
    "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "a=rtpmap:96\r\n",
    "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n" + "a=x\r\n" * 20_000,
]


def test_malformed_offers_get_400_and_the_server_keeps_serving(job, db, client):
    store, owner, advisor, booking, camera = job
    session, token = _token(owner, booking)

    async def run():
        statuses = []
        async with Server(client) as server:
            async with aiohttp.ClientSession() as http:
                for sdp in MALFORMED_OFFERS:
                    body = {"token": token, "sdp": sdp, "type": "offer"}
                    async with http.post(
                        server.url + "/offer", json=body, headers={"Origin": ORIGIN}
                    ) as r:
                        statuses.append(r.status)
            viewer = Viewer()
            good = await viewer.offer(server.url, token)
            await viewer.pc.close()
            return statuses, good, len(server.hub.viewers)

    statuses, good, _viewers = asyncio.run(run())
    assert statuses == [400, 400, 400, 400, 413]  # the last is over the body limit
    assert good == 200  # a refused offer left nothing behind that blocks the real one
