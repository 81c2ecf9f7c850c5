"""Camera sources hold credentials: mask them for pages and logs, keep them on edit."""

from __future__ import annotations

from urllib.parse import urlsplit

MASK = "***"


def mask_source(source: str) -> str:
    """Return the source with its password replaced by ***, for pages and logs."""
    parts = urlsplit(source)
    if parts.password is None:
        return source
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def merge_source(stored: str, submitted: str) -> str:
    """Return the source to save: a blank field or a masked password keeps the stored one."""
    submitted = (submitted or "").strip()
    if not submitted:
        return stored
    new = urlsplit(submitted)
    if new.password != MASK:
        return submitted
    old = urlsplit(stored)
    if old.password is None:  # nothing to keep: drop the placeholder instead of saving it
        return new._replace(netloc=new.netloc.replace(f":{MASK}@", "@")).geturl()
    return new._replace(netloc=new.netloc.replace(f":{MASK}@", f":{old.password}@")).geturl()
