"""Back office for workshop devices: areas and bays per store, each bay's camera, its status,
a check button and a test frame. Camera sources carry passwords: pages show them masked."""

from __future__ import annotations

import base64

from flask import abort, flash, make_response, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from admin.base import StaffView
from portal import access
from portal.auth import current_account
from portal.errors import NotFound, ValidationError
from portal.extensions import db
from portal.inputs import int_arg
from portal.models import Store
from workshop_video import devices

CAMERA_STATUS = {
    "unknown": _l("not checked"),
    "online": _l("online"),
    "offline": _l("offline"),
}


class DevicesView(StaffView):
    """Workshop areas, bays and cameras of the manager's store (admins pick a store)."""

    def _store_id(self) -> int | None:
        if not access.sees_all_stores(current_user):
            return access.store_filter(current_user)
        chosen = int_arg(request.args.get("store"))
        return chosen or db.session.scalar(select(Store.id).order_by(Store.id))

    def _page(self, errors: dict | None = None, status: int = 200):
        store_id = self._store_id()
        areas, by_bay, loose = devices.store_layout(store_id) if store_id else ([], {}, [])
        stores = db.session.scalars(select(Store).order_by(Store.id)).all()
        html = self.render(
            "admin/video/devices.html",
            areas=areas,
            by_bay=by_bay,
            loose=loose,
            stores=stores if access.sees_all_stores(current_user) else [],
            store_id=store_id,
            form=FlaskForm(),
            errors=errors or {},
            camera_status=CAMERA_STATUS,
            camera_error=devices.error_text,
        )
        return html, status

    def _camera(self, camera_id: int):
        try:
            return devices.store_camera(current_account(), camera_id)
        except NotFound:
            abort(404)

    @expose("/")
    def index(self):
        return self._page()

    @expose("/areas", methods=["POST"])
    def area_add(self):
        """Add a workshop area to the store."""
        if not FlaskForm().validate_on_submit():
            abort(400)
        try:
            area = devices.add_area(current_account(), request.form.get("name"))
        except ValidationError as exc:
            db.session.rollback()
            return self._page({"area": exc.message}, 422)
        db.session.commit()
        flash(_("Area %(name)s added.", name=area.name), "success")
        return redirect(url_for(".index"), code=303)

    @expose("/areas/<int:area_id>/bays", methods=["POST"])
    def bay_add(self, area_id: int):
        """Put a bay of the store into the area."""
        staff = current_account()
        try:
            area = devices.store_area(staff, area_id)
        except NotFound:
            abort(404)
        if not FlaskForm().validate_on_submit():
            abort(400)
        try:
            devices.add_bay(staff, area, int_arg(request.form.get("number")))
        except ValidationError as exc:
            db.session.rollback()
            return self._page({f"bay-{area.id}": exc.message}, 422)
        db.session.commit()
        return redirect(url_for(".index", store=area.store_id), code=303)

    @expose("/cameras/<int:camera_id>/check", methods=["POST"])
    def camera_check(self, camera_id: int):
        """Try to open the camera now and record online or offline."""
        camera = self._camera(camera_id)
        if not FlaskForm().validate_on_submit():
            abort(400)
        result = devices.check_camera(camera)
        db.session.commit()
        if result.ok:
            flash(_("%(name)s is online.", name=camera.name), "success")
        else:
            flash(
                _(
                    "%(name)s is offline: %(error)s",
                    name=camera.name,
                    error=devices.error_text(result.error),
                ),
                "error",
            )
        return redirect(url_for(".index", store=camera.store_id), code=303)

    @expose("/cameras/<int:camera_id>/test", methods=["POST"])
    def camera_test(self, camera_id: int):
        """Grab one frame from the camera and show it (inline, never cached)."""
        camera = self._camera(camera_id)
        if not FlaskForm().validate_on_submit():
            abort(400)
        result = devices.check_camera(camera, frame=True)
        db.session.commit()
        image = base64.b64encode(result.jpeg).decode() if result.jpeg else None
        response = make_response(
            self.render(
                "admin/video/camera_test.html",
                camera=camera,
                result=result,
                image=image,
                camera_status=CAMERA_STATUS,
                camera_error=devices.error_text,
            )
        )
        response.headers["Cache-Control"] = "no-store, private"
        return response
