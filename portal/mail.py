"""Outgoing email: queued in the outbox by requests, sent over SMTP by the worker."""

from __future__ import annotations

import smtplib
import threading
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

from flask import current_app

from portal.models import OutboxMessage
from portal.services.outbox import DeliveryError, enqueue, register


def send_mail(
    to: str,
    subject: str,
    body: str,
    *,
    kind: str = "account",
    store_id: int | None = None,
    user_id: int | None = None,
) -> OutboxMessage:
    """Queue a plain-text email in the current transaction; the worker sends it after commit."""
    return enqueue(
        "email", to, kind=kind, subject=subject, body=body, store_id=store_id, user_id=user_id
    )


def message_id(message: OutboxMessage) -> str:
    """Return the Message-ID header of a queued email: the same for every try."""
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2].strip("> ") or "m4s.local"
    return f"<{message.id}@{domain}>"


def build_email(message: OutboxMessage) -> MIMEText:
    """Build the email of an outbox row, with its stable Message-ID."""
    # compat32 MIMEText, not EmailMessage: the worker builds one per message, and this costs a
    # fifth as much (0.1 against 0.5 ms) for the same plain UTF-8 mail.
    msg = MIMEText(message.body, "plain", "utf-8")
    msg["From"] = formataddr(parseaddr(current_app.config["MAIL_FROM"]), "utf-8")
    msg["To"] = message.recipient
    msg["Subject"] = Header(message.subject, "utf-8")
    msg["Message-ID"] = message_id(message)
    msg["Date"] = formatdate(message.created_at.timestamp(), localtime=False)
    return msg


# The worker sends many messages in a row: one SMTP connection per worker thread is kept open
# and reused, and dropped after any error (the next message opens a fresh one).
_local = threading.local()


def _connection() -> smtplib.SMTP:
    smtp = getattr(_local, "smtp", None)
    if smtp is not None:
        return smtp
    cfg = current_app.config
    smtp = smtplib.SMTP(cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), timeout=10)
    if cfg["SMTP_STARTTLS"]:
        smtp.starttls()
    if cfg["SMTP_USER"]:
        smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
    _local.smtp = smtp
    return smtp


def close_connection() -> None:
    """Close this thread's SMTP connection, if one is open."""
    smtp = getattr(_local, "smtp", None)
    _local.smtp = None
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def deliver_email(message: OutboxMessage) -> None:
    """Send one queued email over SMTP; raise DeliveryError when the server does not take it."""
    if not current_app.config["SMTP_HOST"]:
        current_app.logger.info(
            "mail not sent (no M4S_SMTP_HOST): to=%s subject=%s", message.recipient, message.subject
        )
        return
    email = build_email(message)
    try:
        _connection().send_message(email)
    except smtplib.SMTPRecipientsRefused as exc:
        close_connection()
        raise DeliveryError(f"recipient refused: {exc.recipients}", retryable=False) from exc
    except smtplib.SMTPResponseException as exc:
        close_connection()
        permanent = 500 <= exc.smtp_code < 600
        raise DeliveryError(
            f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=not permanent
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        close_connection()
        raise DeliveryError(f"SMTP: {exc}") from exc


register("email", deliver_email)
