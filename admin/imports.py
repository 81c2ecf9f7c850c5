"""Customers and vehicles from a previous DMS: read a CSV or Excel file, check every row, then
apply all of it in one transaction, or nothing.

A row is one customer (name, phone, optional email) and optionally one of their vehicles (VIN,
plate, brand, series, model year); a customer with two cars has two rows with the same phone and
name. Duplicates follow the CRM's rule (crm/customers.py): a customer is found by phone, VIN or
email, and an import never makes a second record of a known customer: it adds the vehicle to it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from zipfile import BadZipFile

from flask import current_app
from flask_babel import gettext as _
from openpyxl import load_workbook
from sqlalchemy import select

from crm.customers import find_customer, find_or_add
from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Store, User, Vehicle
from portal.models.accounts import OWNER
from portal.services import audit
from portal.services.accounts import normalize_email, normalize_phone
from portal.services.vehicles import add_vehicle
from portal.timeutil import now
from portal.validation import InvalidIdentifier, normalize_plate, normalize_vin

# Each column and the header spellings a DMS export may use (compared lower-cased).
COLUMNS = {
    "name": ("name", "姓名", "客户姓名", "客户名称"),
    "phone": ("phone", "手机", "mobile", "手机号", "手机号码", "联系电话"),
    "email": ("email", "邮箱", "电子邮箱"),
    "vin": ("vin", "车架号", "vin码"),
    "plate": ("plate", "车牌", "车牌号"),
    "brand": ("brand", "品牌"),
    "series": ("series", "车系", "车型"),
    "model_year": ("model_year", "年款", "year"),
}
REQUIRED = ("name", "phone")
VEHICLE = ("vin", "plate", "brand", "series", "model_year")
XLSX_MAGIC, XLS_MAGIC = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


@dataclass
class Row:
    """One checked row of the file: its values, what applying it does, or why it cannot."""

    line: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    customer_id: int | None = None  # a known customer the row matches
    adds_vehicle: bool = False


def read_table(data: bytes) -> list[list[str]]:
    """Return the file's rows as text cells (CSV in UTF-8 or GBK, or an .xlsx workbook), or
    raise ValidationError saying what is wrong with the file."""
    if len(data) > current_app.config["IMPORT_MAX_BYTES"]:
        mb = current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024)
        raise ValidationError(_("The file is larger than %(mb)d MB: split it.", mb=mb))
    if not data.strip():
        raise ValidationError(_("The file is empty."))
    if data.startswith(XLSX_MAGIC):
        table = _read_xlsx(data)
    elif data.startswith(XLS_MAGIC):
        raise ValidationError(_("Old Excel files (.xls) cannot be read: save it as .xlsx or CSV."))
    else:
        table = _read_csv(data)
    table = [row for row in table if any(cell for cell in row)]
    if len(table) - 1 > current_app.config["IMPORT_MAX_ROWS"]:
        raise ValidationError(
            _(
                "The file has more than %(n)d rows: split it.",
                n=current_app.config["IMPORT_MAX_ROWS"],
            )
        )
    return table


def _read_csv(data: bytes) -> list[list[str]]:
    if b"\x00" in data:
        raise ValidationError(
            _("This file is neither CSV text nor an Excel workbook (.xlsx). Save it as CSV.")
        )
    for encoding in ("utf-8-sig", "gbk"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError(
            _("The file's text is neither UTF-8 nor GBK: save it again as CSV (UTF-8).")
        )
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        return [
            [c.strip() for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)
        ]
    except csv.Error as exc:
        raise ValidationError(_("The CSV file is malformed: %(reason)s", reason=str(exc))) from None


def _read_xlsx(data: bytes) -> list[list[str]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    except (BadZipFile, KeyError, ValueError, IndexError, OSError):
        raise ValidationError(
            _("This Excel file cannot be read: save it again as .xlsx.")
        ) from None


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone or year typed as a number
    return str(value).strip()


def column_map(header: list[str]) -> dict[str, int]:
    """Return each known column's position in the header; ValidationError if one is missing."""
    spelled = {s: name for name, spellings in COLUMNS.items() for s in spellings}
    found: dict[str, int] = {}
    for i, title in enumerate(header):
        name = spelled.get(title.strip().lower())
        if name is not None and name not in found:
            found[name] = i
    missing = [COLUMNS[c][0] + " / " + COLUMNS[c][1] for c in REQUIRED if c not in found]
    if missing:
        raise ValidationError(_("Columns missing from the file: %(cols)s", cols=", ".join(missing)))
    return found


def check_rows(table: list[list[str]]) -> list[Row]:
    """Check every row (values, duplicates in the file and against the records); change nothing."""
    if not table:
        raise ValidationError(_("The file is empty."))
    cols = column_map(table[0])
    rows, seen = [], {"phone": {}, "vin": {}, "plate": {}}
    for line, cells in enumerate(table[1:], start=2):
        values = {c: (cells[i] if i < len(cells) else "") for c, i in cols.items()}
        row = Row(line=line, values=values)
        _check_values(row)
        if not row.errors:
            _check_duplicates(row, seen)
        if not row.errors:
            _check_records(row)
        rows.append(row)
    return rows


def _check_values(row: Row) -> None:
    v = row.values
    if not v["name"].strip():
        row.errors.append(_("The name is empty."))
    phone = normalize_phone(v["phone"])
    if phone is None:
        row.errors.append(_("Bad phone number: %(value)s", value=v["phone"] or "—"))
    else:
        v["phone"] = phone
    if v.get("email"):
        mail = normalize_email(v["email"])
        if mail is None:
            row.errors.append(_("Bad email address: %(value)s", value=v["email"]))
        v["email"] = mail or ""
    if not any(v.get(c) for c in VEHICLE):
        return
    row.adds_vehicle = True
    try:
        v["vin"] = normalize_vin(v.get("vin", ""))
    except InvalidIdentifier as exc:
        row.errors.append(
            _("Bad VIN %(value)s: %(reason)s", value=v.get("vin") or "—", reason=_(str(exc)))
        )
    try:
        v["plate"] = normalize_plate(v.get("plate", ""))
    except InvalidIdentifier as exc:
        row.errors.append(
            _("Bad plate %(value)s: %(reason)s", value=v.get("plate") or "—", reason=_(str(exc)))
        )
    if not v.get("brand") or not v.get("series"):
        row.errors.append(_("A vehicle needs its brand and series."))
    year = v.get("model_year", "")
    if not (year.isdigit() and 1980 <= int(year) <= now().year + 1):
        row.errors.append(_("Bad model year: %(value)s", value=year or "—"))


def _check_duplicates(row: Row, seen: dict[str, dict]) -> None:
    v = row.values
    earlier = seen["phone"].get(v["phone"])
    if earlier is not None and (earlier[1] != v["name"] or not row.adds_vehicle or not earlier[2]):
        row.errors.append(
            _("Duplicate row: the same phone number as line %(line)d.", line=earlier[0])
        )
    seen["phone"].setdefault(v["phone"], (row.line, v["name"], row.adds_vehicle))
    for key in ("vin", "plate") if row.adds_vehicle else ():
        first = seen[key].setdefault(v[key], row.line)
        if first != row.line:
            row.errors.append(
                _(
                    "Duplicate row: the same %(what)s as line %(line)d.",
                    what=key.upper(),
                    line=first,
                )
            )


def _check_records(row: Row) -> None:
    v = row.values
    found = find_customer(v["phone"], v.get("email") or None, v.get("vin") or None)
    if found is not None and found.role != OWNER:
        row.errors.append(_("This number belongs to a staff account."))
        return
    if found is not None:
        row.customer_id = found.id
        if found.phone != v["phone"]:
            row.errors.append(_("This VIN or email belongs to another customer."))
            return
    if v.get("email") and found is None:
        if db.session.scalar(select(User.id).where(User.email == v["email"])) is not None:
            row.errors.append(_("This email belongs to another customer."))
    if not row.adds_vehicle:
        return
    for other in db.session.scalars(
        select(Vehicle).where((Vehicle.vin == v["vin"]) | (Vehicle.plate == v["plate"]))
    ):
        if (
            other.vin == v["vin"]
            and other.plate == v["plate"]
            and other.owner_id == row.customer_id
        ):
            row.adds_vehicle = False  # already on record for this customer: nothing to add
        else:
            row.errors.append(_("This VIN or plate is already registered to another vehicle."))


def apply_rows(table: list[list[str]], store: Store, actor: User) -> dict:
    """Add every customer and vehicle of the file, or raise ValidationError and add nothing;
    the caller commits (or rolls back)."""
    rows = check_rows(table)
    bad = [r for r in rows if r.errors]
    if bad:
        raise ValidationError(
            _(
                "Nothing was imported: %(n)d rows have errors. Correct them and try again.",
                n=len(bad),
            )
        )
    run = CustomerApply(store, actor)
    for row in rows:
        run.apply(row)
    return run.finish()


class CustomerApply:
    """One import's apply step, a row at a time (the worker commits between batches)."""

    def __init__(self, store: Store, actor: User) -> None:
        self.store, self.actor = store, actor
        self.customers: set[int] = set()
        self.rows = self.vehicles = 0

    def apply(self, row: Row) -> str:
        """Apply one checked row; return "created" (a new customer), "merged" (added to a
        known one) or "skipped" (nothing to add)."""
        v = row.values
        customer, added = find_or_add(
            v["name"], v["phone"], v.get("email") or None, None, self.store
        )
        if row.adds_vehicle:
            add_vehicle(
                customer, vin=v["vin"], plate=v["plate"], brand=v["brand"][:40],
                series=v["series"][:60], model_year=int(v["model_year"]),
            )  # fmt: skip
            self.vehicles += 1
        self.rows += 1
        self.customers.add(customer.id)
        if added:
            return "created"
        return "merged" if row.adds_vehicle else "skipped"

    def finish(self) -> dict:
        """Audit the import; return its counts."""
        counts = {"rows": self.rows, "customers": len(self.customers), "vehicles": self.vehicles}
        audit.record("customers_imported", actor=self.actor, store_id=self.store.id, **counts)
        return counts
