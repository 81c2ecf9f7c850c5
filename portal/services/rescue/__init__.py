"""Roadside rescue: the owner's request, the advisor's steps, escalation to the managers."""

from portal.services.rescue.core import (
    PROBLEM_LABELS,
    STATUS_LABELS,
    can_cancel,
    escalation,
    open_count,
    open_rescues,
    owned_rescue,
    problem_label,
    status_label,
    store_rescue,
)
from portal.services.rescue.overdue import ESCALATIONS, escalate
from portal.services.rescue.owner import PHONE_RE, cancel, request_rescue
from portal.services.rescue.staff import (
    MAX_ETA_MINUTES,
    arrive,
    claim,
    dispatch,
    reassign,
    resolve,
    update_eta,
)
from portal.services.rescue_help import call_lines, map_links, tel_href

__all__ = [
    "ESCALATIONS",
    "MAX_ETA_MINUTES",
    "PHONE_RE",
    "PROBLEM_LABELS",
    "STATUS_LABELS",
    "arrive",
    "call_lines",
    "can_cancel",
    "cancel",
    "claim",
    "dispatch",
    "escalate",
    "escalation",
    "map_links",
    "open_count",
    "open_rescues",
    "owned_rescue",
    "problem_label",
    "reassign",
    "request_rescue",
    "resolve",
    "status_label",
    "store_rescue",
    "tel_href",
    "update_eta",
]
