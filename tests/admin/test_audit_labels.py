"""Every action code the code base can write to the audit log has a label (admin/audit_labels).

The codes are found in the source: each call of `audit.record(code, ...)`. A literal is a code;
`a if c else b`, a name bound to such an expression in the same function, and an f-string or
`+` over them are followed. Whatever part stays unknown (a parameter) must be a `{}` in one of
the PATTERNS below, which lists its values from the constants that bound them.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

from admin.audit_labels import ACTION_LABELS, EDITED_TABLES
from portal.models import usedcars
from portal.services.usedcars.workflow import ALLOWED
from shop.orders.fulfilment import FULFILMENT

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("admin", "api", "crm", "portal", "shop", "workshop_video")
UNKNOWN = "{}"


def _pages_tables() -> set[str]:
    from admin import PAGES

    return {page.model.__tablename__ for page in PAGES if page.model is not None}


# What each code with an unknown part can be, from the constants that bound that part.
PATTERNS = {
    "usedcar_{}": {to for moves in ALLOWED.values() for to in moves},  # workflow._move
    "shop_order_{}": set(FULFILMENT),  # fulfilment.advance
    "loan_{}": {"paid_off", "cancelled"},  # finance.set_loan_status refuses any other
    "shop_{}_imported": {"products", "stock", "prices"},  # admin/catalog_imports kinds
    "admin_create_{}": _pages_tables(),  # admin/base.py: a back-office model page's table
    "admin_update_{}": _pages_tables(),
}


def _values(node: ast.AST, scope: ast.AST | None) -> set[str]:
    """Return the strings an expression can be, with UNKNOWN for the parts it cannot tell."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _values(node.body, scope) | _values(node.orelse, scope)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        pairs = itertools.product(_values(node.left, scope), _values(node.right, scope))
        return {a + b for a, b in pairs}
    if isinstance(node, ast.JoinedStr):
        parts = [
            _values(v.value if isinstance(v, ast.FormattedValue) else v, scope) for v in node.values
        ]
        return {"".join(p) for p in itertools.product(*parts)}
    if isinstance(node, ast.Name) and scope is not None:
        bound = [
            a.value
            for a in ast.walk(scope)
            if isinstance(a, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == node.id for t in a.targets)
        ]
        if bound:
            return set().union(*(_values(v, None) for v in bound))
    return {UNKNOWN}


def _record_calls():
    """Yield (where, codes) for each audit.record call of the packages."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
                for call in ast.walk(func):
                    if (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "record"
                        and isinstance(call.func.value, ast.Name)
                        and call.func.value.id == "audit"
                    ):
                        where = f"{path.relative_to(ROOT)}:{call.lineno}"
                        yield where, _values(call.args[0], func)


def _codes() -> dict[str, str]:
    found: dict[str, str] = {}
    for where, values in _record_calls():
        for value in values:
            if UNKNOWN not in value:
                found.setdefault(value, where)
                continue
            assert value in PATTERNS, f"{where}: the audit action {value!r} cannot be listed"
            for part in PATTERNS[value]:
                found.setdefault(value.replace(UNKNOWN, part), where)
    return found


def test_the_scan_finds_the_audit_calls_and_follows_their_codes():
    codes = _codes()
    assert len(codes) > 100
    for code in ("booking_accepted", "lead_lost_refused", "quote_refused", "task_approved",
                 "usedcar_listed", "admin_update_stores", "shop_stock_imported"):  # fmt: skip
        assert code in codes, code


def test_every_action_code_that_can_be_written_has_a_label(app):
    missing = {code: where for code, where in _codes().items() if code not in ACTION_LABELS}
    assert not missing, f"add these audit actions to admin/audit_labels.py: {missing}"


def test_every_model_page_edit_names_its_record_type():
    assert _pages_tables() <= set(EDITED_TABLES)


def test_every_label_is_translated_to_chinese(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("zh_CN"):
        untranslated = [c for c, label in ACTION_LABELS.items() if str(label).isascii()]
    assert not untranslated, untranslated


def test_the_used_car_statuses_match_the_pattern():
    assert set(PATTERNS["usedcar_{}"]) <= set(usedcars.STATUSES)
