"""Every URL rule of the app x every role -> the expected status.

The table is built from app.url_map: a new route without an entry here fails the test."""

from __future__ import annotations

import pytest
from flask import url_for

from portal.services.media import store_image
from tests.factories import PASSWORD as FACTORY_PASSWORD

ROLES = ("anonymous", "owner", "other_owner", "advisor", "advisor_b", "manager", "admin")
A = "anonymous owner other_owner advisor advisor_b manager admin".split()

# (anonymous, owner, other_owner, advisor, advisor of another store, manager, admin)
PUBLIC = (200,) * 7
LOGIN_PAGE = (200, 302, 302, 302, 302, 302, 302)  # logged-in users are sent home
OWNER_ONLY = (302, 200, 200, 403, 403, 403, 403)
OWN_OBJECT = (302, 200, 404, 403, 403, 403, 403)  # someone else's vehicle does not exist
OWN_POST = (302, 303, 404, 403, 403, 403, 403)
STAFF = (302, 403, 403, 200, 200, 200, 200)
MANAGERS = (302, 403, 403, 403, 403, 200, 200)
ADMINS = (302, 403, 403, 403, 403, 403, 200)


def admin_model(view_ok: tuple, *, details=200, create=200, edit=200, other_store=200):
    """Expected codes of one Flask-Admin model view's endpoints."""

    def pick(code):
        return tuple(code if c == 200 else c for c in view_ok)

    details_codes = list(pick(details))
    details_codes[ROLES.index("advisor_b")] = (
        other_store if view_ok[ROLES.index("advisor_b")] == 200 else details_codes[4]
    )
    return {
        "index_view": view_ok,
        "details_view": tuple(details_codes),
        "create_view": pick(create),
        "edit_view": pick(edit),
        "delete_view": pick(302),  # deleting is disabled everywhere: back to the list
        "action_view": pick(302),
        "export": pick(302),  # exporting is off: back to the list
        "list_export": pick(303),  # no file format chosen: back to the list, which says so
        "ajax_lookup": pick(404),  # no ajax fields are declared
        "ajax_update": pick(404),
    }


def group_model(**kw):
    """Expected codes of a group-wide model view: managers read it, admins edit it."""
    codes = admin_model(MANAGERS, **kw)
    codes["create_view"] = codes["edit_view"] = (302, 403, 403, 403, 403, 302, 200)
    return codes


EXPECTED: dict[str, tuple] = {
    "static": PUBLIC,
    "home.index": (200, 200, 200, 302, 302, 302, 302),
    "home.healthz": PUBLIC,
    "home.set_language": (303,) * 7,
    "home.account": OWNER_ONLY,
    "auth.login": LOGIN_PAGE,
    "auth.logout": (303,) * 7,
    "auth.register": PUBLIC,
    "auth.password_forgot": PUBLIC,
    "auth.password_reset": PUBLIC,
    "auth.password_change": (302, 200, 200, 200, 200, 200, 200),
    "devices.device_list": (302, 200, 200, 200, 200, 200, 200),
    "devices.device_revoke": (302, 303, 303, 303, 303, 303, 303),  # only one's own sessions
    "totp.login_code": (303,) * 7,  # without a right password first: back to login
    "totp.enrol": (302, 404, 404, 200, 200, 200, 200),
    "vehicles.vehicle_new": OWNER_ONLY,
    "vehicles.vehicle_show": OWN_OBJECT,
    "vehicles.vehicle_edit": OWN_OBJECT,
    "vehicles.mileage_add": OWN_POST,
    # A photo of store A's booking: its owner and store A's staff; nobody else, however signed.
    "media.image_show": (404, 200, 404, 200, 404, 200, 200),
    "media.image_thumb": (404, 200, 404, 200, 404, 200, 200),
    "bookings.booking_list": OWNER_ONLY,
    "bookings.booking_new": OWNER_ONLY,
    "bookings.slot_options": OWNER_ONLY,
    "bookings.booking_show": OWN_OBJECT,
    "bookings.booking_status": OWN_OBJECT,
    "bookings.booking_invoice": OWN_OBJECT,
    "bookings.booking_edit": OWN_OBJECT,
    "bookings.booking_cancel": OWN_POST,
    "bookings.proposal_answer": OWN_POST,
    "bookings.booking_reschedule": (302, 303, 404, 403, 403, 403, 403),  # not accepted yet
    "bookings.booking_rate": (302, 302, 404, 403, 403, 403, 403),  # not completed yet
    "bookings.booking_ics": (302, 404, 404, 403, 403, 403, 403),  # not accepted yet
    "bookings.calendar_feed": (404,) * 7,  # a wrong token is no feed
    "bookings.calendar_settings": OWNER_ONLY,
    "bookings.service_history": OWN_OBJECT,
    "notifications.notification_list": (302, 200, 200, 200, 200, 200, 200),
    "notifications.notification_badge": (302, 200, 200, 200, 200, 200, 200),
    "notifications.notification_read": (302, 303, 303, 303, 303, 303, 303),
    "maintenance.schedule_show": OWN_OBJECT,
    "maintenance.schedule_book": OWN_POST,  # nothing selected: back to the schedule
    "maintenance.reminder_settings": OWNER_ONLY,
    "sms_login.code_request": LOGIN_PAGE,
    "sms_login.code_verify": (302,) * 7,  # no number asked for yet: back to the first step
    "channels.channel_settings": OWNER_ONLY,
    "privacy.privacy_page": OWNER_ONLY,
    "policy.policy_show": PUBLIC,
    "policy.policy_version_show": (404,) * 7,  # no version published in this world
    "policy.policy_accept": (302, 302, 302, 403, 403, 403, 403),  # nothing new: home
    "privacy.privacy_export": (302, 200, 200, 403, 403, 403, 403),  # the zip itself
    "privacy.erasure_request": (302, 422, 422, 403, 403, 403, 403),  # no password: nothing
    "privacy.erasure_cancel": (302, 303, 303, 403, 403, 403, 403),
    "channels.wechat_unbind": (302, 303, 303, 403, 403, 403, 403),
    "channels.wechat_bind": (400,) * 7,  # the token is not a signed bind token
    "channels.wechat_callback": (400,) * 7,
    "channels.wechat_bind_confirm": (400,) * 7,  # nothing to confirm in this session
    "queue.index": STAFF,
    "queue.items": STAFF,
    "queue.decide": (302, 403, 403, 400, 404, 400, 400),  # unknown action; B cannot see it
    "workshop.index": STAFF,
    "workshop.step": (302, 403, 403, 400, 404, 400, 400),
    # The job card of store A's booking; an unknown action changes nothing.
    "workshop.card": (302, 403, 403, 200, 404, 200, 200),
    "workshop.card_act": (302, 403, 403, 400, 404, 400, 400),
    # A technician's own jobs (TECHNICIAN below): nobody else's page.
    "my_jobs.index": (302, 403, 403, 403, 403, 403, 403),
    "my_jobs.card": (302, 403, 403, 403, 403, 403, 403),
    "my_jobs.card_act": (302, 403, 403, 403, 403, 403, 403),
    # Advisors and managers of a store enter jobs; admins belong to no store.
    "staff_jobs.index": (302, 403, 403, 200, 200, 200, 403),
    "staff_jobs.new": (302, 403, 403, 200, 200, 200, 403),
    "my_store.index": (302, 403, 403, 403, 403, 200, 403),
    "booking_analytics.index": MANAGERS,
    "rescue.rescue_list": OWNER_ONLY,
    "rescue.rescue_new": OWNER_ONLY,
    "rescue.rescue_show": OWN_OBJECT,
    "rescue.rescue_status": OWN_OBJECT,
    "rescue.rescue_cancel": OWN_POST,
    "rescue_queue.index": STAFF,
    "rescue_queue.items": STAFF,
    "rescue_queue.act": (302, 403, 403, 400, 404, 400, 400),  # unknown action; B cannot see it
    "rescue_stats.index": MANAGERS,
    "admin.index": STAFF,
    "admin.static": PUBLIC,
    "unlocks.index": STAFF,
    "unlocks.approve": (302, 403, 403, 303, 404, 303, 303),
    "unlocks.break_glass": (302, 403, 403, 303, 404, 303, 303),
    # The shop: the catalog is public, carts are for owners and visitors, orders are owners'.
    "shop.index": PUBLIC,
    "shop.hot_fragment": PUBLIC,
    "shop.product_show": PUBLIC,
    "shop.buy_now": (302, 422, 422, 403, 403, 403, 403),  # an empty form: errors at the fields
    "shop.cart_show": (200, 200, 200, 403, 403, 403, 403),
    "shop.cart_add": (303, 303, 303, 403, 403, 403, 403),
    "shop.cart_update": (303, 303, 303, 403, 403, 403, 403),
    "shop.checkout": (302, 303, 303, 403, 403, 403, 403),  # an empty cart goes back to it
    "shop.order_list": OWNER_ONLY,
    "shop.coupon_list": OWNER_ONLY,
    "shop.orders_waiting": OWNER_ONLY,
    "shop.order_show": OWN_OBJECT,
    "shop.order_receipt": OWN_OBJECT,
    "shop.order_pay": (302, 404, 404, 403, 403, 403, 403),  # card payment is off: no page
    "shop.order_cancel": OWN_POST,
    "shop.order_return": OWN_POST,  # a pay-at-store order has no online payment: to the order
    "shop_stripe.webhook": (404,) * 7,  # Stripe is not configured in this app
    "shop_orders.index": STAFF,
    "shop_orders.detail": (302, 403, 403, 200, 404, 200, 200),
    "shop_orders.act": (302, 403, 403, 303, 404, 303, 303),
    "shop_sales.index": MANAGERS,
    "shop_stock.index": MANAGERS,
    "shop_stock.ledger": MANAGERS,
    "shop_stock.adjust": (302, 403, 403, 403, 403, 303, 303),
    "usedcars.request_list": OWNER_ONLY,
    "usedcars.request_new": OWNER_ONLY,
    "usedcars.request_show": OWN_OBJECT,
    "usedcars.request_edit": OWN_OBJECT,
    "usedcars.request_withdraw": OWN_POST,
    "usedcars.market_list": PUBLIC,
    "usedcars.market_show": PUBLIC,  # the sample car is listed
    "crm_used_cars.market_inquiry": (422,) * 7,  # the matrix sends no name or phone
    "advisors.index": STAFF,
    "advisors.show": MANAGERS,
    "advisors.leave": MANAGERS,
    "advisors.customer_new": STAFF,
    "notices.index": STAFF,
    "notices.create": (302, 403, 403, 403, 403, 200, 403),  # managers publish to their store
    "notices.show": (302, 403, 403, 200, 404, 200, 200),
    "notices.read": (302, 403, 403, 303, 404, 403, 403),
    "finance.overview": OWNER_ONLY,
    "finance.loan_show": OWN_OBJECT,
    "usedcar_review.index": STAFF,
    "usedcar_buyers.index": STAFF,
    "usedcar_review.show": (302, 403, 403, 200, 404, 200, 200),
    "usedcar_review.act": (302, 403, 403, 303, 404, 303, 303),
    "usedcar_review.flag_resolve": (302, 403, 403, 303, 404, 303, 303),
    "workshop_video.watch": OWN_OBJECT,
    "workshop_video.session_state": OWN_OBJECT,
    "workshop_video.session_token": (
        302,
        400,
        404,
        403,
        403,
        403,
        403,
    ),  # the job is not in progress
    "workshop_video.session_stop": OWN_POST,
    "workshop_video.media_report": (403,) * 7,  # only the media server's signed reports
    "video_queue.index": STAFF,
    "video_queue.items": STAFF,
    "video_queue.assign": (302, 403, 403, 400, 404, 400, 400),  # no camera chosen
    "video_trust.index": MANAGERS,
    "video_trust.follow_up": (302, 403, 403, 403, 403, 422, 422),  # the matrix sends no note
    "video_devices.index": MANAGERS,
    "video_devices.area_add": (302, 403, 403, 403, 403, 422, 422),  # no name
    "video_devices.bay_add": (302, 403, 403, 403, 403, 422, 422),  # no bay number
    "video_devices.camera_check": (302, 403, 403, 403, 403, 303, 303),
    "video_devices.camera_test": (302, 403, 403, 403, 403, 200, 200),  # offline: says why
    "outbox.index": ADMINS,
    "outbox.retry": (302, 403, 403, 403, 403, 403, 303),  # no such dead letter: says so
    # The CRM: owners and visitors ask; staff work the sample lead of store A.
    "crm.interest": (200, 200, 200, 403, 403, 403, 403),
    "crm.interest_sent": PUBLIC,
    "crm.trade_in_valuation": (200, 200, 200, 403, 403, 403, 403),  # staff enter leads inside
    "leads.index": STAFF,
    "leads.new": STAFF,
    "leads.show": (302, 403, 403, 200, 404, 200, 200),
    "leads.reveal": (302, 403, 403, 200, 404, 200, 200),
    "leads.act": (302, 403, 403, 303, 404, 303, 303),  # no step named: said, nothing changes
    "crm_customers.index": STAFF,
    # The maker's warranty end of store A's car: its staff enter it; agents do not (AGENT).
    "vehicles_admin.warranty": (302, 403, 403, 200, 404, 200, 200),
    "crm_customers.show": (302, 403, 403, 200, 404, 200, 200),
    "crm_customers.merge_records": (302, 403, 403, 403, 403, 303, 303),  # no other record named
    "routing_rules.index": (302, 403, 403, 403, 403, 200, 403),  # a store's managers
    "routing_rules.shift_add": (302, 403, 403, 403, 403, 303, 403),  # nothing chosen: said
    "routing_rules.rule_add": (302, 403, 403, 403, 403, 303, 403),
    "routing_rules.shift_delete": (302, 403, 403, 403, 403, 404, 403),  # no such shift
    "routing_rules.rule_delete": (302, 403, 403, 403, 403, 404, 403),
    "crm_customers.consent": (302, 403, 403, 200, 404, 200, 200),
    # The sample lead's customer is the advisor's own: they and the manager edit the card.
    "crm_customers.profile": (302, 403, 403, 200, 404, 200, 200),
    "crm_customers.relation_add": (302, 403, 403, 303, 404, 303, 303),  # nobody named: said
    "crm_customers.relation_delete": (302, 403, 403, 404, 404, 404, 404),  # no such link
    "customer_tiers.index": (302, 403, 403, 403, 403, 200, 403),  # a store's managers
    "customer_tiers.tier_add": (302, 403, 403, 403, 403, 303, 403),  # no name: said
    "customer_tiers.tier_save": (302, 403, 403, 403, 403, 404, 403),  # no such tier
    "customer_value.index": MANAGERS,  # admins: the first store, or ?store=
    "customer_value.band_add": (302, 403, 403, 403, 403, 303, 303),  # no name; admins: not theirs
    "customer_value.band_save": (302, 403, 403, 403, 403, 404, 303),  # no such band
    "lead_speed.index": MANAGERS,
    # Inspections: store A's sent inspection. Its owner link is a bearer link: whoever holds it.
    "inspections.index": STAFF,
    "inspections.start": (302, 403, 403, 303, 404, 303, 303),  # not checked in: says so
    "inspections.show": (302, 403, 403, 200, 404, 200, 200),
    "inspections.item_save": (302, 403, 403, 409, 404, 409, 409),  # already sent to the owner
    "inspections.finish": (302, 403, 403, 303, 404, 303, 303),  # already sent: says so
    "inspections.send": (302, 403, 403, 303, 404, 303, 303),  # the link again
    "inspections.decisions": (302, 403, 403, 200, 404, 200, 200),
    "inspections.outcome": (302, 403, 403, 200, 404, 200, 200),  # read only, polled
    "inspections.manifest": STAFF,  # the installable app: the staff who record inspections
    "inspections.service_worker": STAFF,
    "inspection_funnel.index": MANAGERS,
    "owner_inspections.inspection_show": PUBLIC,
    "owner_inspections.item_decide": (400,) * 7,  # neither approve nor decline
    "owner_inspections.item_photo": PUBLIC,
    "owner_inspections.item_thumb": PUBLIC,
    # The first item's video clip (ready): store A's staff, and whoever holds the owner's link.
    "inspections.item_clip": (302, 403, 403, 200, 404, 200, 200),
    "inspections.item_clip_poster": (302, 403, 403, 200, 404, 200, 200),
    "inspections.item_clip_state": (302, 403, 403, 200, 404, 200, 200),
    "owner_inspections.item_clip": PUBLIC,
    "owner_inspections.item_clip_poster": PUBLIC,
    # The repair status link of store A's checked-in car: a read-only bearer link.
    "repair_status.status_show": PUBLIC,
    "repair_status.status_live": PUBLIC,
    "workshop.status_link_send": (302, 403, 403, 303, 404, 303, 303),  # not checked in: says so
    "segments.index": MANAGERS,
    "segments.new": MANAGERS,
    "segments.edit": (302, 403, 403, 403, 403, 200, 200),
    "segments.preview": MANAGERS,  # no rule sent: the page says so
    "campaigns.index": MANAGERS,
    "campaigns.new": MANAGERS,
    "campaigns.show": (302, 403, 403, 403, 403, 200, 200),
    "campaigns.progress": (302, 403, 403, 403, 403, 200, 200),
    "campaigns.act": (302, 403, 403, 403, 403, 303, 303),  # no step named: said, nothing changes
    "campaigns.builtin": (302, 403, 403, 403, 403, 303, 303),  # no key named: said
    "recalls.index": MANAGERS,
    "recalls.upload": (302, 403, 403, 403, 403, 422, 422),  # no file: said, nothing kept
    "recalls.show": (302, 403, 403, 403, 403, 404, 404),  # no recall of that id
    "recalls.send": (302, 403, 403, 403, 403, 404, 404),
    "channels.unsubscribe": (404,) * 7,  # the token is not a signed unsubscribe token
    # The sales pipeline: store A's drive, quote and order; an empty POST is refused with a
    # message and back to the page (303); another store's records do not exist (404).
    "test_drives.index": STAFF,
    "test_drives.car_add": (302, 403, 403, 303, 303, 303, 303),
    "test_drives.book": (302, 403, 403, 303, 404, 303, 303),
    "test_drives.outcome": (302, 403, 403, 303, 404, 303, 303),
    "quotes.index": STAFF,
    "quotes.new": (302, 403, 403, 200, 404, 200, 200),
    "quotes.show": (302, 403, 403, 200, 404, 200, 200),
    "quotes.decide": (302, 403, 403, 303, 404, 303, 303),
    "quotes.accept": (302, 403, 403, 303, 404, 303, 303),
    # The sample quote is accepted: sending its link is refused with a message (back to it).
    "quotes.send": (302, 403, 403, 303, 404, 303, 303),
    "sales_orders.index": STAFF,
    "sales_orders.sign": (302, 403, 403, 303, 404, 303, 303),
    "sales_orders.show": (302, 403, 403, 200, 404, 200, 200),
    "sales_orders.step": (302, 403, 403, 303, 404, 303, 303),
    "sales_orders.check": (302, 403, 403, 303, 404, 303, 303),
    "sales_board.index": MANAGERS,
    "sales_funnel.index": MANAGERS,
    "sales_board.settings": (302, 403, 403, 403, 403, 303, 303),
    "api_tokens.index": ADMINS,
    "privacy_policy.index": ADMINS,
    "privacy_policy.publish": (302, 403, 403, 403, 403, 403, 422),  # an empty form: errors shown
    "privacy_policy.version": (302, 403, 403, 403, 403, 403, 404),  # no version 1 in the world
    "api_tokens.create": (302, 403, 403, 403, 403, 403, 422),  # an empty form: errors shown
    "api_tokens.revoke": (302, 403, 403, 403, 403, 403, 303),  # no such token: says so
    # Exports: staff of a store (not agents); an empty form is refused; the sample export id
    # and download token do not exist. Imports: managers; no file, or no checked upload.
    "exports.index": STAFF,
    "exports.start": (302, 403, 403, 422, 422, 422, 422),
    "exports.job": (302, 403, 403, 404, 404, 404, 404),
    "exports.fetch": (302, 403, 403, 404, 404, 404, 404),
    "imports.index": MANAGERS,
    "imports.preview": (302, 403, 403, 403, 403, 422, 422),
    "imports.apply": (302, 403, 403, 403, 403, 303, 303),
    # Catalog imports: managers (their store's stock counts), admins (products, price lists
    # too); the sample kind is "stock"; no file, or no checked upload.
    "catalog_imports.index": MANAGERS,
    "catalog_imports.template": MANAGERS,
    "catalog_imports.sample": MANAGERS,
    "catalog_imports.preview": (302, 403, 403, 403, 403, 422, 422),
    "catalog_imports.apply": (302, 403, 403, 403, 403, 303, 303),
    # The sample job is a customer import: no job of the catalog import page.
    "catalog_imports.job": (302, 403, 403, 403, 403, 404, 404),
    "catalog_imports.failures": (302, 403, 403, 403, 403, 404, 404),
    # Platform lead imports: managers; no file, or no checked upload.
    "lead_imports.index": MANAGERS,
    "lead_imports.preview": (302, 403, 403, 403, 403, 422, 422),
    "lead_imports.apply": (302, 403, 403, 403, 403, 303, 303),
    # An import job of store A (a customer import): its progress page and its refused rows.
    # The same id under the other import is not a job of that kind: it does not exist.
    "imports.job": MANAGERS,
    "imports.failures": MANAGERS,
    "lead_imports.job": (302, 403, 403, 403, 403, 404, 404),
    "lead_imports.failures": (302, 403, 403, 403, 403, 404, 404),
    # Store A's sample endpoint: managers of store A and admins; nobody else sees it.
    "webhooks.index": MANAGERS,
    "webhooks.create": (302, 403, 403, 403, 403, 422, 422),  # an empty form: errors shown
    "webhooks.detail": MANAGERS,
    "webhooks.rotate": MANAGERS,  # the new secret is shown on the page
    "webhooks.set_active": (302, 403, 403, 403, 403, 303, 303),
    "webhooks.replay": (302, 403, 403, 403, 403, 303, 303),  # never sent that event: says so
    "webhooks.ping": (302, 403, 403, 403, 403, 303, 303),  # queued for the sample endpoint
    # The JSON API answers bearer tokens only, never a session (test_api_token_matrix below).
    "api.openapi_document": PUBLIC,
    "api.docs": PUBLIC,
    **{
        f"api.{name}": (401,) * 7
        for name in (
            "customer_list",
            "customer_show",
            "vehicle_list",
            "service_record_list",
            "booking_list",
            "booking_show",
            "lead_list",
            "lead_show",
            "lead_create",
            "order_list",
            "order_show",
            "product_list",
            "camera_list",
            "booking_create",
            "booking_reschedule",
            "booking_cancel",
            "vehicle_mileage",
            "customer_update",
            "lead_stage",
            "product_stock",
        )
    },  # fmt: skip
    # The call centre and each person's day (the sample lead's first-contact task, store A).
    "today.index": STAFF,
    "today.call": (302, 403, 403, 303, 404, 303, 303),  # no outcome chosen: said, nothing changes
    "today.ask": (302, 403, 403, 303, 404, 303, 303),  # no request named: said, nothing changes
    "calls.index": STAFF,
    "calls.card": (302, 403, 403, 302, 302, 302, 302),  # without htmx: the console page
    "calls.pop": (302, 403, 403, 204, 204, 204, 204),  # no caller ID posted
    "calls.lead_new": (302, 403, 403, 422, 422, 422, 422),  # the matrix sends no name
    "task_approvals.index": MANAGERS,
    "task_approvals.decide": (302, 403, 403, 403, 403, 303, 303),  # nothing asked: said
    "task_rules.index": (302, 403, 403, 403, 403, 200, 403),  # a store's managers
    "invitations.index": STAFF,
    "invitations.invite": (302, 403, 403, 200, 404, 200, 200),  # store A's lead
    "invitations.check_in": (302, 403, 403, 303, 404, 303, 303),  # an agent is told: not theirs
    "tomorrow.index": STAFF,
    "tomorrow.move": (302, 403, 403, 303, 404, 303, 303),  # no direction given: said, no change
    "activity_report.index": STAFF,
    "callerid.caller_id": (404,) * 7,  # no token configured: the webhook is off
    # A campaign message's tracked link and offer page: the matrix's token is not a signed one.
    "campaign_links.click": (404,) * 7,
    "campaign_links.offer": (404,) * 7,
    "campaign_links.sms_inbound": (404,) * 7,  # no token configured: the webhook is off
    # A quote sent as a link: the matrix's token is not a signed one.
    "quote_links.show": (404,) * 7,
    "quote_links.answer": (404,) * 7,
    # Service quality: store A's sample complaint; the owner's links are bearer links (the
    # matrix's token is not a signed one).
    "quality.complaint_list": OWNER_ONLY,
    "quality.complaint_new": OWNER_ONLY,
    "quality.complaint_answer": (404,) * 7,
    "quality.survey": (404,) * 7,
    "complaints.index": STAFF,
    "complaints.new": STAFF,
    "complaints.show": (302, 403, 403, 200, 404, 200, 200),
    "complaints.act": (302, 403, 403, 303, 404, 303, 303),  # no step named: said, nothing changes
    "complaint_analytics.index": MANAGERS,
    "complaint_analytics.deadlines": (302, 403, 403, 403, 403, 200, 403),  # a store's managers
    "csi.index": MANAGERS,
    "csi.questions": (302, 403, 403, 403, 403, 200, 403),  # a store's managers
    # The group's comparison of stores: admins here; headquarters and regions (GROUP below).
    "group_dashboard.index": ADMINS,
    "help.owner_help": PUBLIC,
    "manual.index": STAFF,  # every staff role's manual (the group's roles too: GROUP)
}
# A call-centre agent of store A gets what store A's advisor gets, except where listed here:
# the back office's store pages are closed to agents; their day, console and queue are open.
AGENT: dict[str, int] = dict.fromkeys(
    [
        *"advisors.index advisors.customer_new notices.index notices.show notices.read".split(),
        *"leads.index leads.new leads.show leads.reveal leads.act".split(),
        *"crm_customers.index crm_customers.show queue.index queue.items queue.decide".split(),
        "crm_customers.consent",
        "vehicles_admin.warranty",
        "staff_jobs.index",
        "staff_jobs.new",
        *"crm_customers.profile crm_customers.relation_add crm_customers.relation_delete".split(),
        *"rescue_queue.index rescue_queue.items rescue_queue.act workshop.index".split(),
        *"workshop.step shop_orders.index shop_orders.detail shop_orders.act".split(),
        "workshop.status_link_send",
        "workshop.card",
        "workshop.card_act",
        *"unlocks.index unlocks.approve unlocks.break_glass usedcar_review.index".split(),
        "usedcar_buyers.index",
        *"usedcar_review.show usedcar_review.act usedcar_review.flag_resolve".split(),
        *"video_queue.index video_queue.items video_queue.assign".split(),
        *"exports.index exports.start exports.job exports.fetch".split(),
        *[
            f"{prefix}.{endpoint}"
            for prefix in "owners vehicles_admin reviewed usedcar_leads loans policies".split()
            + ["video_sessions"]
            for endpoint in admin_model(STAFF)
        ],
    ],
    403,
)


# The group's roles: headquarters ("hq"), the regional manager of store A's region ("region")
# and the manufacturer officer of a brand store A sells ("manufacturer"). They have no store
# and see figures, never a person's record. Every back-office page but their dashboard refuses
# them (403); elsewhere they get what the advisor of store B gets (store A's records do not
# exist for them), except where listed here.
GROUP_VIEWERS = ("hq", "region", "manufacturer")
GROUP: dict[str, int] = {
    "admin.index": 302,  # the back-office home sends them on to their dashboard
    "admin.static": 200,
    "group_dashboard.index": 200,
    "manual.index": 200,
}


# A workshop technician of store A: their "My jobs" page and the home that sends them there,
# and the inspections of their jobs; every other back-office page refuses them (403).
# Elsewhere they see no record of the store but their jobs, so they get what the advisor of
# store B gets, except where listed here.
TECHNICIANS = ("technician",)
TECHNICIAN: dict[str, int] = {
    "admin.index": 302,  # the back-office home sends them on to their jobs
    "admin.static": 200,
    "my_jobs.index": 200,
    "my_jobs.card": 200,  # the sample booking is assigned to them
    "my_jobs.card_act": 400,  # no such action
    "manual.index": 200,  # their manual
    # The sample booking is theirs (not checked in: says so); the sample inspection is of a
    # job not assigned to them, so it does not exist for them. Sending it to the owner and
    # following the owner's decisions is the advisor's, whatever the job (403).
    "inspections.index": 200,
    "inspections.start": 303,
    "inspections.show": 404,
    "inspections.item_save": 404,
    "inspections.finish": 404,
    "inspections.item_clip": 404,
    "inspections.item_clip_poster": 404,
    "inspections.item_clip_state": 404,
    "inspections.send": 403,
    "inspections.decisions": 403,
    "inspections.outcome": 404,  # their own job's: tests/portal/test_inspection_followup.py
    "inspections.manifest": 200,
    "inspections.service_worker": 200,
}


def back_office_areas() -> set[str]:
    """Return the endpoint prefixes of the back office's pages (the menu's table)."""
    from admin import PAGES

    return {page.endpoint for page in PAGES} | {"admin"}


# Whole back-office areas that are the showroom's and the workshop's, not the call centre's.
AGENT_CLOSED_AREAS = ("inspections", "quotes", "test_drives", "sales_orders", "complaints")


def expected_code(endpoint: str, role: str) -> int:
    """Return the expected status of the endpoint for the role (agents: see AGENT)."""
    if role in GROUP_VIEWERS:
        if endpoint in GROUP:
            return GROUP[endpoint]
        if endpoint.split(".")[0] in back_office_areas():
            return 403
        return EXPECTED[endpoint][ROLES.index("advisor_b")]
    if role in TECHNICIANS:
        if endpoint in TECHNICIAN:
            return TECHNICIAN[endpoint]
        if endpoint.split(".")[0] in back_office_areas():
            return 403
        return EXPECTED[endpoint][ROLES.index("advisor_b")]
    if role == "agent":
        if endpoint.split(".")[0] in AGENT_CLOSED_AREAS:
            return 403
        return AGENT.get(endpoint, EXPECTED[endpoint][ROLES.index("advisor")])
    return EXPECTED[endpoint][ROLES.index(role)]


for prefix, expected in {
    # The samples belong to store A: for store B's advisor they do not exist (back to the list).
    "staff": admin_model(MANAGERS),
    "owners": admin_model(STAFF, create=302, edit=302, other_store=302),
    "vehicles_admin": admin_model(STAFF, create=302, edit=302, other_store=302),
    "stores": admin_model(ADMINS, details=302),  # no details page: the list shows it all
    "brands": admin_model(ADMINS, details=302),
    "audit": admin_model(MANAGERS, create=302, edit=302),
    # The sample booking is not decided yet, so it is not in the archive.
    "reviewed": admin_model(STAFF, details=302, create=302, edit=302, other_store=302),
    "store_days": admin_model(MANAGERS, details=302, edit=302),
    "plans": group_model(),
    "shop_products": group_model(),
    "shop_categories": group_model(details=302),
    "shop_discounts": group_model(details=302),
    "shop_placements": group_model(details=302),
    "usedcar_leads": admin_model(STAFF, create=302, edit=302, other_store=302),
    "loans": admin_model(STAFF, edit=302, other_store=302),
    "policies": admin_model(STAFF, edit=302, other_store=302),
    "cameras": admin_model(MANAGERS, details=302),
    "video_sessions": admin_model(STAFF, details=302, create=302, edit=302, other_store=302),
    "inspection_templates": admin_model(MANAGERS, details=302),
}.items():
    for endpoint, codes in expected.items():
        EXPECTED[f"{prefix}.{endpoint}"] = codes


@pytest.fixture
def world(app, f, db):
    store_a, store_b = f.store("A"), f.store("B")
    owner = f.owner(store_a)
    users = {
        "owner": owner,
        "other_owner": f.owner(store_a),
        "advisor": f.advisor(store_a),
        "advisor_b": f.advisor(store_b),
        "manager": f.manager(store_a),
        "admin": f.admin(),
        "agent": f.agent(store_a),
        "technician": f.technician(store_a),
        "hq": f.hq(),
        "region": f.regional(f.region("华南", (store_a,))),
        "manufacturer": f.manufacturer(f.brand("BYD", (store_a,), name="比亚迪", name_en="BYD")),
    }
    vehicle = f.vehicle(owner)
    f.vehicle(users["other_owner"])
    from tests.portal.test_maintenance import make_plan

    plan = make_plan(db)
    booking = f.booking(owner, store_a, vehicle=vehicle)
    rescue = f.rescue(owner, vehicle)
    from portal.demo import avatar_png

    private = store_image(avatar_png(__import__("random").Random(1)), owner=owner)
    from portal.models import BookingPhoto

    db.session.add(BookingPhoto(booking_id=booking.id, image_id=private.id))
    from portal.models import BookingTechnician

    db.session.add(BookingTechnician(booking_id=booking.id, technician_id=users["technician"].id))
    with app.test_request_context():  # image addresses carry a signature of the id
        image_key = url_for("media.image_show", image_id=private.id).rsplit("/", 1)[1]
    locked = f.advisor(store_a)
    from portal.models import AuditEvent, UnlockRequest
    from portal.timeutil import now

    locked.locked_at = now()
    req = UnlockRequest(user_id=locked.id, store_id=store_a.id, status="open")
    db.session.add(req)
    db.session.add(AuditEvent(action="sample", store_id=store_a.id))
    from workshop_video.models import Camera, VideoSession, WorkshopArea

    camera = Camera(
        store_id=store_a.id, bay=1, name="Bay 1", source="rtsp://u:p@127.0.0.1:9/1"
    )  # refused at once
    area = WorkshopArea(store_id=store_a.id, name="机电区")
    db.session.add_all([camera, area])
    db.session.flush()
    video = VideoSession(booking_id=booking.id, viewer_id=owner.id, store_id=store_a.id)
    db.session.add(video)
    db.session.commit()
    product, order, discount, placement = _shop_samples(owner, store_a)
    car, flag, earlier_inquiry = _usedcar_samples(db, owner, users["advisor"])
    loan, policy = _finance_samples(db, owner, users["advisor"])
    from portal.services import notices

    notice = notices.publish(users["manager"], title="店内通知", body="周六培训")
    db.session.commit()
    from crm import leads as crm_leads

    lead = crm_leads.capture(
        crm_leads.Inquiry(name="潜客", phone="13655550001", store=store_a, source="phone")
    ).lead
    db.session.commit()
    from crm.used_car_leads import inquire

    inquire(car, name="买家", phone="13912345678")  # a buyer's lead (after the sample's turn)
    db.session.commit()
    invitation = _invitation_sample(users["agent"], lead)
    inspection = _inspection_sample(db, users["advisor"], store_a)
    complaint = _complaint_sample(db, owner, store_a)
    campaign = _campaign_sample(users["manager"], store_a)
    drive, quote, sales_order = _pipeline_samples(db, store_a, users["manager"])
    args = {
        "vehicle_id": vehicle.id,
        "image_id": image_key,
        "token": "not-a-real-token",
        "key": "0" * 64,  # no such login session
        "request_id": req.id,
        "booking_id": booking.id,
        "rescue_id": rescue.id,
        "export_type": "csv",
        "filename": "css/m4s.css",
        "product_id": product.id,
        "order_id": order.id,
        "action": "ready",  # refused for a pending order: nothing changes, back to it
        "car_id": car.id,
        "flag_id": flag.id,
        "loan_id": loan.id,
        "advisor_id": users["advisor"].id,
        "notice_id": notice.id,
        "session_id": video.id,
        "camera_id": camera.id,
        "area_id": area.id,
        "owner_id": owner.id,
        "message_id": "0" * 32,
        "lead_id": lead.id,
        "customer_id": lead.customer_id,
        "version": 1,
        "inspection_id": inspection.id,
        "item_id": inspection.items[0].id,
        "link": inspection_link(inspection),
        "status_token": status_token(inspection.booking),
        "segment_id": campaign.segment_id,
        "campaign_id": campaign.id,
        "drive_id": drive.id,
        "quote_id": quote.id,
        "sales_order_id": sales_order.id,
        "token_id": 999,  # no such API token
        "endpoint_id": _webhook_sample(users["manager"], store_a),
        "event_id": "evt_" + "0" * 32,  # no such event
        "task_id": lead.tasks[0].id,
        "shift_id": 999_999,  # no such shift
        "rule_id": 999_999,
        "relation_id": 999_999,  # no such link
        "tier_id": 999_999,  # no such tier
        "band_id": 999_999,  # no such value band
        "export_id": 999,  # no such export
        "kind": "stock",  # a catalog import's kind
        "import_id": _import_job_sample(users["manager"], store_a),
        "complaint_id": complaint.id,
        "invitation_id": invitation.id,
        "provider": "aliyun",
        "recall_id": 999_999,  # no such recall
    }
    query = {
        "staff": locked.id,
        "owners": owner.id,
        "vehicles_admin": vehicle.id,
        "stores": store_a.id,
        "brands": store_a.brands[0].id,
        "audit": 1,
        "reviewed": booking.id,
        "store_days": 1,
        "plans": plan.id,
        "cameras": camera.id,
        "video_sessions": video.id,
        "bookings.slot_options": f"?store={store_a.id}",
        "shop_products": product.id,
        "shop_categories": product.category_id,
        "shop_discounts": discount.id,
        "shop_placements": placement.id,
        "usedcar_leads": earlier_inquiry.id,
        "loans": loan.id,
        "policies": policy.id,
        "inspection_templates": inspection.template_id,
    }
    return users, args, query


def _webhook_sample(manager, store):
    """An endpoint of store A; returns its id."""
    from portal.extensions import db
    from portal.services import webhooks

    endpoint, _ = webhooks.create_endpoint(
        manager, store.id, "https://erp.example.com/m4s", ["booking.created"]
    )
    db.session.commit()
    return endpoint.id


def _import_job_sample(manager, store):
    """A customer import of store A, queued by its manager; returns its id."""
    from admin.models import CUSTOMERS_IMPORT, ImportJob
    from portal.extensions import db

    job = ImportJob(kind=CUSTOMERS_IMPORT, store_id=store.id, user_id=manager.id, upload="x")
    db.session.add(job)
    db.session.commit()
    return job.id


def _invitation_sample(agent, lead):
    """The agent's invitation of store A's lead to the showroom tomorrow."""
    from datetime import timedelta

    from crm import invitations
    from portal.extensions import db
    from portal.timeutil import now

    invitation = invitations.invite(
        agent, lead, now() + timedelta(days=1), kind="visit", advisor=None
    )
    db.session.commit()
    return invitation


def _campaign_sample(manager, store):
    """A draft campaign of store A to a segment of store A."""
    from crm import campaigns
    from portal.extensions import db

    rule = {"all": [{"field": "consent", "op": "has", "value": "inapp"}]}
    segment = campaigns.save_segment(manager, store, "样本", rule)
    draft = campaigns.Draft("样本活动", segment, {"inapp": {"body_zh": "您好"}}, {})
    campaign = campaigns.create_campaign(manager, draft)
    db.session.commit()
    return campaign


def _pipeline_samples(db, store, manager):
    """Store A's demo car booked for a lead, and another lead's accepted quote and its order."""
    from datetime import date, timedelta

    from crm import leads as crm_leads
    from crm import orders, quotes
    from crm import test_drives as drives
    from portal.timeutil import now

    def lead(phone):
        return crm_leads.capture(
            crm_leads.Inquiry(name="试驾客", phone=phone, store=store, source="walk_in")
        ).lead

    car = drives.add_car(manager, store, "丰田", "丰田 凯美瑞", "Toyota Camry", "")
    slot = drives.slots(store, now().date() + timedelta(days=2))[0]
    drive = drives.book(
        manager,
        lead("13655550002"),
        car,
        slot.starts_at,
        licence_no="110101199003074477",
        licence_valid_until=date(2099, 1, 1),
        licence_seen=True,
    )
    draft = quotes.Draft(brand="丰田", series="凯美瑞", vehicle_fen=200_000_00)
    quote = quotes.make_quote(manager, lead("13655550003"), draft)
    quotes.accept(manager, quote)
    sales_order = orders.sign(manager, quote, 10_000_00, None)
    db.session.commit()
    return drive, quote, sales_order


def _shop_samples(owner, store):
    """A product with stock and a pending order of it, both owned by store A's owner."""
    from portal.extensions import db
    from shop import cart as carts
    from shop import orders, stock
    from shop.models import Category, Discount, Placement, Product

    product = Product(sku="S-1", name="Mat", category=Category(name="Mats"), price_fen=100)
    db.session.add(product)
    db.session.flush()
    stock.set_initial(product, 5)
    cart = carts.open_cart(owner)
    carts.set_quantity(cart, product, 1)
    order = orders.place_order(owner, cart, delivery="pickup", store=store)
    discount = Discount(product_id=product.id, kind="percent", value=10)
    placement = Placement(product_id=product.id, kind="hot")
    db.session.add_all([discount, placement])
    db.session.commit()
    return product, order, discount, placement


def _usedcar_samples(db, owner, advisor):
    """A listed used car of the owner (store A), an open flag on it, and a buyer's inquiry
    recorded before inquiries became CRM leads."""
    from datetime import date

    from portal.models import UsedCarFlag, UsedCarLead
    from portal.services import usedcars
    from tests import factories

    car = usedcars.submit_request(
        owner,
        vin=factories.vin(),
        brand="丰田",
        series="凯美瑞",
        model_year=2020,
        mileage_km=40_000,
        first_registered_on=date(2020, 5, 1),
        asking_price_fen=10_000_000,
        photos=[_png()],
    )
    usedcars.start_review(advisor, car, advisor)
    usedcars.approve(
        advisor,
        car,
        grade="A",
        checked_items=["engine"],
        valuation_low_fen=9_000_000,
        valuation_high_fen=10_000_000,
    )
    usedcars.list_car(advisor, car)
    earlier = UsedCarLead(
        request_id=car.id,
        store_id=car.store_id,
        advisor_id=advisor.id,
        name="老买家",
        phone="13912345679",
    )
    flag = UsedCarFlag(request_id=car.id, kind="mileage_low", detail={})
    db.session.add_all([earlier, flag])
    db.session.commit()
    return car, flag, earlier


def _finance_samples(db, owner, advisor):
    """A loan and an insurance policy of the owner (store A)."""
    from datetime import date

    from portal.services import finance

    loan = finance.record_loan(
        advisor,
        customer=owner,
        vehicle=None,
        lender="招商银行",
        principal_fen=10_000_000,
        annual_rate_bp=435,
        term_months=36,
        start_date=date(2025, 1, 1),
    )
    policy = finance.record_policy(
        advisor,
        customer=owner,
        vehicle=None,
        insurer="中国人保",
        policy_number="PDAA1",
        coverage="combined",
        premium_fen=400_000,
        starts_on=date(2025, 1, 1),
        ends_on=date(2026, 1, 1),
    )
    db.session.commit()
    return loan, policy


def _inspection_sample(db, advisor, store):
    """A sent inspection of a checked-in car of store A, its first item red with a photo and
    a video clip."""
    from portal.services import inspections
    from tests import factories
    from tests.portal.test_inspections import checked_in_booking, make_template

    template = make_template(db, store)
    booking = checked_in_booking(factories, db, store, advisor)
    inspection = inspections.start(advisor, booking, template.id)
    first = inspection.items[0]
    inspections.record_item(
        advisor, inspection, first.id, severity="red", note="", price_fen=100, photo=_png()
    )
    _ready_clip(db, first)
    inspections.send(advisor, inspection)
    db.session.commit()
    return inspection


def _ready_clip(db, item):
    """Give the item a clip as the worker leaves it, ready to play (not transcoded here)."""
    import hashlib

    from portal.models import InspectionClip

    video = b"\x00\x00\x00\x18ftypmp42" + bytes(200)
    db.session.add(
        InspectionClip(
            item_id=item.id,
            status="ready",
            video=video,
            poster=_png(),
            content_type="video/mp4",
            video_bytes=len(video),
            sha256=hashlib.sha256(video).hexdigest(),
            width=720,
            height=404,
            duration_ms=2000,
        )
    )
    db.session.flush()


def _complaint_sample(db, owner, store):
    """An open complaint of the owner at store A, entered by phone."""
    from crm import complaints

    complaint = complaints.open_complaint(
        owner, store, source="phone", category="waiting", severity="medium", description="等太久"
    )
    db.session.commit()
    return complaint


def inspection_link(inspection) -> str:
    from portal.services import inspections

    return inspections.link_token(inspection)


def status_token(booking) -> str:
    from portal.services.bookings import status_link

    return status_link.link_token(booking)


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (9, 9, 9)).save(out, format="PNG")
    return out.getvalue()


def _rules(app):
    # Reads first, then the POST-only routes, so that a state change cannot hide a page.
    return sorted(app.url_map.iter_rules(), key=lambda r: ("GET" not in r.methods, r.endpoint))


def _request(client, rule, args, query):
    url = rule.rule
    for name in rule.arguments:
        value = args["filename"] if name == "filename" and rule.endpoint == "static" else args[name]
        if rule.endpoint == "admin.static" and name == "filename":
            value = "admin/css/bootstrap4/admin.css"
        url = url.replace(f"<{name}>", str(value))
        url = url.replace(f"<int:{name}>", str(value)).replace(f"<path:{name}>", str(value))
        url = url.replace(f"<image:{name}>", str(value))
    prefix = rule.endpoint.split(".")[0]
    if rule.endpoint.endswith(("details_view", "edit_view")) and prefix in query:
        url += f"?id={query[prefix]}"
    url += query.get(rule.endpoint, "")
    if "GET" in rule.methods:
        return client.get(url)
    data = {
        "lang": "en",
        "km": "999999",
        "reason": "test",
        "action": "activate",
        "rowid": "1",
        "id": "1",
        "answer": "accept",
    }
    if "PATCH" in rule.methods:
        return client.patch(url, data=data)
    return client.post(url, data=data)


def test_every_route_has_an_entry(app):
    missing = [r.endpoint for r in _rules(app) if r.endpoint not in EXPECTED]
    assert missing == [], f"add these endpoints to EXPECTED: {missing}"
    stale = set(EXPECTED) - {r.endpoint for r in _rules(app)}
    assert stale == set()


@pytest.mark.parametrize("role", (*ROLES, "agent", *GROUP_VIEWERS, *TECHNICIANS))
def test_access_matrix(app, world, role):
    users, args, query = world
    mismatches = []
    for rule in _rules(app):
        client = app.test_client()
        if role != "anonymous":
            client.post(
                "/login",
                data={"login": users[role].login, "password": "correct horse battery staple"},
            )
        response = _request(client, rule, args, query)
        status = response.status_code
        response.close()
        want = expected_code(rule.endpoint, role)
        if status != want:
            mismatches.append((rule.endpoint, want, status))
    assert mismatches == [], mismatches


def _persons_data(db, users, role: str) -> set[str]:
    """Give every person of the world a name found nowhere else; return every name, phone
    number and VIN of the world but the signed-in group viewer's own name and number."""
    from sqlalchemy import select

    from portal.models import AdvisorProfile, UsedCarLead, UsedCarRequest, User, Vehicle

    me = users[role]
    for person in db.session.scalars(select(User).where(User.id != me.id)):
        person.name = f"测姓{person.id}名"
    for profile in db.session.scalars(select(AdvisorProfile)):
        profile.display_name = f"测姓{profile.user_id}名"
    for buyer in db.session.scalars(select(UsedCarLead)):
        buyer.name = f"测买家{buyer.id}名"
    db.session.commit()
    found = set(db.session.scalars(select(User.name).where(User.id != me.id)))
    found |= set(db.session.scalars(select(User.phone).where(User.id != me.id)))
    found |= set(db.session.scalars(select(UsedCarLead.name)))
    found |= set(db.session.scalars(select(UsedCarLead.phone)))
    found |= set(db.session.scalars(select(Vehicle.vin)))
    found |= set(db.session.scalars(select(UsedCarRequest.vin)))
    return {value for value in found if value}


def _signed_in(app, user):
    client = app.test_client()
    client.post("/login", data={"login": user.login, "password": FACTORY_PASSWORD})
    return client


@pytest.mark.parametrize("role", ["region", "manufacturer"])
def test_a_store_group_viewer_sees_no_persons_data(app, world, db, role):
    """Walk every route as store A's regional manager, and as the officer of a brand only store
    A sells: the dashboard answers (with store A's figures), and no answer holds a name, a
    phone number or a VIN of the world that the same request without signing in would not
    show (a public page, a bearer link)."""
    users, args, query = world
    secrets = _persons_data(db, users, role)
    assert len(secrets) > 20  # owners, staff, leads' customers, buyers, cars
    leaks, answered = [], []
    for rule in _rules(app):
        client = _signed_in(app, users[role])  # afresh: the walk signs out on the way
        response = _request(client, rule, args, query)
        assert response.status_code == expected_code(rule.endpoint, role), rule.endpoint
        body = response.get_data().decode("utf-8", "replace")
        if response.status_code == 200 and rule.endpoint not in ("static", "admin.static"):
            answered.append(rule.endpoint)
        response.close()
        found = [value for value in secrets if value in body]
        if found:  # a bearer link (the owner's inspection) shows the same to anyone holding it
            public = _request(app.test_client(), rule, args, query)
            seen = public.get_data().decode("utf-8", "replace")
            public.close()
            leaks += [(rule.endpoint, value) for value in found if value not in seen]
    assert leaks == []
    assert "group_dashboard.index" in answered
    dashboard = _signed_in(app, users[role]).get("/admin/group_dashboard/")
    dashboard = dashboard.get_data(as_text=True)
    assert ">A<" in dashboard and ">B<" not in dashboard  # their region's or brand's store only


# API tokens: (no token, every scope and store, store A only, store B only, read scopes only,
# bookings:read of store A only). The samples are store A's; store B's token cannot see them.
TOKENS = ("none", "all", "store_a", "store_b", "read_only", "bookings_read")
API_EXPECTED: dict[str, tuple] = {
    "api.openapi_document": (200,) * 6,
    "api.docs": (200,) * 6,
    "api.customer_list": (401, 200, 200, 200, 200, 403),
    "api.customer_show": (401, 200, 200, 404, 200, 403),
    "api.vehicle_list": (401, 200, 200, 200, 200, 403),
    "api.service_record_list": (401, 200, 200, 200, 200, 403),
    "api.booking_list": (401, 200, 200, 200, 200, 200),
    "api.booking_show": (401, 200, 200, 404, 200, 200),
    "api.product_list": (401, 200, 200, 200, 200, 403),
    "api.camera_list": (401, 200, 200, 200, 200, 403),
    # In this order: cancel the sample (done), book anew, then move the cancelled one (refused).
    "api.booking_cancel": (401, 200, 200, 404, 403, 403),
    "api.booking_create": (401, 201, 201, 404, 403, 403),
    "api.booking_reschedule": (401, 422, 422, 404, 403, 403),
    "api.lead_list": (401, 200, 200, 200, 200, 403),
    "api.lead_show": (401, 200, 200, 404, 200, 403),
    "api.lead_create": (401, 201, 201, 404, 403, 403),  # a new phone: a new lead in store A
    "api.order_list": (401, 200, 200, 200, 200, 403),
    "api.order_show": (401, 200, 200, 404, 200, 403),
    # Each token adds a higher reading of store A's sample car (the bodies rise per kind).
    "api.vehicle_mileage": (401, 200, 200, 404, 403, 403),
    # Store A's sample customer renamed, its lead moved on; products are the group's catalogue,
    # so a store's token adjusts stock as the store's manager does on the Stock page.
    "api.customer_update": (401, 200, 200, 404, 403, 403),
    "api.lead_stage": (401, 200, 200, 404, 403, 403),
    "api.product_stock": (401, 200, 200, 200, 403, 403),
}


def test_every_api_route_has_a_token_entry(app):
    api_rules = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    assert api_rules == set(API_EXPECTED)


def _token_secret(kind, users):
    from api import tokens
    from api.models import SCOPES

    if kind == "none":
        return None
    store_a, store_b = users["advisor"].store, users["advisor_b"].store
    scopes, store = {
        "all": (SCOPES, None),
        "store_a": (SCOPES, store_a),
        "store_b": (SCOPES, store_b),
        "read_only": ([s for s in SCOPES if s.endswith(":read")], None),
        "bookings_read": (["bookings:read"], store_a),
    }[kind]
    _token, secret = tokens.create_token(users["admin"], kind, list(scopes), store)
    return secret


@pytest.mark.parametrize("kind", TOKENS)
def test_api_token_matrix(app, world, db, kind):
    from tests import factories

    users, args, _query = world
    owner = users["owner"]
    store_a = users["advisor"].store
    secret = _token_secret(kind, users)
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    slot = factories.slot(store_a, days=2).isoformat()
    bodies = {
        "api.booking_create": {
            "customer_id": owner.id,
            "vehicle_id": args["vehicle_id"],
            "store_id": store_a.id,
            "slot_start": slot,
            "service_types": ["maintenance"],
        },
        "api.booking_reschedule": {"slot_start": slot},
        "api.booking_cancel": {"reason": "matrix"},
        "api.lead_create": {"store_id": store_a.id, "name": "网销客", "phone": "13966660001"},
        "api.vehicle_mileage": {"km": 2_000_000 + TOKENS.index(kind)},
        "api.customer_update": {"name": "矩阵客户", "email": f"{kind}@example.com"},
        "api.lead_stage": {"stage": "contacted", "note": "matrix"},
        "api.product_stock": {"delta": 1, "reason": "matrix"},
    }
    values = {
        "customer_id": owner.id,
        "booking_id": args["booking_id"],
        "lead_id": args["lead_id"],
        "order_id": args["order_id"],
        "vehicle_id": args["vehicle_id"],
        "product_id": args["product_id"],
    }
    rules = [r for r in _rules(app) if r.endpoint.startswith("api.")]
    mismatches = []
    for rule in rules:
        url = rule.build(values)[1]
        client = app.test_client()
        if "GET" in rule.methods:
            response = client.get(url, headers=headers)
        elif "PATCH" in rule.methods:
            response = client.patch(url, json=bodies[rule.endpoint], headers=headers)
        else:
            key = {"Idempotency-Key": f"{kind}-{rule.endpoint}"}
            response = client.post(url, json=bodies[rule.endpoint], headers=headers | key)
        want = API_EXPECTED[rule.endpoint][TOKENS.index(kind)]
        if response.status_code != want:
            mismatches.append(
                (rule.endpoint, want, response.status_code, response.get_data()[:200])
            )
        elif want >= 400:
            assert response.content_type == "application/problem+json", rule.endpoint
    assert mismatches == [], mismatches
    assert mismatches == [], "\n".join(map(str, mismatches))
