"""Load-test the media server: one 720p25 H.264 camera, N cheap viewers, loopback only.

Starts `python -m workshop_video.media` as its own process (loopback ICE, a stub portal in this
process answers its reports), then for N in 1, 25, 50, 100, 150 connects N aiortc viewers that
count frames without decoding, and measures for a few seconds:
- the media process's CPU (from /proc, in % of one core);
- each viewer's frames per second (frames = RTP packets with the marker bit);
- latency: the source stamps its wall clock into each frame (an SEI NAL, see workshop_video.rtc);
  a viewer reads it from the first RTP packet of the frame as it arrives, so nothing is decoded
  and the receiver's jitter buffer is left out: this is the latency the server adds;
- time to first frame of each joiner, from sending the offer (the camera is already open).
Writes bench/results/video.json and appends a line to bench/RESULTS.md (not with --quick).

    python -m bench.run_video                 # N = 1, 25, 50, 100, 150; 5 s each
    python -m bench.run_video --quick         # N = 1, 10; 2 s each, nothing recorded
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shlex
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
FPS = 25


def _loopback() -> None:
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def _cheap_receivers() -> None:
    """Count frames and read stamps as RTP packets arrive; never decode."""
    import aiortc.rtcrtpreceiver as rr

    from workshop_video.rtc import read_stamp

    class NoDecoder:
        def decode(self, encoded_frame):
            return []

    rr.get_decoder = lambda codec: NoDecoder()
    original = rr.RTCRtpReceiver._handle_rtp_packet

    async def handle(self, packet, arrival_time_ms):
        stats = getattr(self, "m4s_stats", None)
        if stats is not None:
            now_ns = time.time_ns()
            stamp = read_stamp(packet.payload[:64]) if len(packet.payload) > 20 else None
            if stamp is not None:
                if stats["first"] is None:
                    stats["first"] = now_ns
                if stats["measure"]:
                    stats["lat"].append((now_ns - stamp) / 1e6)
            if packet.marker and stats["measure"]:
                stats["frames"] += 1
            return  # a cheap viewer: no jitter buffer, no NACKs, no decoding
        await original(self, packet, arrival_time_ms)

    rr.RTCRtpReceiver._handle_rtp_packet = handle


class Viewer:
    def __init__(self):
        from aiortc import RTCPeerConnection

        self.pc = RTCPeerConnection()
        self.pc.addTransceiver("video", direction="recvonly")
        self.stats = {"first": None, "frames": 0, "lat": [], "measure": False}
        self.sent = 0

    async def join(self, http, url: str, token: str) -> None:
        from aiortc import RTCSessionDescription

        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.pc.getReceivers()[0].m4s_stats = self.stats
        self.sent = time.time_ns()
        body = {"token": token, "sdp": self.pc.localDescription.sdp, "type": "offer"}
        async with http.post(url + "/offer", json=body) as r:
            r.raise_for_status()
            await self.pc.setRemoteDescription(RTCSessionDescription(**await r.json()))

    @property
    def ttff(self) -> float | None:
        return (self.stats["first"] - self.sent) / 1e9 if self.stats["first"] else None


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


async def _stub_portal(port: int) -> web.AppRunner:
    async def report(request):
        return web.json_response({"stop": []})

    app = web.Application()
    app.router.add_post("/video/internal/report", report)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def run_level(n, url, tokens, pid, seconds) -> dict:
    viewers = [Viewer() for _ in range(n)]
    async with aiohttp.ClientSession() as http:
        for i, v in enumerate(viewers):  # joiners arrive one after another, like owners do
            await v.join(http, url, tokens[i])
        deadline = time.monotonic() + 20
        while any(v.ttff is None for v in viewers) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        hz = os.sysconf("SC_CLK_TCK")
        t0, c0 = time.monotonic(), _cpu_ticks(pid)
        for v in viewers:
            v.stats["measure"] = True
        await asyncio.sleep(seconds)
        for v in viewers:
            v.stats["measure"] = False
        elapsed, c1 = time.monotonic() - t0, _cpu_ticks(pid)
    fps = [v.stats["frames"] / elapsed for v in viewers]
    lat = [x for v in viewers for x in v.stats["lat"]]
    ttff = [v.ttff for v in viewers if v.ttff is not None]
    for v in viewers:
        await v.pc.close()
    return {
        "viewers": n,
        "connected": len(ttff),
        "cpu_pct": round(100 * (c1 - c0) / hz / elapsed, 1),
        "fps_min": round(min(fps), 1),
        "fps_p50": round(statistics.median(fps), 1),
        "latency_p50_ms": round(_pct(lat, 50), 1),
        "latency_p95_ms": round(_pct(lat, 95), 1),
        "ttff_p50_s": round(_pct(ttff, 50), 3),
        "ttff_p95_s": round(_pct(ttff, 95), 3),
    }


async def main(levels: list[int], seconds: float) -> list[dict]:
    from workshop_video.clip import make_clip
    from workshop_video.tokens import make_token

    _loopback()
    _cheap_receivers()
    clip = make_clip(DATA / "video-720p25.ts", seconds=8, fps=FPS)
    secret = secrets.token_hex(32)
    media_port, portal_port = _free(), _free()
    url = f"http://127.0.0.1:{media_port}"
    portal = await _stub_portal(portal_port)
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        M4S_SECRET_KEY=secret,
        M4S_MEDIA_URL=url,
        M4S_BASE_URL=f"http://127.0.0.1:{portal_port}",
        M4S_MEDIA_ICE_HOSTS="127.0.0.1",
        M4S_VIDEO_GRACE_SECONDS="30",
    )
    log = (DATA / "media-bench.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "workshop_video.media"], env=env, stdout=log, stderr=log
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1).close()  # noqa: S310
                break
            except OSError:
                await asyncio.sleep(0.1)
        sid = iter(range(1, 10**6))
        out = []
        for n in levels:
            tokens = [
                make_token(
                    secret, session_id=next(sid), camera_id=1, viewer_id=1, booking_id=1,
                    source=f"file:{clip}", ttl=300,
                )
                for _ in range(n)
            ]  # fmt: skip
            result = await run_level(n, url, tokens, proc.pid, seconds)
            print(json.dumps(result), flush=True)
            out.append(result)
            await asyncio.sleep(1.0)
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        await portal.cleanup()


def _free() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summarise(rows: list[dict]) -> dict:
    """Return the headline numbers: latency and CPU at 100 viewers (the goal), joiners' first
    frame over the levels where the camera was already open (N >= 25)."""
    full = [r["viewers"] for r in rows if r["connected"] == r["viewers"] and r["fps_min"] >= 24]
    at100 = next((r for r in rows if r["viewers"] == 100), rows[-1])
    joiners = [r for r in rows if r["viewers"] >= 25] or rows
    return {
        "max_viewers_full_fps": max(full) if full else 0,
        "latency_p50_ms": at100["latency_p50_ms"],
        "latency_p95_ms": at100["latency_p95_ms"],
        "ttff_join_p50_s": round(statistics.median(r["ttff_p50_s"] for r in joiners), 3),
        "cpu_pct_at_100": at100["cpu_pct"],
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="1,25,50,100,150")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    levels = [1, 10] if args.quick else [int(x) for x in args.levels.split(",")]
    seconds = 2.0 if args.quick else args.seconds
    DATA.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    rows = asyncio.run(main(levels, seconds))
    summary = {**summarise(rows), "levels": rows, "load_before": round(load, 2)}
    print(json.dumps(summary, indent=2))
    if args.quick:
        return
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "video.json").write_text(json.dumps(summary, indent=2) + "\n")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    command = "python -m bench.run_video " + shlex.join(sys.argv[1:])
    line = (
        f"- {datetime.now(UTC):%Y-%m-%d} · `{commit}` · media server, one 720p25 H.264 camera, "
        f"load {load:.2f} before: full 25 fps up to {summary['max_viewers_full_fps']} viewers, "
        f"latency at 100 viewers p50 {summary['latency_p50_ms']} ms / "
        f"p95 {summary['latency_p95_ms']} ms, "
        f"joiner first frame p50 {summary['ttff_join_p50_s']} s, "
        f"media CPU at 100 viewers {summary['cpu_pct_at_100']} %, `{command.strip()}`\n"
    )
    with (ROOT / "bench" / "RESULTS.md").open("a") as f:
        f.write(line)


if __name__ == "__main__":
    cli()
