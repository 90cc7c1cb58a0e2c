"""queue_email takes plain data only; the email.send job renders it and builds the invitation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from app.account.models import Account
from app.core import db, i18n, jobs
from app.core.mail import queue_email
from app.event.models import RegistrationStatus
from tests.fixtures.harness import mail_text

START = datetime(2027, 3, 2, 8, tzinfo=UTC)


def _verify_context(**extra) -> dict:
    return {"name": "Reader", "url": "http://testserver/v/1", **extra}


@pytest.mark.parametrize(("extra", "where"), [
    ({"account": Account(name="Ada", email="ada@example.org")}, "context['account']"),
    ({"label": i18n.lazy_gettext("Price")}, "context['label']"),
    ({"status": RegistrationStatus.confirmed}, "context['status']"),
    ({"bookings": [{"starts_at": START}, {"starts_at": object()}]}, "context['bookings'][1]['starts_at']"),
])
def test_queue_email_refuses_what_is_not_plain_data_and_names_the_key(extra, where):
    session = SimpleNamespace(info={})
    with pytest.raises(TypeError, match=rf"^{re.escape(where)} is a "):
        queue_email(session, "reader@example.org", "verify_email", _verify_context(**extra), locale="en")
    assert session.info == {}  # nothing queued


def test_queue_email_accepts_every_plain_type_and_queues_the_template_not_a_rendering():
    added: list = []
    session = SimpleNamespace(info={}, add=added.append)
    ctx = _verify_context(n=1, x=1.5, ok=True, none=None, at=START, day=START.date(), amount=Decimal("1.50"),
                          items=[{"a": (1, "b")}])
    with i18n.use_locale("fr"):
        queue_email(session, "reader@example.org", "verify_email", ctx)
    [job] = session.info[jobs.BUFFER_KEY]
    [row] = added  # written in the caller's transaction (the job outbox)
    assert (row.id, row.name) == (job.outbox_id, "email.send")
    assert job.name == "email.send"
    # The locale is resolved when queued: the job runs outside this request.
    assert job.args == ("reader@example.org", "verify_email", ctx, "fr", [])


def _invitation(**overrides) -> dict:
    return {
        "uid": "booking-1@a.fabrique", "start": START, "end": START + timedelta(hours=1), "summary": "Salle · A",
        "last_modified": START, "sequence": 0, "location": None, "method": "REQUEST", "organizer_name": "A",
        "attendee_email": "reader@example.org", "attendee_name": "Reader", "tz": "Europe/Paris",
        "stamp": START, **overrides,
    }


async def test_the_job_builds_the_invitation_from_its_spec(app, outbox):
    async with db.transaction() as session:
        queue_email(session, "reader@example.org", "verify_email", _verify_context(), locale="en",
                    invitation=_invitation())
    [msg] = await outbox()
    [cal] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert "UID:booking-1@a.fabrique" in cal.get_content()
    assert cal.get_param("method") == "REQUEST"


async def test_a_broken_invitation_spec_still_sends_the_email_without_it(app, outbox):
    async with db.transaction() as session:
        queue_email(session, "reader@example.org", "verify_email", _verify_context(), locale="en",
                    invitation=_invitation(end=START - timedelta(hours=1)))  # ends before it starts
    [msg] = await outbox()
    assert "http://testserver/v/1" in mail_text(msg)
    assert list(msg.iter_attachments()) == []
