"""The owner's inspection page: a signed, expiring link that needs no login, where the owner
sees each recommendation with its photo, price, severity and what other owners chose, and
approves or declines it."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import access
from portal.auth import is_htmx
from portal.errors import Conflict, DomainError, NotFound
from portal.extensions import db
from portal.models import Inspection, InspectionItem
from portal.services import inspections as svc
from portal.services.inspections import clips
from portal.views.media import send_clip

bp = Blueprint("owner_inspections", __name__, url_prefix="/inspection")
bp.add_app_template_filter(svc.part_state_label, "part_state")


def _render_item(inspection: Inspection, item: InspectionItem, link: str, message=None):
    # Only this item's figures: the other 29 points of the inspection are not loaded.
    return render_template(
        "inspections/_item.html",
        i=item,
        inspection=inspection,
        link=link,
        chose=svc.other_owners(inspection, [item]),
        svc=svc,
        message=message,
        short=svc.short_of_stock(inspection, [item]),
        clips=clips,
    )


@bp.route("/<link>")
def inspection_show(link: str):
    """Show the inspection the link names, and note that the owner opened it."""
    inspection = svc.inspection_from_link(link)
    # Staff checking the link they sent is not the owner opening it (the funnel counts owners).
    if inspection.opened_at is None and not access.is_active_staff(current_user):
        svc.mark_opened(inspection)
        db.session.commit()
    booking = inspection.booking
    return render_template(
        "inspections/show.html",
        inspection=inspection,
        booking=booking,
        link=link,
        chose=svc.other_owners(inspection),
        svc=svc,
        short=svc.short_of_stock(inspection),
        clips=clips,
    )


@bp.route("/<link>/items/<int:item_id>", methods=["POST"])
def item_decide(link: str, item_id: int):
    """Approve or decline one recommendation; a second decision is refused."""
    inspection = svc.inspection_from_link(link)
    choice = request.form.get("decision")
    if choice not in ("approve", "decline"):
        abort(400, description=_("Choose approve or decline."))
    try:
        item = svc.decide(inspection, item_id, choice == "approve")
    except DomainError as exc:
        db.session.rollback()
        if isinstance(exc, NotFound) or not is_htmx():
            raise
        # htmx swaps the item with the message in place (m4s.js swaps 409 and 422).
        item = db.session.get(InspectionItem, item_id)
        return _render_item(inspection, item, link, exc.message), (
            409 if isinstance(exc, Conflict) else 422
        )
    # Rendered before the commit, from the objects at hand: after it they would all be
    # loaded again (item, inspection, booking, car); a failed commit discards the fragment.
    fragment = _render_item(inspection, item, link) if is_htmx() else None
    db.session.commit()
    if fragment is not None:
        return fragment
    return redirect(url_for(".inspection_show", link=link) + f"#item-{item_id}", code=303)


def _photo(link: str, item_id: int, thumb: bool) -> Response:
    inspection = svc.inspection_from_link(link)
    item = db.session.get(InspectionItem, item_id)
    if item is None or item.inspection_id != inspection.id or item.image is None:
        abort(404)
    response = Response(item.image.thumb if thumb else item.image.data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.route("/<link>/items/<int:item_id>/photo")
def item_photo(link: str, item_id: int):
    """Send an item's photo (resized, without EXIF) to the holder of the link."""
    return _photo(link, item_id, thumb=False)


@bp.route("/<link>/items/<int:item_id>/thumb")
def item_thumb(link: str, item_id: int):
    """Send an item's thumbnail to the holder of the link."""
    return _photo(link, item_id, thumb=True)


def _clip(link: str, item_id: int, poster: bool) -> Response:
    inspection = svc.inspection_from_link(link)
    item = db.session.get(InspectionItem, item_id)
    if item is None or item.inspection_id != inspection.id:
        abort(404)
    clip = clips.ready_clip(item)
    if clip is None:
        abort(404)
    return send_clip(clip, poster=poster)


@bp.route("/<link>/items/<int:item_id>/clip")
def item_clip(link: str, item_id: int):
    """Send an item's video clip (transcoded, without the upload's metadata) to the holder of
    the link, a byte range at a time as phones' players ask."""
    return _clip(link, item_id, poster=False)


@bp.route("/<link>/items/<int:item_id>/clip/poster")
def item_clip_poster(link: str, item_id: int):
    """Send the poster frame of an item's video clip to the holder of the link."""
    return _clip(link, item_id, poster=True)
