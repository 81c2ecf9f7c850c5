"""Maintenance schedules: what is due when, and what other owners chose in the same situation.

Definitions (also in the README's maintenance section):

- A plan item is due at a *due point*: ``last done km + interval km`` and/or ``last done date +
  interval months`` (whichever comes first); for an item never done, the first-due offset (or
  the interval) counted from 0 km and the purchase date.
- Status: *overdue* once the due point is passed by more than the window (1,000 km or 30 days by
  default), *due* once it is reached, *due soon* within 1,000 km or 30 days before it, else *ok*.
- A *due event* is one vehicle reaching one due point of one item. It is *taken* when the item
  is done within the window around the due point (from window before it to window after it),
  *missed* when the vehicle passes the window without it, and *superseded* when the item was
  done earlier than the window (the next due point then moves).
- The uptake rate of an item for a model is taken / (taken + missed) over all resolved events
  of that item on that model. Events still inside their window are not counted yet. When the
  model has fewer resolved events than the minimum sample (30), the all-models rate is shown
  (and the page says so); below the minimum there too, "not enough data yet".
- Aggregates (``maintenance_uptake``) are updated in the same transaction that resolves an
  event, so reading a rate is one primary-key lookup whatever the history's size.
"""

from portal.services.maintenance.due import (
    DUE,
    OK,
    OVERDUE,
    SOON,
    DuePoint,
    add_months,
    due_point,
    plan_for,
    status_of,
    window_status,
)
from portal.services.maintenance.due import (
    _today as _today,
)
from portal.services.maintenance.reminders import LEVELS, remind_vehicle, send_due_reminders
from portal.services.maintenance.schedule import (
    _SCHEDULE as _SCHEDULE,
)
from portal.services.maintenance.schedule import (
    Item,
    PlanRef,
    Schedule,
    ScheduleRow,
    Settings,
    build_schedule,
    load_schedule,
    schedule,
    schedule_facts,
    settings,
    typed,
)
from portal.services.maintenance.uptake import (
    Uptake,
    on_service_record,
    record_done,
    sync_vehicle,
    uptake_for,
)

__all__ = [
    "DUE",
    "LEVELS",
    "OK",
    "OVERDUE",
    "SOON",
    "DuePoint",
    "Item",
    "PlanRef",
    "Schedule",
    "ScheduleRow",
    "Settings",
    "Uptake",
    "add_months",
    "build_schedule",
    "due_point",
    "load_schedule",
    "on_service_record",
    "plan_for",
    "record_done",
    "remind_vehicle",
    "schedule",
    "schedule_facts",
    "send_due_reminders",
    "settings",
    "status_of",
    "sync_vehicle",
    "typed",
    "uptake_for",
    "window_status",
]
