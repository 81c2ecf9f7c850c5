"""How leads read to people: the labels of stages, states, sources, timeframes, lost reasons
and timeline events, in both languages (crm.leads re-exports them for its callers)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.lead_import_models import PLATFORM_LABELS

STAGE_LABELS = {
    "new": _l("New"),
    "contacted": _l("Contacted"),
    "visited": _l("Visited the store"),
    "test_drive": _l("Test drive"),
    "quote": _l("Quote"),
    "order": _l("Order"),
    "delivered": _l("Delivered"),
}
STATE_LABELS = {
    "open": _l("Open"),
    "lost_pending": _l("Lost, awaiting approval"),
    "lost": _l("Lost"),
    "won": _l("Delivered"),
}
SOURCE_LABELS = {
    "portal": _l("Portal"),
    "phone": _l("Phone call"),
    "walk_in": _l("Walk-in"),
    "import": _l("Import"),
    "referral": _l("Referral"),
    **PLATFORM_LABELS,
    "campaign": _l("Campaign"),
    "used_car": _l("Used-car inquiry"),
    "trade_in": _l("Trade-in valuation"),
}
TIMEFRAME_LABELS = {
    "7d": _l("Within a week"),
    "15d": _l("Within 15 days"),
    "30d": _l("Within a month"),
    "90d": _l("Within 3 months"),
    "later": _l("Later or not sure"),
}
LOST_REASON_LABELS = {
    "competitor": _l("Bought a competitor's brand"),
    "elsewhere": _l("Bought at another dealer"),
    "postponed": _l("Postponed the purchase"),
    "budget": _l("Over budget"),
    "unreachable": _l("Cannot be reached"),
    "other": _l("Other"),
}
EVENT_LABELS = {
    "created": _l("Lead received"),
    "repeat": _l("Asked again"),
    "stage": _l("Stage reached"),
    "lost_asked": _l("Lost, asked for approval"),
    "lost_approved": _l("Lost, approved"),
    "lost_refused": _l("Lost refused: back to work"),
    "reassigned": _l("Reassigned"),
    "call": _l("Call logged"),
}
