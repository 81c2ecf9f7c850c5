"""Outgoing email through SMTP; without a configured host, mail is logged instead."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


def send_mail(to: str, subject: str, body: str) -> bool:
    """Send a plain-text email; return True when an SMTP server accepted it."""
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    if not cfg["SMTP_HOST"]:
        current_app.logger.info("mail not sent (no M4S_SMTP_HOST): to=%s subject=%s", to, subject)
        return False
    try:
        with smtplib.SMTP(cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), timeout=10) as smtp:
            if cfg["SMTP_STARTTLS"]:
                smtp.starttls()
            if cfg["SMTP_USER"]:
                smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException):
        current_app.logger.exception("mail to %s failed", to)
        return False
    return True
