"""One error hierarchy for the whole application.

Services raise these; the API turns them into ``{"error": {"code", "message", "fields"}}`` with
their status, pages re-render the form with the message beside the field. Messages are English
msgids translated at render time in the caller's language.
"""

from __future__ import annotations

from typing import Any, ClassVar

from app.core.i18n import N_, gettext


class FabriqueError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.msgid = message or self.message
        self.error_code = code or self.code
        self.fields = fields or {}
        self.params = params or {}
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(self.msgid)

    def translated_message(self) -> str:
        text = gettext(self.msgid)
        return text % self.params if self.params else text

    def translated_fields(self) -> dict[str, str]:
        out = {}
        for name, msgid in self.fields.items():
            text = gettext(msgid)
            out[name] = text % self.params if self.params else text
        return out

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.error_code, "message": self.translated_message()}
        if self.fields:
            body["fields"] = self.translated_fields()
        body.update(self.extra)
        return {"error": body}


class BadRequest(FabriqueError):
    status_code = 400
    code = "bad_request"


class ValidationFailed(FabriqueError):
    """Business validation of an otherwise well-formed payload."""

    status_code = 422
    code = "validation_error"
    message = N_("Some fields are not valid.")


class NotAuthenticated(FabriqueError):
    status_code = 401
    code = "not_authenticated"
    message = N_("Please log in to continue.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class PermissionDenied(FabriqueError):
    status_code = 403
    code = "permission_denied"
    message = N_("You do not have permission to do this.")


class NotFound(FabriqueError):
    status_code = 404
    code = "not_found"
    message = N_("This page or object does not exist.")


class Conflict(FabriqueError):
    status_code = 409
    code = "conflict"
    message = N_("This conflicts with the current state.")


class Gone(FabriqueError):
    status_code = 410
    code = "gone"
    message = N_("This link is no longer valid.")


class TooManyRequests(FabriqueError):
    status_code = 429
    code = "too_many_requests"
    message = N_("Too many attempts. Try again in %(minutes)s min.")  # "1 minutes" read badly


class SpaceSuspended(FabriqueError):
    status_code = 423
    code = "space_suspended"
    message = N_("This space is suspended. Contact the platform operator.")


class AccountSuspended(FabriqueError):
    status_code = 403
    code = "account_suspended"
    message = N_("This account is suspended.")


class TenantScopeMissing(RuntimeError):
    """A query touched tenant data without a space scope: always a programming error."""
