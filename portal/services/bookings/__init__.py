"""Repair bookings: the owner's verbs and the workshop's, each change a row in the timeline."""

from portal.services.bookings.owner import (
    answer_proposal,
    book_repair,
    can_cancel,
    cancel_booking,
    edit_booking,
    rate,
    reschedule,
)
from portal.services.bookings.staff import SOURCE_LABELS, enter_job, may_enter_jobs, source_label
from portal.services.bookings.status_link import (
    begin_quality_check,
    booking_from_link,
    repair_steps,
    resend_link,
)
from portal.services.bookings.timeline import (
    STATUS_LABELS,
    owned_booking,
    status_label,
    store_booking,
)
from portal.services.bookings.workshop import (
    PROPOSE_REASON_LABELS,
    REASON_LABELS,
    accept,
    add_progress,
    check_in,
    complete,
    mark_no_show,
    mark_ready,
    proposal_reason_label,
    propose,
    reason_label,
    reject,
    start_work,
)

__all__ = [
    "PROPOSE_REASON_LABELS",
    "REASON_LABELS",
    "SOURCE_LABELS",
    "STATUS_LABELS",
    "accept",
    "add_progress",
    "answer_proposal",
    "begin_quality_check",
    "booking_from_link",
    "book_repair",
    "can_cancel",
    "cancel_booking",
    "check_in",
    "complete",
    "edit_booking",
    "enter_job",
    "mark_no_show",
    "may_enter_jobs",
    "mark_ready",
    "owned_booking",
    "proposal_reason_label",
    "propose",
    "rate",
    "reason_label",
    "reject",
    "repair_steps",
    "resend_link",
    "reschedule",
    "source_label",
    "start_work",
    "status_label",
    "store_booking",
]
