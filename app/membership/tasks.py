"""Memberships' jobs, found by convention (``app/<domain>/tasks.py``): each area's module."""

from app.membership import reminder_tasks  # noqa: F401  (registers membership.send_reminders, membership.remind)
