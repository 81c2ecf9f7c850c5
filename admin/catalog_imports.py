"""Products, stock counts and price lists from a CSV or Excel file: every row checked first (a
dry run that changes nothing), then the whole file applied by the worker in one transaction,
or nothing.

Products and price lists are the group's data (its editors import them); a stock count is a
store's (its manager imports it, an admin for any store). Files are read by admin.imports, which
already takes UTF-8 with or without a BOM and GBK (Excel in China), and bounds their size."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.errors import ValidationError
from portal.extensions import db
from portal.models import Store, User
from portal.models.accounts import ADMIN, MANAGER
from portal.money import MoneyError, parse_yuan
from portal.services import audit
from shop import prices, stock
from shop.models import Category, Product

PRODUCTS, STOCK, PRICES = "products", "stock", "prices"
KINDS = (PRODUCTS, STOCK, PRICES)
# Who may import each: the group's editors (admins) the catalog, a store's manager its stock.
EDITORS = {PRODUCTS: (ADMIN,), STOCK: (MANAGER, ADMIN), PRICES: (ADMIN,)}
KIND_LABELS = {
    PRODUCTS: _l("Products"),
    STOCK: _l("Stock count"),
    PRICES: _l("Price list"),
}


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    required: bool = True

    @property
    def header(self) -> str:
        """The template's bilingual header cell, e.g. "商品编码 / sku"."""
        return f"{self.zh} / {self.key}"


COLUMNS = {
    PRODUCTS: (
        Column("sku", "商品编码"),
        Column("name", "中文名称"),
        Column("name_en", "英文名称"),
        Column("category", "分类"),
        Column("price", "价格（元）"),
        Column("low_stock", "低库存提醒", required=False),
    ),
    STOCK: (Column("sku", "商品编码"), Column("count", "盘点数量")),
    PRICES: (
        Column("sku", "商品编码"),
        Column("price", "价格（元）"),
        Column("starts_on", "生效日期", required=False),
    ),
}
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
MAX_COUNT = 1_000_000
SCHEDULE_DAYS = 366  # a price list reaches at most a year ahead
STOCK_REASON = "stock count import"


@dataclass
class Row:
    """One checked row: its values, what applying it does, and its errors (column, message)."""

    line: int
    values: dict[str, str]
    errors: list[tuple[str, str]] = field(default_factory=list)
    product: Product | None = None
    category: Category | None = None
    fen: int | None = None
    number: int | None = None
    held: int = 0  # units held for open orders (a stock count)
    day: date | None = None  # a price's first day, when it is later than today

    def error(self, column: str, message: str) -> None:
        self.errors.append((column, message))


def _spellings(column: Column) -> set[str]:
    return {column.key, column.zh.lower(), column.header.lower(), column.zh.split("（")[0]}


def column_map(kind: str, header: list[str]) -> dict[str, int]:
    """Return each column's position; ValidationError naming the required ones missing."""
    found: dict[str, int] = {}
    for i, title in enumerate(header):
        text = unicodedata.normalize("NFKC", title).strip().lower()
        for column in COLUMNS[kind]:
            nfkc = {unicodedata.normalize("NFKC", s) for s in _spellings(column)}
            if text in nfkc and column.key not in found:
                found[column.key] = i
    missing = [c.header for c in COLUMNS[kind] if c.required and c.key not in found]
    if missing:
        raise ValidationError(_("Columns missing from the file: %(cols)s", cols=", ".join(missing)))
    return found


def check_rows(kind: str, table: list[list[str]], store: Store) -> list[Row]:
    """Check every row of the file (values, duplicates, the records); change nothing."""
    if not table or len(table) < 2:
        raise ValidationError(_("The file has no rows below its header."))
    limit = current_app.config["CATALOG_IMPORT_MAX_ROWS"]
    if len(table) - 1 > limit:
        raise ValidationError(_("The file has more than %(n)d rows: split it.", n=limit))
    cols = column_map(kind, table[0])
    rows = [
        Row(line=line, values={c: (cells[i] if i < len(cells) else "") for c, i in cols.items()})
        for line, cells in enumerate(table[1:], start=2)
    ]
    known = _products_by_sku([r.values["sku"].strip() for r in rows])
    categories = _categories() if kind == PRODUCTS else {}
    seen: dict[tuple, int] = {}
    for row in rows:
        _check_sku(kind, row, known)
        if kind == PRODUCTS:
            _check_product(row, categories)
        elif kind == STOCK:
            _check_count(row, store)
        else:
            _check_price(row, store)
        key = (row.values["sku"].strip(), row.day) if kind == PRICES else row.values["sku"].strip()
        first = seen.setdefault(key, row.line)
        if first != row.line:
            row.error("sku", _("Duplicate row: the same SKU as line %(line)d.", line=first))
    return rows


def _products_by_sku(skus: list[str]) -> dict[str, Product]:
    wanted = sorted({s for s in skus if s})
    found: dict[str, Product] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for p in db.session.scalars(select(Product).where(Product.sku.in_(chunk))):
            found[p.sku] = p
    return found


def _categories() -> dict[str, Category]:
    found: dict[str, Category] = {}
    for c in db.session.scalars(select(Category)):
        found[c.name.strip()] = c
        if c.name_en:
            found.setdefault(c.name_en.strip().lower(), c)
    return found


def _check_sku(kind: str, row: Row, known: dict[str, Product]) -> None:
    sku = row.values["sku"].strip()
    row.values["sku"] = sku
    if not sku:
        row.error("sku", _("The SKU is empty."))
    elif not SKU.match(sku):
        row.error(
            "sku", _("Bad SKU %(value)s: letters, digits, '.', '-' or '_', at most 40.", value=sku)
        )
    row.product = known.get(sku)
    if kind != PRODUCTS and sku and row.product is None:
        row.error("sku", _("No product has the SKU %(value)s.", value=sku))


def _money(row: Row) -> None:
    try:
        row.fen = parse_yuan(row.values["price"])
    except MoneyError as exc:
        row.error(
            "price",
            _("%(reason)s (%(value)s)", reason=_(str(exc)), value=row.values["price"] or "—"),
        )


def _whole(row: Row, column: str, maximum: int = MAX_COUNT) -> int | None:
    raw = unicodedata.normalize("NFKC", row.values.get(column, "")).strip()
    if not raw.isdigit() or int(raw) > maximum:
        row.error(
            column,
            _(
                "Enter a whole number from 0 to %(max)d, not %(value)s.",
                max=maximum,
                value=raw or "—",
            ),
        )
        return None
    return int(raw)


def _check_product(row: Row, categories: dict[str, Category]) -> None:
    v = row.values
    for key, label in (("name", _("The Chinese name")), ("name_en", _("The English name"))):
        v[key] = v[key].strip()
        if not v[key]:
            row.error(key, _("%(what)s is required.", what=label))
        elif len(v[key]) > 120:
            row.error(key, _("%(what)s is longer than %(n)d characters.", what=label, n=120))
    name = v["category"].strip()
    row.category = categories.get(name) or categories.get(name.lower())
    if row.category is None:
        row.error("category", _("No category is called %(value)s.", value=name or "—"))
    _money(row)
    if v.get("low_stock", "").strip():
        row.number = _whole(row, "low_stock")


def _check_count(row: Row, store: Store) -> None:
    row.number = _whole(row, "count")
    if row.number is None or row.product is None:
        return
    row.held = stock.reserved(store.id, row.product.id)
    if row.number < row.held:
        row.error(
            "count",
            _("%(n)d units are held for open orders; the count cannot be lower.", n=row.held),
        )


def parse_day(raw: str) -> date | None:
    """Return the date typed as 2026-12-31, 2026/12/31 or an Excel date cell; None if not."""
    text = unicodedata.normalize("NFKC", raw).strip().replace("/", "-").replace(".", "-")
    m = re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?: 00:00(?::00)?)?$", text)
    if not m:
        return None
    try:
        return date(*(int(g) for g in m.groups()))
    except ValueError:
        return None


def _check_price(row: Row, store: Store) -> None:
    _money(row)
    raw = row.values.get("starts_on", "").strip()
    if not raw:
        return
    day = parse_day(raw)
    today = prices.store_today(store)
    if day is None:
        row.error("starts_on", _("Bad date %(value)s: write it as 2026-12-31.", value=raw))
    elif day > today + timedelta(days=SCHEDULE_DAYS):
        row.error("starts_on", _("A price can be set at most a year ahead."))
    elif day > today:
        row.day = day  # today or a past day: the price applies at once


class CatalogApply:
    """One catalog import's apply step, a row at a time; the worker applies the whole file in
    one transaction (admin/import_jobs.py), so it is still all or nothing."""

    def __init__(self, kind: str, store: Store, actor: User) -> None:
        self.kind, self.store, self.actor = kind, store, actor
        self.counts = {"rows": 0, "new": 0, "changed": 0, "scheduled": 0}

    def apply(self, row: Row) -> str:
        """Apply one checked row; return the import job's count it adds to: "created" (a new
        product, or a price scheduled), "merged" (a product, stock or price changed now) or
        "skipped" (nothing changed)."""
        self.counts["rows"] += 1
        outcome = self._apply(row)
        if outcome != "unchanged":
            self.counts[outcome] += 1
        return {"new": "created", "scheduled": "created", "changed": "merged"}.get(
            outcome, "skipped"
        )

    def _apply(self, row: Row) -> str:
        kind, store, actor = self.kind, self.store, self.actor
        if kind == PRODUCTS:
            return _apply_product(row)
        if kind == STOCK:
            changed = stock.count(actor, store.id, row.product, row.number, STOCK_REASON)
            return "changed" if changed else "unchanged"
        if row.day is not None:
            prices.schedule(row.product, row.fen, row.day, store, actor)
            return "scheduled"
        if row.fen != row.product.price_fen:
            prices.set_price(row.product, row.fen)
            return "changed"
        return "unchanged"

    def finish(self) -> dict:
        """Audit the import; return its counts."""
        db.session.flush()
        audit.record(
            f"shop_{self.kind}_imported", actor=self.actor, store_id=self.store.id, **self.counts
        )
        return self.counts


def _apply_product(row: Row) -> str:
    v, product, outcome = row.values, row.product, "changed"
    if product is None:
        product = Product(sku=v["sku"], description="", description_en="")
        db.session.add(product)
        outcome = "new"
    product.name, product.name_en = v["name"], v["name_en"]
    product.category = row.category
    product.price_fen = row.fen
    if row.number is not None:
        product.low_stock = row.number
    return outcome


def template_rows(kind: str) -> list[list[str]]:
    """Return the empty template of an import: its bilingual header row."""
    return [[c.header for c in COLUMNS[kind]]]


def sample_rows(kind: str, store: Store | None, limit: int = 5) -> list[list[str]]:
    """Return a sample file built from the catalog: it checks clean and changes little."""
    products = list(db.session.scalars(select(Product).order_by(Product.id).limit(limit)))
    table = template_rows(kind)
    for p in products:
        yuan = f"{p.price_fen / 100:.2f}"
        if kind == PRODUCTS:
            table.append(
                [p.sku, p.name, p.name_en or p.name, p.category.name, yuan, str(p.low_stock)]
            )
        elif kind == STOCK:  # the store's shelf: its stock for sale and what its orders hold
            on_shelf = (
                stock.at_store(store.id, p.id) + stock.reserved(store.id, p.id) if store else 0
            )
            table.append([p.sku, str(on_shelf)])
        else:
            day = prices.store_today(store) + timedelta(days=7) if store else None
            table.append([p.sku, yuan, day.isoformat() if day else ""])
    return table


def describe(kind: str, row: Row, store: Store) -> str:
    """Return what applying the (clean) row does, for the preview."""
    if kind == PRODUCTS:
        return _("new product") if row.product is None else _("product updated")
    if kind == STOCK:
        old = stock.at_store(store.id, row.product.id)
        return _("stock for sale %(old)d → %(new)d", old=old, new=row.number - row.held)
    if row.day is not None:
        return _("price from %(day)s (%(zone)s)", day=row.day.isoformat(), zone=store.timezone)
    return _("price now")
