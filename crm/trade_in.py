"""A trade-in valuation asked on the portal: a lead of the CRM that carries the car.

The owner (or a visitor) describes the car they would trade in, or picks one of their own; the
store's routing rules name an advisor with a first-contact task, as for every lead, and the
car goes on the customer's card ("car to trade in") when the card has none yet, so nobody asks
the customer again. The advisor values the car and puts the value on the quote."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm.leads import Captured, Inquiry, capture
from crm.models import TRADE_IN_VALUATION
from crm.profile_models import CustomerProfile
from crm.profiles import LIMITS
from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Vehicle
from portal.timeutil import now

OLDEST_YEAR = 1980
MAX_KM = 2_000_000


@dataclass(frozen=True)
class TradeInCar:
    """The car the customer would trade in, as they describe it (or as we know it)."""

    brand: str
    series: str
    model_year: int | None
    mileage_km: int | None
    vin: str | None = None  # one of the owner's own cars: the lead attaches to them


def of_vehicle(vehicle: Vehicle) -> TradeInCar:
    """The trade-in car as the owner's own record says."""
    return TradeInCar(
        vehicle.brand, vehicle.series, vehicle.model_year, vehicle.current_km, vin=vehicle.vin
    )


def checked(car: TradeInCar) -> TradeInCar:
    """Return the car cleaned, or raise with the field to correct."""
    brand, series = (car.brand or "").strip(), (car.series or "").strip()
    if not brand or len(brand) > 40:
        raise ValidationError(_("Enter the brand of your car."), field="brand")
    if len(series) > 60:
        raise ValidationError(_("The model name is too long."), field="series")
    year = car.model_year
    if year is None or not OLDEST_YEAR <= year <= now().year + 1:
        raise ValidationError(
            _(
                "Enter a model year from %(first)s to %(last)s.",
                first=OLDEST_YEAR,
                last=now().year + 1,
            ),
            field="model_year",
        )
    if car.mileage_km is None or not 0 <= car.mileage_km <= MAX_KM:
        raise ValidationError(_("Enter the mileage in km (0 to 2,000,000)."), field="mileage_km")
    return replace(car, brand=brand, series=series)


def describe(car: TradeInCar) -> str:
    """The car in one line, the same in both languages: "丰田 凯美瑞 2019 · 82,000 km"."""
    name = " ".join(x for x in (car.brand, car.series, str(car.model_year)) if x)
    return f"{name} · {car.mileage_km:,} km"


def ask_valuation(inquiry: Inquiry, car: TradeInCar) -> Captured:
    """Record a request to value the customer's car as a lead of the chosen store."""
    car = checked(car)
    text = describe(car)
    note = "\n".join(x for x in (text, inquiry.note.strip()) if x)  # staff read the car first
    captured = capture(replace(inquiry, source=TRADE_IN_VALUATION, vin=car.vin, note=note))
    _remember_on_card(captured.lead.customer_id, text[: LIMITS["trade_in"]])
    return captured


def _remember_on_card(customer_id: int, text: str) -> None:
    """Put the car on the customer's card unless staff already wrote one there (a conditional
    write, so two requests at once or an advisor's edit never overwrite each other)."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    blank = dict.fromkeys(LIMITS, "")
    db.session.execute(
        insert(CustomerProfile)
        .values(customer_id=customer_id, **blank)
        .on_conflict_do_nothing(index_elements=["customer_id"])
    )
    db.session.execute(
        update(CustomerProfile)
        .where(CustomerProfile.customer_id == customer_id, CustomerProfile.trade_in == "")
        .values(trade_in=text)
        .execution_options(synchronize_session=False)
    )
