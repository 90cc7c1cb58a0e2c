"""HTML pages of memberships: each part adds its modules here (they add their routes to ``router``)."""

from app.membership import pages_manage, pages_member  # noqa: F401  (they add their routes)
from app.membership.web import router

__all__ = ["router"]
