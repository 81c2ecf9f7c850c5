"""The channel interface: one outgoing message, and the error an adapter raises."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from portal.services.outbox import DeliveryError

__all__ = ["DeliveryError", "Message", "post", "check_http_status", "template_for"]

# How long an adapter waits for a provider; the worker retries later, so keep it short.
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Message:
    """What an adapter sends: the recipient, the text and the template parameters.

    kind picks the provider template (SMS and WeChat only send approved templates);
    params are its named values, in the template's order."""

    recipient: str
    kind: str
    subject: str = ""
    body: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    link: str = ""
    message_id: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


# An adapter: (settings, message) -> None, or DeliveryError.
Adapter = Callable[[Mapping[str, Any], Message], None]


def post(url: str, **kwargs) -> requests.Response:
    """POST to a provider; a network failure becomes a retryable DeliveryError."""
    try:
        return requests.post(url, timeout=TIMEOUT_SECONDS, **kwargs)
    except requests.RequestException as exc:
        raise DeliveryError(f"cannot reach {url}: {exc.__class__.__name__}") from exc


def check_http_status(response: requests.Response, provider: str) -> None:
    """Raise for an HTTP failure: 5xx and 429 are worth a retry, other 4xx are not."""
    status = response.status_code
    if status < 400:
        return
    retryable = status >= 500 or status in (408, 429)
    raise DeliveryError(f"{provider} answered HTTP {status}", retryable=retryable)


def template_for(settings: Mapping[str, Any], key: str, kind: str) -> str:
    """Return the provider template configured for this kind of message, or fail for good."""
    templates = settings.get(key) or {}
    template = templates.get(kind) or templates.get("default")
    if not template:
        raise DeliveryError(f"no {key} entry for {kind!r}", retryable=False)
    return str(template)
