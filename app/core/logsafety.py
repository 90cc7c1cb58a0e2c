"""Keep secrets out of log lines.

Links e-mailed to people carry credentials in their path (password reset, e-mail verification,
invitations, calendar feeds); uvicorn's access log would print them. This filter masks them.
"""

from __future__ import annotations

import logging
import re

SECRET_PATHS = re.compile(
    r"(/(?:reset-password|verify-email|invitations|api/v1/invitations|feeds|e|register/confirm)/)[^/\s?\"']+"
)
QUERY_SECRETS = re.compile(r"([?&](?:token|key|secret|password)=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    return QUERY_SECRETS.sub(r"\1***", SECRET_PATHS.sub(r"\1***", text))


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "fabrique"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
