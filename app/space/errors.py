from app.core.errors import Conflict, Gone, ValidationFailed
from app.core.i18n import N_


class SlugInvalid(ValidationFailed):
    code = "slug_invalid"
    message = N_("The web address may only contain lowercase letters, digits and hyphens (3 to 48 characters).")

    def __init__(self) -> None:
        super().__init__(fields={"slug": self.message})


class SlugReserved(ValidationFailed):
    code = "slug_reserved"
    message = N_("This web address is reserved. Choose another one.")

    def __init__(self) -> None:
        super().__init__(fields={"slug": self.message})


class SlugTaken(Conflict):
    code = "slug_taken"
    message = N_("Another space already uses this web address. Choose another one.")

    def __init__(self) -> None:
        super().__init__(fields={"slug": self.message})


class InvalidTimezone(ValidationFailed):
    code = "invalid_timezone"
    message = N_("Unknown time zone.")

    def __init__(self) -> None:
        super().__init__(fields={"timezone": self.message})


class LastOwner(Conflict):
    code = "last_owner"
    message = N_("A space must keep at least one owner. Make someone else owner first.")


class AlreadyMember(Conflict):
    code = "already_member"
    message = N_("This person is already a member of the space.")

    def __init__(self) -> None:
        super().__init__(fields={"email": self.message})


class InvitationInvalid(Gone):
    code = "invitation_invalid"
    message = N_("This invitation has expired, was revoked or has already been used. Ask for a new one.")
