from app.core.errors import Conflict, FabriqueError, Gone, NotAuthenticated, ValidationFailed


class EmailTaken(Conflict):
    code = "email_taken"
    message = "An account already exists with this e-mail address. Log in or reset your password."

    def __init__(self) -> None:
        super().__init__(fields={"email": "This e-mail address is already used."})


class WeakPassword(ValidationFailed):
    code = "weak_password"
    message = "This password is too weak."

    def __init__(self, reason: str) -> None:
        super().__init__(fields={"password": reason})


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    message = "Wrong e-mail address or password."


class InvalidLink(FabriqueError):
    status_code = 400
    code = "invalid_link"
    message = "This link is not valid. Ask for a new one."


class ExpiredLink(Gone):
    code = "expired_link"
    message = "This link has expired or has already been used. Ask for a new one."


class WrongPassword(ValidationFailed):
    code = "wrong_password"
    message = "Your current password is not correct."

    def __init__(self) -> None:
        super().__init__(fields={"current_password": "Your current password is not correct."})
