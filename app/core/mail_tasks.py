from __future__ import annotations

from typing import Any

from app.core.mail import build_message, send_message
from workers.task import task


@task("email.send", session=False)
async def send_email(
    ctx: dict[str, Any], to: str, subject: str, text: str, html: str | None, attachments: list | None = None
) -> str | None:
    path = await send_message(build_message(to, subject, text, html, attachments))
    return str(path) if path else None
