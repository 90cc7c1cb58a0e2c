"""The ``email.send`` job: render the template, build the invitation, send.

It runs after the commit of the transaction that queued it (``app.core.mail.queue_email``), in
the web process or an arq worker, so everything it needs arrives as plain data.
"""

from __future__ import annotations

import logging
from typing import Any

from app.config import get_settings
from app.core.mail import build_message, render_email, send_message
from workers.task import task

log = logging.getLogger("fabrique.mail")

# The keys of an invitation spec that describe the event itself (``app.core.ics.FeedItem``);
# the others say who sends it to whom, and how.
_ITEM_KEYS = ("uid", "start", "end", "summary", "last_modified", "sequence", "status", "description",
              "location", "url")


def build_invitation(spec: dict[str, Any]) -> dict[str, str]:
    """An iTIP (.ics) attachment from a plain-data spec.

    ``spec``: ``uid``, ``start``, ``end``, ``summary``, ``last_modified``, ``sequence``, and
    optionally ``location``, ``status``, ``description``, ``url`` (the ``FeedItem`` fields);
    ``method`` (REQUEST or CANCEL), ``organizer_name``, ``attendee_email``, ``attendee_name``,
    ``tz`` (the space's IANA zone) and ``stamp`` (when it was queued, so that a retried job builds
    the same bytes). The organizer's address is the platform's From address, as in the e-mail.
    """
    # Imported here: app.core must not import a domain when it is imported itself.
    from app.core import ics

    item = ics.FeedItem(**{k: spec[k] for k in _ITEM_KEYS if spec.get(k) is not None})
    mail_from = get_settings().mail_from
    organizer_email = mail_from.split("<")[-1].rstrip(">").strip() if "<" in mail_from else mail_from
    content = ics.build_invitation(
        item, method=spec["method"], organizer_email=organizer_email, organizer_name=spec.get("organizer_name"),
        attendee_email=spec["attendee_email"], attendee_name=spec.get("attendee_name"), tz=spec["tz"],
        stamp=spec["stamp"],
    )
    attachment = ics.invitation_attachment(spec["method"])
    return {"filename": attachment.filename, "content_type": attachment.content_type, "content": content.decode()}


@task("email.send", session=False)
async def send_email(
    ctx: dict[str, Any], to: str, template: str, context: dict[str, Any], locale: str,
    attachments: list[dict[str, str]] | None = None, invitation: dict[str, Any] | None = None,
) -> str | None:
    subject, text, html = render_email(template, context, locale)
    attachments = list(attachments or [])
    if invitation is not None:
        try:
            attachments.append(build_invitation(invitation))
        except Exception:  # the e-mail matters more than its attachment
            log.exception("could not build the calendar invitation %s of a %s e-mail",
                          invitation.get("uid"), template)
    path = await send_message(build_message(to, subject, text, html, attachments))
    return str(path) if path else None
