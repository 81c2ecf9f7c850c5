"""Short video clips from phones, decoded with PyAV: a quick look at an upload (container,
picture, length) and the worker's transcoding to a small phone-friendly video and a poster.

Nothing here trusts a file's name or content type: the container is recognised from its first
bytes (MP4/QuickTime/3GP or WebM/Matroska only) and opened with that demuxer named, so that
ffmpeg never guesses a playlist, an image sequence or a text file into a "video". The output is
a new container written from decoded pixels: no tag, location or other metadata of the upload
survives, like photos re-encoded without EXIF. Sound is dropped: a workshop clip's sound is
mostly people talking (staff, customers), which an owner's page should not carry, and without
it the clip is smaller on the owner's mobile data; the note says what a noise was.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image as PILImage

# The containers phones record: ISO base media (mp4, mov, 3gp) and Matroska (webm).
MP4_DEMUXER, MATROSKA_DEMUXER = "mp4", "matroska"
# Frames per second of the output at most; faster clips lose frames, slower keep theirs.
OUTPUT_FPS = 30
POSTER_AT_SECONDS = 0.5  # the first frame is often black or blurred
POSTER_QUALITY = 80
MAX_INPUT_SIDE = 8192  # larger pictures are refused undecoded


class ClipRefused(Exception):
    """A clip that cannot be used; ``code`` names why (see the inspections' clip labels)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Probe:
    """What a quick look at an upload found: its picture's size and its length (None when the
    container does not say, as a browser's recording often does not)."""

    width: int
    height: int
    seconds: float | None


@dataclass(frozen=True)
class Transcoded:
    video: bytes
    poster: bytes
    content_type: str
    width: int
    height: int
    duration_ms: int


@dataclass(frozen=True)
class Encoder:
    codec: str
    container: str
    content_type: str
    options: dict


def encoder() -> Encoder:
    """Return H.264 in MP4 when this PyAV build can encode it, else VP8 in WebM."""
    if "libx264" in av.codecs_available:
        return Encoder(
            "libx264",
            "mp4",
            "video/mp4",
            {"preset": "veryfast", "crf": "28", "profile": "main", "maxrate": "1500k",
             "bufsize": "3000k"},
        )  # fmt: skip
    return Encoder("libvpx", "webm", "video/webm", {"crf": "30", "b": "1200k", "deadline": "good"})


def demuxer(data: bytes) -> str | None:
    """Return the demuxer for the upload's first bytes, or None for anything else."""
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return MATROSKA_DEMUXER
    if data[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return MP4_DEMUXER
    return None


def _open(data: bytes):
    fmt = demuxer(data)
    if fmt is None:
        raise ClipRefused("not_video")
    try:
        return av.open(io.BytesIO(data), format=fmt)
    except (av.FFmpegError, ValueError, OSError):
        raise ClipRefused("not_video") from None


def _seconds(container, stream) -> float | None:
    if container.duration:
        return container.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def probe(data: bytes, max_seconds: float) -> Probe:
    """Look at an upload: refuse what is not a video clip, has no picture or is too long
    (as far as its header says), and decode its first frame to be sure it is one."""
    container = _open(data)
    with container:
        if not container.streams.video:
            raise ClipRefused("no_video")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if not (0 < width <= MAX_INPUT_SIDE and 0 < height <= MAX_INPUT_SIDE):
            raise ClipRefused("not_video")
        seconds = _seconds(container, stream)
        if seconds is not None and seconds > max_seconds + 0.5:
            raise ClipRefused("too_long")
        try:
            frame = next(container.decode(stream), None)
        except (av.FFmpegError, ValueError):
            frame = None
        if frame is None:
            raise ClipRefused("not_video")
    return Probe(width, height, seconds)


def output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Return the size scaled so that its long side is at most max_side, both sides even."""
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _upright(frame, size: tuple[int, int]) -> PILImage.Image:
    """Return the frame as an upright picture of the given size (phones record sideways and
    say how to turn the picture; the new file carries no such note, so the pixels turn)."""
    rotation = (frame.rotation or 0) % 360
    if rotation in (90, 270):
        image = frame.to_image(width=size[1], height=size[0])
        return image.rotate(rotation, expand=True)
    image = frame.to_image(width=size[0], height=size[1])
    return image.rotate(rotation) if rotation else image


def transcode(data: bytes, max_seconds: float, max_side: int) -> Transcoded:
    """Decode the upload and encode its picture again, scaled, with a JPEG poster frame."""
    enc = encoder()
    with tempfile.TemporaryDirectory(prefix="m4s-clip-") as folder:
        path = Path(folder) / f"clip.{enc.container}"
        with _open(data) as source:
            if not source.streams.video:
                raise ClipRefused("no_video")
            stream = source.streams.video[0]
            stream.thread_type = "AUTO"
            options = {"movflags": "+faststart"} if enc.container == "mp4" else {}
            with av.open(str(path), "w", format=enc.container, options=options) as out:
                size, poster, last = _encode(source, stream, out, enc, max_seconds, max_side)
        video = path.read_bytes()
    jpeg = io.BytesIO()
    poster.save(jpeg, format="JPEG", quality=POSTER_QUALITY, optimize=True)
    return Transcoded(video, jpeg.getvalue(), enc.content_type, *size, round(last * 1000))


def _encode(source, stream, out, enc: Encoder, max_seconds: float, max_side: int):
    """Encode the source's frames into out; return (size, poster picture, last frame time)."""
    target = None
    poster = None
    last_pts, last_time = -1, 0.0
    time_base = Fraction(1, OUTPUT_FPS)
    try:
        for frame in source.decode(stream):
            seconds = float(frame.time or 0.0)
            if seconds > max_seconds + 0.5:
                raise ClipRefused("too_long")
            pts = round(seconds * OUTPUT_FPS)
            if pts <= last_pts:
                continue  # faster than the output's frame rate: this frame is dropped
            if target is None:
                target = _start(out, enc, frame, max_side)
            picture = _upright(frame, (target.width, target.height))
            if poster is None or seconds <= POSTER_AT_SECONDS:
                poster = picture
            encoded = av.VideoFrame.from_image(picture).reformat(format="yuv420p")
            encoded.pts, encoded.time_base = pts, time_base
            out.mux(target.encode(encoded))
            last_pts, last_time = pts, seconds
    except av.FFmpegError:
        raise ClipRefused("unreadable") from None
    if target is None:
        raise ClipRefused("not_video")
    out.mux(target.encode(None))
    return (target.width, target.height), poster, last_time


def _start(out, enc: Encoder, frame, max_side: int):
    """Add the output's video stream, sized from the first frame turned upright."""
    width, height = frame.width, frame.height
    if (frame.rotation or 0) % 180:
        width, height = height, width
    target = out.add_stream(enc.codec, rate=OUTPUT_FPS, options=dict(enc.options))
    target.width, target.height = output_size(width, height, max_side)
    target.pix_fmt = "yuv420p"
    target.codec_context.time_base = Fraction(1, OUTPUT_FPS)
    return target
