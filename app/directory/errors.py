from __future__ import annotations

from app.core.errors import NotFound, ValidationFailed


def N_(message: str) -> str:
    return message


class ProfileNotFound(NotFound):
    code = "profile_not_found"
    message = N_("This profile does not exist or is not visible.")


class InvalidProfile(ValidationFailed):
    code = "invalid_profile"
