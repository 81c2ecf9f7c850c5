"""What a back-office list costs: search through indexes, a bounded count, the page's ids first.

A list of a million rows never pays an exact COUNT(*) or a scan for '%term%':

- search: phone, VIN and plate match exactly or by prefix (a btree index), names and notes by
  trigram (pg_trgm on PostgreSQL) from two characters on; a term too short for any column finds
  nothing and says why;
- count: exact up to COUNT_LIMIT rows (a bounded scan); past it the list pages forward and
  shows the planner's estimate ("about 1.2 million");
- rows: the page's ids are found first (ORDER BY, OFFSET and LIMIT over the narrow rows), and
  only those rows are loaded, with the related rows the list shows.
"""

from __future__ import annotations

import json

from babel.numbers import format_compact_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import Select, false, func, inspect, or_, select
from sqlalchemy.orm import selectinload

from portal.extensions import db

COUNT_LIMIT = 10_000  # an exact count costs at most this many rows
MIN_PREFIX = 2  # characters of a phone, plate or VIN prefix
MIN_NAME = 2  # characters of a name; from 3 on the name may match anywhere, not only its start

PREFIX, UPPER_PREFIX, PHONE, EMAIL, NAME, WORDS, TEXT = (
    "prefix",
    "upper_prefix",
    "phone",
    "email",
    "name",
    "words",
    "text",
)


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def term_clause(column, rule: str, term: str):
    """Return the condition for one column and one search term, or None if the term is too
    short for this column (it then matches nothing there)."""
    safe = _like_escape(term)
    if rule in (PREFIX, UPPER_PREFIX, PHONE) and len(term) < MIN_PREFIX:
        return None
    if rule == PHONE and not term.isdigit():
        return None  # a phone number is digits: no need to look for letters there
    if rule in (PREFIX, UPPER_PREFIX, PHONE):
        value = term.upper() if rule == UPPER_PREFIX else term
        return column.like(_like_escape(value) + "%", escape="\\")
    if rule == EMAIL:
        return column == term.lower() if "@" in term else None
    if rule in (NAME, WORDS):
        # WORDS is free text (notes) through a trigram index: like a name, digits included.
        if len(term) < MIN_NAME or (rule == NAME and term.isdigit()):
            return None
        pattern = safe + "%" if len(term) < 3 else "%" + safe + "%"
        return column.ilike(pattern, escape="\\")
    return column.ilike("%" + safe + "%", escape="\\")  # TEXT: small tables only


def _match(model, name: str, rule: str, term: str):
    """Return term_clause for a column of the model or, for "relation.column", of a related row."""
    relation, _, column = name.partition(".")
    if not column:
        return term_clause(getattr(model, name), rule, term)
    attr = getattr(model, relation)
    clause = term_clause(getattr(attr.property.mapper.class_, column), rule, term)
    if clause is None:
        return None
    return attr.any(clause) if attr.property.uselist else attr.has(clause)


def search_clause(model, rules: dict[str, str], search: str):
    """Return (condition, too_short) for a search box's text: every term must match one column."""
    terms = [t for t in search.split() if t]
    conditions, too_short = [], []
    for term in terms:
        matches = [
            c
            for c in (_match(model, name, rule, term) for name, rule in rules.items())
            if c is not None
        ]
        if not matches:
            too_short.append(term)
            conditions.append(false())
        else:
            conditions.append(or_(*matches))
    return conditions, too_short


def page_rows(model, query, relations: tuple[str, ...]) -> list:
    """Load the rows of a page: its ids first (the sorted, offset query over ids only), then
    those rows and the related rows they show, in the page's order."""
    pk = inspect(model).primary_key[0]
    ids = [row[0] for row in query.with_entities(pk)]
    if not ids:
        return []
    stmt = select(model).where(pk.in_(ids))
    for name in relations:
        stmt = stmt.options(selectinload(getattr(model, name)))
    by_id = {getattr(r, pk.key): r for r in db.session.scalars(stmt)}
    return [by_id[i] for i in ids if i in by_id]


def shown_relations(model, columns) -> tuple[str, ...]:
    """Return the relationships among a list's columns (loaded with the page, one query each)."""
    names = set(inspect(model).relationships.keys())
    return tuple(c for c in (columns or ()) if isinstance(c, str) and c in names)


def rows_of(model, query) -> Select:
    """Return the rows of a list's query (an ORM query) as a select of ids: no order, no page."""
    pk = inspect(model).primary_key[0]
    return query.limit(None).offset(None).order_by(None).with_entities(pk).statement


def bounded_count(stmt: Select) -> int | None:
    """Return the number of rows of stmt if at most COUNT_LIMIT, else None."""
    rows = stmt.limit(COUNT_LIMIT + 1).subquery()
    n = db.session.scalar(select(func.count()).select_from(rows))
    return n if n <= COUNT_LIMIT else None


def planner_estimate(stmt: Select) -> int | None:
    """Return PostgreSQL's estimate of the rows of stmt (EXPLAIN, nothing runs); None elsewhere."""
    dialect = db.session.get_bind().dialect
    if dialect.name != "postgresql":
        return None
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    doc = (
        db.session.connection()
        .exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string, compiled.params)
        .scalar()
    )
    doc = json.loads(doc) if isinstance(doc, str) else doc
    return int(doc[0]["Plan"]["Plan Rows"])


def count_label(stmt: Select) -> str:
    """Return how many rows stmt has: exact up to COUNT_LIMIT, else the planner's estimate."""
    n = bounded_count(stmt)
    return f"{n:,}" if n is not None else estimate_label(planner_estimate(stmt))


def estimate_label(estimate: int | None) -> str:
    """Say how many rows a long list has: the planner's estimate, or just "more than N"."""
    if estimate is None or estimate <= COUNT_LIMIT:
        return _("more than %(n)s", n=f"{COUNT_LIMIT:,}")
    n = format_compact_decimal(
        estimate, format_type="long", locale=get_locale() or "en", fraction_digits=1
    )
    return _("about %(n)s rows", n=n)
