"""HTML pages of the events domain, on one router: members' and animators' pages under
/s/{slug}/events, the public agenda under /p/{slug}/events, visitors' registrations under /r/."""

from app.event import manage_pages, member_pages, public_pages  # noqa: F401  (they add their routes)
from app.event.web import router

__all__ = ["router"]
