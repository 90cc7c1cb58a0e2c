from app.core.errors import Conflict, FabriqueError, Gone, NotAuthenticated, ValidationFailed
from app.core.i18n import N_


class EmailTaken(Conflict):
    code = "email_taken"
    message = N_("An account already exists with this e-mail address. Log in or reset your password.")

    def __init__(self) -> None:
        super().__init__(fields={"email": N_("This e-mail address is already used.")})


class WeakPassword(ValidationFailed):
    code = "weak_password"
    message = N_("This password is too weak.")

    def __init__(self, reason: str) -> None:
        super().__init__(fields={"password": reason})


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    message = N_("Wrong e-mail address or password.")


class InvalidLink(FabriqueError):
    status_code = 400
    code = "invalid_link"
    message = N_("This link is not valid. Ask for a new one.")


class ExpiredLink(Gone):
    code = "expired_link"
    message = N_("This link has expired or has already been used. Ask for a new one.")


class WrongPassword(ValidationFailed):
    code = "wrong_password"
    message = N_("Your current password is not correct.")

    def __init__(self) -> None:
        super().__init__(fields={"current_password": N_("Your current password is not correct.")})


class LastOwnerOfSpace(Conflict):
    code = "last_owner"
    message = N_("You are the only owner of %(space)s. Make someone else owner first, then delete your account.")


class ConfirmDeletion(ValidationFailed):
    code = "deletion_not_confirmed"
    message = N_("Type your password to confirm the deletion of your account.")

    def __init__(self) -> None:
        super().__init__(fields={"password": N_("Your current password is needed to confirm.")})
