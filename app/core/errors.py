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
        field_params: dict[str, dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.msgid = message or self.message
        self.error_code = code or self.code
        self.fields = fields or {}
        self.params = params or {}
        # A field's own parameters ("120 characters at most" beside one field, 2000 beside another).
        self.field_params = field_params or {}
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
            params = self.field_params.get(name, self.params)
            out[name] = text % params if params else text
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


class FieldErrors:
    """Every field error of one form or payload, so that all are reported at once (not one per
    submit). ``check`` runs one field's validation and keeps its error; ``raise_if_any`` raises
    them together as one ``ValidationFailed``::

        errors = FieldErrors()
        name = errors.check(require_text, form.get("name"), "name", max_length=120)
        ...
        errors.raise_if_any()
    """

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.field_params: dict[str, dict[str, Any]] = {}
        self.code: str | None = None

    def add(self, field: str, msgid: str, **params: Any) -> None:
        """Record ``field``'s error (the first one found for a field is the one shown)."""
        if field not in self.fields:
            self.fields[field] = msgid
            if params:
                self.field_params[field] = params

    def merge(self, exc: FabriqueError) -> None:
        """Keep the field errors of a raised ``ValidationFailed`` (re-raise anything else)."""
        if not exc.fields:
            raise exc
        for name, msgid in exc.fields.items():
            self.add(name, msgid, **exc.field_params.get(name, exc.params))
        self.code = self.code or exc.error_code

    def check(self, validate: Any, *args: Any, **kwargs: Any) -> Any:
        """``validate(*args, **kwargs)``, or None with its field errors kept."""
        try:
            return validate(*args, **kwargs)
        except ValidationFailed as exc:
            self.merge(exc)
            return None

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self, code: str | None = None) -> None:
        """Raise the errors found, if any: with the one error's own code when there is one error,
        else ``code`` (or the generic ``validation_error``)."""
        if self.fields:
            own = self.code if len(self.fields) == 1 else None
            raise ValidationFailed(fields=dict(self.fields), field_params=dict(self.field_params), code=own or code)


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
