"""WebRTC fan-out: one camera source per camera, relayed without re-encoding to every viewer.

Runs on the media server's own asyncio loop (workshop_video.media); no Flask, no database.
The portal learns what happens here only through signed reports (see MediaHub.report_loop).
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer, MediaRelay
from aiortc.exceptions import OperationError
from aiortc.mediastreams import MediaStreamError

from workshop_video.tokens import Grant

log = logging.getLogger("m4s.media")

VIDEO_CLOCK = fractions.Fraction(1, 90000)
GOP_LIMIT = 250  # packets kept for joiners; a camera with keyframes every 1-2 s stays far below
# SEI "user data unregistered" payload carrying the wall clock at which the source produced a
# frame; the benchmark reads it from the encoded frame without decoding (browsers ignore it).
STAMP_UUID = uuid.UUID("6d347300-7669-6465-6f00-74696d657374").bytes


def stamp_sei(at_ns: int) -> bytes:
    """Return an Annex-B SEI NAL unit carrying at_ns (nanoseconds since the epoch)."""
    body = STAMP_UUID + struct.pack(">Q", at_ns)
    # payload type 5 (user data unregistered), payload size, body, rbsp trailing bits
    payload = bytes([5, len(body)]) + body + b"\x80"
    # The timestamp bytes may contain 00 00 0x: insert emulation prevention bytes.
    out, zeros = bytearray(), 0
    for byte in payload:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return b"\x00\x00\x00\x01\x06" + bytes(out)


def read_stamp(data: bytes) -> int | None:
    """Return the source wall clock (ns) stamped into an encoded frame, if there is one."""
    at = data.find(STAMP_UUID)
    if at < 0:
        return None
    raw = bytearray()
    i, zeros = at + len(STAMP_UUID), 0
    while len(raw) < 8 and i < len(data):
        byte = data[i]
        i += 1
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        raw.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return struct.unpack(">Q", bytes(raw))[0] if len(raw) == 8 else None


def load_clip(path: Path) -> tuple[list[tuple[bytes, bool]], float]:
    """Return the H.264 access units of an MPEG-TS/Annex-B file with keyframe flags, and its fps."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        units = [(bytes(p), bool(p.is_keyframe)) for p in container.demux(stream) if p.size]
    return units, fps


class ClipTrack(MediaStreamTrack):
    """A looping H.264 clip played as a live camera: packets paced at the clip's frame rate.

    MediaPlayer(loop=True) restarts the timestamps at every loop, which sends a whole clip at
    once; this track keeps the clock running and the timestamps increasing."""

    kind = "video"

    def __init__(self, units: list[tuple[bytes, bool]], fps: float, stamp: bool = True) -> None:
        super().__init__()
        self.units, self.fps, self.stamp = units, fps, stamp
        self.n = 0
        self.t0: float | None = None

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self.t0 is None:
            self.t0 = time.monotonic()
        due = self.t0 + self.n / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data, key = self.units[self.n % len(self.units)]
        if self.stamp:
            data = stamp_sei(time.time_ns()) + data
        packet = av.Packet(data)
        packet.pts = packet.dts = int(self.n * 90000 / self.fps)
        packet.time_base = VIDEO_CLOCK
        packet.is_keyframe = key
        self.n += 1
        return packet


class GopTrack(MediaStreamTrack):
    """Pass packets through and keep those since the last keyframe for the next joiner."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.source = source
        self.gop: list[av.Packet] = []

    async def recv(self) -> av.Packet:
        packet = await self.source.recv()
        if getattr(packet, "is_keyframe", False):
            self.gop = [packet]
        elif self.gop and len(self.gop) < GOP_LIMIT:
            self.gop.append(packet)
        return packet  # no await after the GOP update: the relay hands it out atomically

    def stop(self) -> None:
        super().stop()
        self.source.stop()


class GopRelay(MediaRelay):
    """MediaRelay that first hands a new buffered subscriber the current group of pictures,
    so its decoder starts at once instead of waiting for the camera's next keyframe."""

    def _start(self, proxy) -> None:
        source = proxy._source
        fresh = not getattr(proxy, "_m4s_primed", False)
        if fresh and proxy._buffered and isinstance(source, GopTrack):
            for packet in source.gop:
                proxy._queue.put_nowait(packet)
        proxy._m4s_primed = True
        super()._start(proxy)


def open_source(source: str) -> tuple[MediaStreamTrack, Callable[[], None]]:
    """Open a camera source without decoding; return its video track and a closer."""
    if source.startswith("file:") or source.endswith((".ts", ".h264", ".264")):
        units, fps = load_clip(Path(source.removeprefix("file:")))
        track = ClipTrack(units, fps)
        return track, track.stop
    options = {"rtsp_transport": "tcp"} if source.startswith("rtsp") else {}
    player = MediaPlayer(source, decode=False, options=options)
    if player.video is None:
        raise RuntimeError("the camera sends no H.264 video")
    return player.video, lambda: player.video and player.video.stop()


@dataclass
class Camera:
    """One open camera: its GOP-keeping source, the relay and who watches."""

    camera_id: int
    track: GopTrack
    close: Callable[[], None]
    relay: GopRelay = field(default_factory=GopRelay)
    viewers: set[int] = field(default_factory=set)
    idle_task: asyncio.Task | None = None


@dataclass
class Viewer:
    grant: Grant
    pc: RTCPeerConnection
    track: MediaStreamTrack | None = None
    connected_at: float | None = None


Reporter = Callable[[dict], Awaitable[dict | None]]


def h264_only(transceiver) -> None:
    """Offer only H.264 on this transceiver: the camera's packets go out as they are."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    h264 = [c for c in codecs if c.mimeType == "video/H264"]
    transceiver.setCodecPreferences(h264)


class MediaHub:
    """All cameras and viewers of this media process."""

    def __init__(
        self, *, grace: float = 10.0, report: Reporter | None = None, report_every: float = 5.0
    ) -> None:
        self.grace = grace
        self.report = report
        self.report_every = report_every
        self.cameras: dict[int, Camera] = {}
        self.viewers: dict[int, Viewer] = {}
        self.events: list[dict] = []

    def camera(self, grant: Grant) -> Camera:
        cam = self.cameras.get(grant.camera_id)
        if cam is None:
            source, close = open_source(grant.source)
            cam = Camera(grant.camera_id, GopTrack(source), close)
            self.cameras[grant.camera_id] = cam
            log.info("camera %s opened", grant.camera_id)
        if cam.idle_task is not None:
            cam.idle_task.cancel()
            cam.idle_task = None
        return cam

    async def answer(self, grant: Grant, sdp: str, kind: str) -> RTCSessionDescription:
        """Answer a viewer's offer with the camera's stream (one connection per session)."""
        old = self.viewers.get(grant.session_id)
        if old is not None:
            await self.drop(grant.session_id, "replaced")
        cam = self.camera(grant)
        pc = RTCPeerConnection()
        viewer = Viewer(grant, pc)
        self.viewers[grant.session_id] = viewer
        cam.viewers.add(grant.session_id)

        @pc.on("connectionstatechange")
        async def _state() -> None:
            state = pc.connectionState
            if state == "connected" and viewer.connected_at is None:
                viewer.connected_at = time.monotonic()
                await self.note(grant.session_id, "connected")
            elif state in ("failed", "closed"):
                await self.drop(grant.session_id, "failed" if state == "failed" else "closed")

        # The transceiver exists before the offer is applied, so that aiortc negotiates only
        # H.264 for it (preferences set after setRemoteDescription are ignored).
        viewer.track = cam.relay.subscribe(cam.track, buffered=True)
        h264_only(pc.addTransceiver(viewer.track, direction="sendonly"))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
            await pc.setLocalDescription(await pc.createAnswer())
        except OperationError as exc:
            await self.drop(grant.session_id, "failed")
            raise ValueError("the viewer does not accept H.264") from exc
        except Exception as exc:  # noqa: BLE001 aiortc's SDP parser fails in many ways on junk
            await self.drop(grant.session_id, "failed")
            raise ValueError("malformed SDP offer") from exc
        return pc.localDescription

    async def drop(self, session_id: int, reason: str) -> None:
        """Close one viewer's connection and release its camera after the grace time."""
        viewer = self.viewers.pop(session_id, None)
        if viewer is None:
            return
        await viewer.pc.close()
        if viewer.track is not None:
            viewer.track.stop()  # unsubscribe from the relay, or its queue keeps filling
        await self.note(session_id, reason)
        cam = self.cameras.get(viewer.grant.camera_id)
        if cam is not None:
            cam.viewers.discard(session_id)
            if not cam.viewers and cam.idle_task is None:
                cam.idle_task = asyncio.ensure_future(self._close_later(cam))

    async def _close_later(self, cam: Camera) -> None:
        await asyncio.sleep(self.grace)
        if not cam.viewers and self.cameras.get(cam.camera_id) is cam:
            del self.cameras[cam.camera_id]
            cam.track.stop()
            cam.close()
            log.info("camera %s closed", cam.camera_id)

    async def note(self, session_id: int, state: str) -> None:
        """Queue a connection-state change for the portal and send it at once."""
        self.events.append({"session": session_id, "state": state})
        await self.flush()

    async def flush(self) -> None:
        """Send pending events and the live sessions; stop the sessions the portal ends."""
        if self.report is None:
            self.events.clear()
            return
        events, self.events = self.events, []
        try:
            answer = await self.report({"events": events, "alive": sorted(self.viewers)})
        except Exception as exc:  # the portal may be restarting: keep the events for later
            log.warning("report failed: %s", exc)
            self.events = (events + self.events)[-1000:]  # bounded while the portal is away
            return
        for session_id in (answer or {}).get("stop", []):
            await self.drop(int(session_id), "stopped")

    async def report_loop(self) -> None:
        """Report live sessions every few seconds: the portal's heartbeat and revocation."""
        while True:
            await asyncio.sleep(self.report_every)
            await self.flush()

    async def close(self) -> None:
        for session_id in list(self.viewers):
            await self.drop(session_id, "closed")
        for cam in list(self.cameras.values()):
            if cam.idle_task:
                cam.idle_task.cancel()
            cam.track.stop()
            cam.close()
        self.cameras.clear()
