"""Camera checks with PyAV: can the source be opened, and what does one frame look like.

No Flask and no database here. A failure reads the same whatever its cause (refused, timed
out, not a video): the Check button must not tell a port scanner or a file prober anything.
FFmpeg's own text quotes the URL, password included: it goes to the log masked, nowhere else.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import av

from workshop_video.sources import MASK, mask_source

log = logging.getLogger(__name__)

NO_ANSWER = "no_answer"  # the one failure a check reports
NOT_ALLOWED = "not_allowed"  # not opened: the address is off the camera networks


@dataclass(frozen=True)
class Probe:
    ok: bool
    error: str = ""  # NO_ANSWER or NOT_ALLOWED
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
            if container.streams.video:
                if not frame:
                    return Probe(True)
                for picture in container.decode(video=0):
                    out = io.BytesIO()
                    picture.to_image().save(out, format="JPEG", quality=80)
                    return Probe(True, jpeg=out.getvalue())
            log.info("camera check %s: no video", mask_source(source))
    except Exception as exc:  # noqa: BLE001  (any failure means offline)
        log.info("camera check %s: %s", mask_source(source), _safe(exc, source))
    return Probe(False, NO_ANSWER)
