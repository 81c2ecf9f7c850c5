"""Help for owners and the staff manual per role: short topics, in both languages (the
catalogues), each with a screenshot that the browser journeys take (tests/e2e/shots.py), so
the pictures are of today's screens."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

SHOTS = Path(__file__).resolve().parent.parent / "static" / "help"


@dataclass(frozen=True)
class Topic:
    slug: str
    title: object  # lazy strings: Chinese or English at render time
    text: object
    shot: str = ""  # static/help/<shot>.png, taken by a browser journey


OWNER_TOPICS: tuple[Topic, ...] = (
    Topic(
        "cars",
        _l("Add your car"),
        _l(
            "Open My cars and tap Add a car. Enter the VIN (the 17 characters on your "
            "registration certificate), the plate and the mileage."
        ),
        "owner-home",
    ),
    Topic(
        "booking",
        _l("Book a repair or a service"),
        _l(
            "Choose the car, the store, a free slot and what needs doing, and add photos if "
            "something is wrong. The store accepts or proposes another time, and the booking's "
            "page shows each step."
        ),
        "owner-booking",
    ),
    Topic(
        "schedule",
        _l("Maintenance schedule"),
        _l(
            "Each car's page lists the items due by mileage and time, with what other owners "
            "chose. Tick the items and book them in one go."
        ),
        "owner-schedule",
    ),
    Topic(
        "watch",
        _l("Watch your car in the bay"),
        _l("While your car is worked on, tap Watch my car on its job to see the bay's live video."),
        "owner-watch",
    ),
    Topic(
        "rescue",
        _l("Roadside rescue"),
        _l(
            "Tap SOS at the top, share your location or type the address, and choose the "
            "problem. The page shows who is coming and when. In danger, call 122 or 120 first."
        ),
        "owner-rescue",
    ),
    Topic(
        "sell",
        _l("Sell your car"),
        _l(
            "Under Sell my car, describe the car and add photos; the store vets it and tells "
            "you each step."
        ),
        "owner-sell",
    ),
    Topic(
        "shop",
        _l("Accessories shop"),
        _l("Pay online, or pay at the store on the pickup day you choose."),
        "owner-shop",
    ),
    Topic(
        "privacy",
        _l("Your personal information"),
        _l(
            "Under Me you can download everything we hold about you, choose what we may send "
            "you, or delete your account (you have 7 days to change your mind)."
        ),
        "owner-privacy",
    ),
)

_TODAY = Topic(
    "today",
    _l("Your day"),
    _l(
        "After signing in you land on Today: overdue tasks first, then today's, each call "
        "logged in one tap. At closing time the system plans tomorrow; reorder it under "
        "Tomorrow's plan."
    ),
    "advisor-today",
)
STAFF_MANUAL: dict[str, tuple[Topic, ...]] = {
    "advisor": (
        _TODAY,
        Topic(
            "workshop",
            _l("Bookings and the workshop"),
            _l(
                "Accept a booking or propose another time in the queue, move jobs along the "
                "workshop board, and send the owner the repair status link at check-in."
            ),
            "advisor-workshop",
        ),
        Topic(
            "sales",
            _l("Leads and sales"),
            _l(
                "A new lead reaches you with a first-contact task due in minutes. Walk it "
                "through the test drive, the quote, the order and the delivery checklist."
            ),
            "advisor-order",
        ),
    ),
    "manager": (
        Topic(
            "approvals",
            _l("What waits for your decision"),
            _l(
                "Cancelling a task, marking a lead lost and a discount over the limit wait for "
                "you under Task approvals and on the quote; the first decision wins."
            ),
            "manager-approvals",
        ),
        Topic(
            "settings",
            _l("Store settings"),
            _l(
                "Set the routing rules and the duty roster, complaint deadlines, survey "
                "questions, stock and cameras."
            ),
            "manager-settings",
        ),
        Topic(
            "reports",
            _l("Reports and charts"),
            _l(
                "Analytics, the sales funnel, speed to lead, complaints and satisfaction are "
                "charts, and every list exports."
            ),
            "manager-reports",
        ),
    ),
    "admin": (
        Topic(
            "accounts",
            _l("Stores and staff"),
            _l(
                "Create stores and staff accounts. A locked account is unlocked by two "
                "colleagues. Manage API tokens and webhooks."
            ),
            "admin-accounts",
        ),
    ),
    "agent": (
        Topic(
            "console",
            _l("The call console"),
            _l(
                "Type or paste the caller's number: their card opens at once, or a new-lead "
                "form with the number filled in. Work the outbound queue from the top; keys 1 "
                "to 5 log the outcome."
            ),
            "agent-console",
        ),
        _TODAY,
    ),
    "hq": (
        Topic(
            "compare",
            _l("Comparing stores"),
            _l(
                "The group dashboard compares the stores side by side with the group median; "
                "a figure from too few records is not shown."
            ),
            "hq-compare",
        ),
    ),
}
STAFF_MANUAL["region"] = STAFF_MANUAL["hq"]
STAFF_MANUAL["manufacturer"] = STAFF_MANUAL["hq"]
STAFF_MANUAL["technician"] = (
    Topic(
        "jobs",
        _l("My jobs"),
        _l(
            "After signing in you land on My jobs: the jobs assigned to you today and those in "
            "the workshop, with the car, what the owner reported and the job card's lines. "
            "Start or continue each car's inspection from there; once you mark it finished, "
            "the advisor is told, checks the prices and sends it to the owner. Then the "
            "inspection's page shows you the owner's decisions as they come in."
        ),
        "technician-jobs",
    ),
)


@lru_cache(maxsize=64)
def has_shot(name: str) -> bool:
    """Tell whether a journey has taken the topic's screenshot."""
    return bool(name) and (SHOTS / f"{name}.png").is_file()
