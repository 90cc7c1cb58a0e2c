from __future__ import annotations

from app.core.errors import Conflict, NotFound, ValidationFailed


def N_(message: str) -> str:
    return message


class ProfileNotFound(NotFound):
    code = "profile_not_found"
    message = N_("This profile does not exist or is not visible.")


class InvalidProfile(ValidationFailed):
    code = "invalid_profile"


class LastOwnerOfSpace(Conflict):
    code = "last_owner"
    message = N_("You are the only owner of %(space)s. Make someone else owner first, then delete your account.")


class ConfirmDeletion(ValidationFailed):
    code = "deletion_not_confirmed"
    message = N_("Type your password to confirm the deletion of your account.")

    def __init__(self) -> None:
        super().__init__(fields={"password": N_("Your current password is needed to confirm.")})
