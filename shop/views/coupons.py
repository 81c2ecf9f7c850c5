"""The owner's coupons: what each is worth, its code, until when, and whether it is used."""

from __future__ import annotations

from flask import render_template

from portal.auth import current_account, owner_required
from shop import coupons
from shop.views import bp


@bp.route("/coupons")
@owner_required
def coupon_list():
    """List the owner's coupons, usable ones first."""
    held = coupons.mine(current_account())
    rows = [(c, coupons.state(c)) for c in held]
    rows.sort(key=lambda row: row[1] != coupons.USABLE)  # stable: newest first within each
    return render_template("shop/coupons.html", rows=rows, worth=coupons.worth)
