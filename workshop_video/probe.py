"""Camera checks with PyAV: can the source be opened, and what does one frame look like.

No Flask and no database here. Error texts from FFmpeg quote the URL, password included, so
every message leaving this module goes through `mask_source` first.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import urlsplit

import av

from workshop_video.sources import MASK, mask_source


@dataclass(frozen=True)
class Probe:
    ok: bool
    error: str = ""  # masked, short
    jpeg: bytes | None = None


def _safe(exc: Exception, source: str) -> str:
    text = str(exc) or type(exc).__name__
    password = urlsplit(source).password
    text = text.replace(source, mask_source(source))
    if password:
        text = text.replace(password, MASK)
    return text[:200]


def _open(source: str, timeout: float):
    path = source.removeprefix("file:")
    options = {}
    if path.startswith("rtsp"):
        # FFmpeg's socket timeout is in microseconds; PyAV's own covers open and each read.
        options = {"rtsp_transport": "tcp", "timeout": str(int(timeout * 1_000_000))}
    return av.open(path, options=options, timeout=(timeout, timeout))


def check(source: str, timeout: float = 3.0, *, frame: bool = False) -> Probe:
    """Open the source (and decode one video frame as JPEG when asked); never raise."""
    try:
        with _open(source, timeout) as container:
            if not container.streams.video:
                return Probe(False, "no video stream")
            if not frame:
                return Probe(True)
            for picture in container.decode(video=0):
                out = io.BytesIO()
                picture.to_image().save(out, format="JPEG", quality=80)
                return Probe(True, jpeg=out.getvalue())
            return Probe(False, "no frame")
    except Exception as exc:  # noqa: BLE001  (any failure means offline, with its reason)
        return Probe(False, _safe(exc, source))
