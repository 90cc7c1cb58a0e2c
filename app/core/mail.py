"""E-mail: rendered in the recipient's language during the request, sent by the ``email.send`` job.

Without ``FABRIQUE_SMTP_HOST`` every message is written to ``var/outbox/`` as an .eml file and
logged (recipient and subject only: links in bodies are credentials).
"""

from __future__ import annotations

import base64
import itertools
import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from app.config import get_settings
from app.core import clock, i18n, jobs

log = logging.getLogger("fabrique.mail")
_outbox_seq = itertools.count(1)


def render_email(template: str, context: dict[str, Any], locale: str | None = None) -> tuple[str, str, str]:
    """Render ``emails/<template>.txt`` and ``.html``; the first line of the text is the subject."""
    from app.core.web import templates

    with i18n.use_locale(locale or i18n.get_locale()):
        ctx = {"base_url": get_settings().base_url, **context}
        text = templates.env.get_template(f"emails/{template}.txt").render(ctx)
        html = templates.env.get_template(f"emails/{template}.html").render(ctx)
    subject, _sep, body = text.partition("\n")
    return subject.strip(), body.strip() + "\n", html


def queue_email(
    session: Any,
    to: str,
    template: str,
    context: dict[str, Any],
    *,
    locale: str | None = None,
    attachments: list[dict[str, str]] | None = None,
) -> None:
    """Render now, send after the transaction commits.

    ``attachments``: dicts with ``filename``, ``content_type`` (may carry params, e.g.
    ``text/calendar; method=REQUEST``) and ``content`` (text).
    """
    subject, text, html = render_email(template, context, locale)
    jobs.enqueue(session, "email.send", to, subject, text, html, attachments or [])


def build_message(
    to: str, subject: str, text: str, html: str | None, attachments: list[dict[str, str]] | None = None
) -> EmailMessage:
    settings = get_settings()
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(clock.now().timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(domain="fabrique.local")
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for att in attachments or []:
        maintype, _slash, rest = att["content_type"].partition("/")
        subtype, *params = [p.strip() for p in rest.split(";")]
        content = att["content"]
        data = base64.b64decode(content) if att.get("base64") else content.encode()
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=att.get("filename"))
        part = msg.get_payload()[-1]
        for param in params:
            key, _eq, value = param.partition("=")
            part.set_param(key, value, header="Content-Type")
    return msg


async def send_message(msg: EmailMessage) -> Path | None:
    settings = get_settings()
    if settings.smtp_host:
        import aiosmtplib

        await aiosmtplib.send(
            msg, hostname=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_username,
            password=settings.smtp_password, start_tls=settings.smtp_starttls, timeout=30,
        )
        log.info("mail sent to=%s subject=%r", msg["To"], msg["Subject"])
        return None
    outbox = settings.outbox_dir
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
    safe_to = "".join(c if c.isalnum() or c in "@.-_" else "_" for c in str(msg["To"]))
    # The sequence keeps two messages to one person at the same (frozen) instant apart, in order.
    path = outbox / f"{stamp}-{next(_outbox_seq):06d}-{safe_to}.eml"
    path.write_bytes(bytes(msg))
    log.info("mail written to=%s subject=%r file=%s", msg["To"], msg["Subject"], path.name)
    return path
