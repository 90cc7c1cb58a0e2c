"""E-mail: rendered and sent by the ``email.send`` job, after the transaction commits.

A request only records what to say — the template name, a plain-data context and the recipient's
locale (resolved now) — so rendering the Jinja text and HTML, and building an iCalendar
invitation, cost the request nothing. Nothing is rendered or sent when the transaction rolls back.

Without ``FABRIQUE_SMTP_HOST`` every message is written to ``var/outbox/`` as an .eml file and
logged (recipient and subject only: links in bodies are credentials).
"""

from __future__ import annotations

import base64
import itertools
import logging
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage, MIMEPart
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from app.config import get_settings
from app.core import clock, i18n, jobs

log = logging.getLogger("fabrique.mail")
_outbox_seq = itertools.count(1)

# What a job's arguments may hold: arq pickles them and the job runs later, maybe in another
# process, so a live ORM object (detached, stale) or a lazy string (translated in whatever locale
# is active there) must not travel. Exact types: a str subclass such as an Enum is refused too.
PLAIN_TYPES = (str, int, float, bool, type(None), datetime, date, Decimal)

_template_helpers_loaded = False


def check_plain(value: Any, where: str) -> None:
    """Raise TypeError naming ``where`` (e.g. ``context['booking']``) unless ``value`` is plain data."""
    if type(value) in PLAIN_TYPES:
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"{where} has a non-str key {key!r}")
            check_plain(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}, not plain data: e-mails are "
        "rendered in a job, so pass str, int, float, bool, None, datetime, date, Decimal or "
        "lists/dicts of them (str() a lazy string, copy the fields of an ORM object)"
    )


def _load_template_helpers() -> None:
    # Domains register their template filters (booking's "when") in app/<domain>/formatting.py
    # when imported. The web process has imported them all; an arq worker has not.
    global _template_helpers_loaded
    if not _template_helpers_loaded:
        from app.core.discovery import domain_modules

        domain_modules("formatting")
        _template_helpers_loaded = True


def render_email(template: str, context: Mapping[str, Any], locale: str | None = None) -> tuple[str, str, str]:
    """Render ``emails/<template>.txt`` and ``.html``; the first line of the text is the subject."""
    from app.core.web import templates

    _load_template_helpers()
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
    invitation: dict[str, Any] | None = None,
) -> None:
    """Send ``emails/<template>`` to ``to`` after the transaction commits; rendered in the job.

    ``context`` must be plain data (see ``check_plain``; a TypeError names the offending key).
    ``locale`` defaults to the current one, resolved now: the job runs outside this request.
    ``attachments``: dicts with ``filename``, ``content_type`` (may carry params, e.g.
    ``text/calendar; method=REQUEST``) and ``content`` (text), or ``content`` in base64 with
    ``base64: True``. ``invitation``: a plain-data spec of an iCalendar invitation that the job
    builds and attaches (see ``app.core.mail_tasks.build_invitation``); if building it fails,
    the e-mail goes without it.
    """
    for key, value in context.items():
        check_plain(value, f"context[{key!r}]")
    check_plain(attachments or [], "attachments")
    if invitation is not None:
        if type(invitation) is not dict:
            raise TypeError(f"invitation is a {type(invitation).__qualname__}, not a dict")
        check_plain(invitation, "invitation")
    # A copy: the in-process runner does not pickle, and the caller may reuse its dict.
    jobs.enqueue(session, "email.send", to, template, dict(context), locale or i18n.get_locale(),
                 list(attachments or []), invitation=invitation)


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
        payload = msg.get_payload()
        part = payload[-1] if isinstance(payload, list) else None
        assert isinstance(part, MIMEPart)  # the attachment just added: a multipart's last part
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
