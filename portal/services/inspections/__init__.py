"""Digital vehicle inspections: staff or the job's technician record one from a template,
the store's staff send it; the owner approves or declines each recommendation through a
signed link; approved items become job lines, declined ones reminders; managers read the
funnel."""

from portal.services.inspections.decisions import (
    decide,
    inspection_from_link,
    link_path,
    link_token,
    mark_opened,
    other_owners,
    send_declined_reminders,
)
from portal.services.inspections.followup import (
    Outcome,
    check_path,
    outcome,
    still_deciding,
    tell_finished,
)
from portal.services.inspections.funnel import advisor_funnel
from portal.services.inspections.parts import (
    mark_used,
    part_names,
    part_state_label,
    release,
    short_of_stock,
    waiting_for_parts,
    withdraw,
)
from portal.services.inspections.record import (
    INSPECTABLE,
    finish,
    inspected_job,
    item_name,
    may_send,
    record_item,
    send,
    staff_inspection,
    start,
    store_templates,
)

__all__ = [
    "INSPECTABLE",
    "Outcome",
    "advisor_funnel",
    "check_path",
    "decide",
    "finish",
    "inspected_job",
    "inspection_from_link",
    "item_name",
    "link_path",
    "link_token",
    "mark_opened",
    "mark_used",
    "may_send",
    "other_owners",
    "outcome",
    "part_names",
    "part_state_label",
    "record_item",
    "release",
    "send",
    "send_declined_reminders",
    "short_of_stock",
    "staff_inspection",
    "start",
    "still_deciding",
    "store_templates",
    "tell_finished",
    "waiting_for_parts",
    "withdraw",
]
