"""Back office: recall notices. A manager uploads a recall's VIN list (checked line by line,
refused whole with the bad lines named), sees how many of the store's owners it affects, and
sends the notice with one tap; the notice is a campaign whose progress the campaign page
follows."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from admin import imports
from admin.base import StaffView
from admin.campaigns import _record, _stores
from admin.list_pages import newest_page
from crm import campaigns, recalls
from crm.campaign_models import RecallList
from portal.auth import current_account
from portal.errors import DomainError
from portal.extensions import db
from portal.inputs import int_arg

PAGE_SIZE = 50  # the recalls a page lists


class RecallView(StaffView):
    """The store's recall lists: upload, preview the affected owners, send the notice."""

    @expose("/")
    def index(self):
        return self._index()

    def _index(self, error: str = "", bad=(), name: str = "", status: int = 200):
        me = current_account()
        return self.render(
            "admin/campaigns/recalls.html",
            **newest_page(RecallList, PAGE_SIZE, (selectinload(RecallList.store),)),
            stores=_stores(me),
            error=error,
            bad=bad[: recalls.SHOWN_ERRORS],
            bad_total=len(bad),
            name=name,
        ), status

    @expose("/upload", methods=["POST"])
    def upload(self):
        """Check a recall's VIN file and keep it, or name every bad line and keep nothing."""
        me = current_account()
        name = (request.form.get("name") or "")[:120]
        upload = request.files.get("file")
        try:
            store = campaigns.store_for(me, int_arg(request.form.get("store"), minimum=1))
            if upload is None or not upload.filename:
                return self._index(_("Choose the file of VINs."), name=name, status=422)
            data = upload.read(current_app.config["IMPORT_MAX_BYTES"] + 1)
            checked = recalls.check_table(imports.read_table(data))
            if checked.errors:
                message = _(
                    "%(n)d lines are not VINs: correct them and upload again.",
                    n=len(checked.errors),
                )
                return self._index(message, bad=checked.errors, name=name, status=422)
            recall = recalls.save_list(me, store, name, checked)
        except DomainError as exc:
            db.session.rollback()
            return self._index(exc.message, name=name, status=422)
        db.session.commit()
        flash(_("Recall saved: %(n)d VINs.", n=recall.vins), "success")
        return redirect(url_for(".show", recall_id=recall.id), code=303)

    @expose("/<int:recall_id>")
    def show(self, recall_id: int):
        recall = _record(RecallList, recall_id)
        return self.render(
            "admin/campaigns/recall.html",
            recall=recall,
            owners=recalls.affected(recall),
            notices=recalls.notices(recall),
            text=recalls.NOTICE,
        )

    @expose("/<int:recall_id>/send", methods=["POST"])
    def send(self, recall_id: int):
        """Send the recall notice to every affected owner the store can reach."""
        recall = _record(RecallList, recall_id)
        texts = {k: (request.form.get(k) or "")[:2000] for k in recalls.NOTICE}
        try:
            campaign = recalls.send_notice(current_account(), recall, texts)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".show", recall_id=recall_id), code=303)
        db.session.commit()
        flash(_("The recall notice is being sent."), "success")
        return redirect(url_for("campaigns.show", campaign_id=campaign.id), code=303)
