"""Camera sources hold credentials: mask them for pages and logs, keep them on edit only for
the same camera address, and open only addresses on the installer's camera networks."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

MASK = "***"
SCHEMES = {"rtsp": 554, "rtsps": 322}  # scheme -> default port
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class CredentialsNeeded(ValueError):
    """The masked password was kept while the camera's scheme, host or port changed."""


def mask_source(source: str) -> str:
    """Return the source with its password replaced by ***, for pages and logs."""
    parts = urlsplit(source)
    if parts.password is None:
        return source
    netloc = f"{parts.username or ''}:{MASK}@{_host(parts)}" + (
        f":{parts.port}" if parts.port else ""
    )
    return parts._replace(netloc=netloc).geturl()


def _host(parts: SplitResult) -> str:
    host = parts.hostname or ""
    return f"[{host}]" if ":" in host else host  # an IPv6 literal


def _endpoint(parts: SplitResult) -> tuple[str, str, int | None]:
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or SCHEMES.get(scheme)


def merge_source(stored: str, submitted: str) -> str:
    """Return the source to save: a blank field or a masked password keeps the stored one,
    but only for the same scheme, host and port (else raise CredentialsNeeded)."""
    submitted = (submitted or "").strip()
    if not submitted:
        return stored
    new = urlsplit(submitted)
    if new.password != MASK:
        return submitted
    old = urlsplit(stored)
    if old.password is None:  # nothing to keep: drop the placeholder instead of saving it
        return new._replace(netloc=new.netloc.replace(f":{MASK}@", "@")).geturl()
    try:
        moved = _endpoint(new) != _endpoint(old)
    except ValueError as exc:  # a port that is no number
        raise CredentialsNeeded() from exc
    if moved:
        raise CredentialsNeeded()
    return new._replace(netloc=new.netloc.replace(f":{MASK}@", f":{old.password}@")).geturl()


def parse_networks(text: str) -> list[Network]:
    """Parse a comma-separated CIDR list (the M4S_CAMERA_ALLOWED_NETWORKS setting)."""
    return [ipaddress.ip_network(n.strip(), strict=False) for n in text.split(",") if n.strip()]


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def allowed_target(source: str, networks: list[Network], clip_dir: Path | None) -> str | None:
    """Return what a check may open for this source, or None: an rtsp(s) URL whose host is
    pinned to an address on the camera networks, or a file in the demo clip folder."""
    if source.startswith("file:"):
        if clip_dir is None:
            return None
        path = Path(source.removeprefix("file:")).resolve()
        return source if path.is_relative_to(clip_dir.resolve()) else None
    parts = urlsplit(source)
    try:
        scheme, host, port = _endpoint(parts)
    except ValueError:  # a port that is no number
        return None
    if scheme not in SCHEMES or not host:
        return None
    addresses = _addresses(host, port)
    if not addresses or not all(any(a in n for n in networks) for a in addresses):
        return None
    # Open the address that was checked, so a second DNS answer cannot point elsewhere.
    pinned = f"[{addresses[0]}]" if addresses[0].version == 6 else str(addresses[0])
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (
        (f"{userinfo}@" if userinfo else "") + pinned + (f":{parts.port}" if parts.port else "")
    )
    return parts._replace(netloc=netloc).geturl()
