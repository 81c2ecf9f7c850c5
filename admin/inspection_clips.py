"""The staff side of an inspection item's video clip: its state (htmx polls it while the
worker converts the clip), the clip itself with byte ranges, and its poster frame."""

from __future__ import annotations

from flask import abort
from flask_admin import expose

from portal.auth import current_account
from portal.services import inspections as svc
from portal.services.inspections import clips
from portal.views.media import send_clip


class ClipRoutes:
    """The clip routes of the inspection screen (mixed into its view, which checks the staff
    role; the inspection is looked up in the staff member's store, else 404)."""

    def _item(self, inspection_id: int, item_id: int):
        inspection = svc.staff_inspection(current_account(), inspection_id)
        item = next((i for i in inspection.items if i.id == item_id), None)
        if item is None:
            abort(404)
        return inspection, item

    @expose("/<int:inspection_id>/items/<int:item_id>/clip/state")
    def item_clip_state(self, inspection_id: int, item_id: int):
        """Return the item's clip as it stands (htmx polls this while the worker converts it)."""
        inspection, item = self._item(inspection_id, item_id)
        return self.render(
            "admin/inspections/_clip.html", i=item, inspection=inspection, svc=svc, clips=clips
        )

    @expose("/<int:inspection_id>/items/<int:item_id>/clip")
    def item_clip(self, inspection_id: int, item_id: int):
        """Send the item's converted video clip, a byte range at a time as players ask."""
        clip = clips.ready_clip(self._item(inspection_id, item_id)[1])
        if clip is None:
            abort(404)
        return send_clip(clip)

    @expose("/<int:inspection_id>/items/<int:item_id>/clip/poster")
    def item_clip_poster(self, inspection_id: int, item_id: int):
        """Send the poster frame of the item's converted video clip."""
        clip = clips.ready_clip(self._item(inspection_id, item_id)[1])
        if clip is None:
            abort(404)
        return send_clip(clip, poster=True)
