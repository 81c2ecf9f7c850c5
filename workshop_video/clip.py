"""The demo camera: an H.264 clip with a burned-in clock and frame counter, made with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont


def _font(size: int):
    for path in (
        "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ):
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def make_clip(
    path: Path, *, seconds: int = 8, fps: int = 25, width: int = 1280, height: int = 720
) -> Path:
    """Write an MPEG-TS H.264 clip (baseline, no B-frames, keyframe every second, SPS/PPS in
    band) like a well-configured bay camera sends; return its path. Existing clips are kept."""
    path = Path(path)
    if path.exists() and path.stat().st_size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    font, small = _font(height // 8), _font(height // 20)
    with av.open(str(tmp), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.bit_rate = 1_500_000
        stream.options = {
            "profile": "baseline",
            "preset": "veryfast",
            "tune": "zerolatency",
            "g": str(fps),
            "keyint_min": str(fps),
            "bf": "0",
            "x264-params": "repeat-headers=1:scenecut=0",
        }
        for n in range(seconds * fps):
            img = Image.new("RGB", (width, height), (28, 42, 58))
            draw = ImageDraw.Draw(img)
            # a moving bar so that motion is visible, the bay label, and the clock
            x = int((n / (seconds * fps)) * (width - 200))
            draw.rectangle([x, height - 120, x + 200, height - 60], fill=(230, 160, 40))
            draw.text((40, 40), "M4S BAY 1", font=small, fill=(200, 220, 240))
            secs = n / fps
            clock = f"{int(secs // 60):02d}:{secs % 60:05.2f}"
            draw.text((40, height // 3), clock, font=font, fill=(255, 255, 255))
            draw.text((40, height // 3 + height // 6), f"#{n:05d}", font=small, fill=(255, 255, 0))
            frame = av.VideoFrame.from_image(img)
            frame.pts = n
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    tmp.replace(path)
    return path
