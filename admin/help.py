"""The staff manual: the signed-in person's role first, then the other roles' topics."""

from __future__ import annotations

from flask_admin import expose

from admin.base import StaffView
from admin.labels import ROLE_LABELS
from portal import help as content
from portal.auth import current_account


class HelpView(StaffView):
    """How the back office works for each role, with screenshots of today's screens."""

    @expose("/")
    def index(self):
        mine = current_account().role
        roles = [mine, *(r for r in content.STAFF_MANUAL if r != mine)]
        return self.render(
            "admin/help.html",
            sections=[(r, ROLE_LABELS[r], content.STAFF_MANUAL[r]) for r in roles],
            mine=mine,
            has_shot=content.has_shot,
        )
