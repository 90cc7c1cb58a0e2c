"""Records are kept: rows that are or will be accounting or legal records are never deleted.

A model marked ``@kept_record`` (the audit log, bookings, event registrations; charges, invoices
and payments as they come) promises three things:

- **No cascade deletes it.** Its foreign keys are ``ON DELETE RESTRICT`` (or ``SET NULL`` for a
  reference to a person who may be anonymised), never ``CASCADE`` — the space's too, so
  ``SpaceScoped`` models override ``space_id``. Deleting a space, a resource or an event that has
  records is then refused by the database itself; a space is closed (suspended), not erased.
  ``tests/core/test_kept_records.py`` walks ``SQLModel.metadata`` and the migrated database and
  fails for any marked table with a cascade (a table marked later is covered by the same test).
- **The ORM refuses to delete it.** ``session.delete(row)`` and a bulk ORM ``delete()`` raise
  ``RecordKept`` (a 409): cancel, archive or anonymise instead.
- Personal data in it is anonymised in place when an account is deleted (``app.account.privacy``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from app.core.errors import Conflict
from app.core.i18n import N_

_M = TypeVar("_M", bound=type)
KEPT_TABLES: dict[str, type] = {}


class RecordKept(Conflict):
    code = "record_kept"
    message = N_("This is kept as a record and cannot be deleted: cancel or archive it instead.")


def kept_record(cls: _M) -> _M:
    """Mark a table model as a kept record (see the module docstring)."""
    KEPT_TABLES[str(getattr(cls, "__tablename__"))] = cls  # noqa: B009 - a model class, not typed as one
    return cls


def is_kept(obj_or_cls: Any) -> bool:
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return getattr(cls, "__tablename__", None) in KEPT_TABLES


@event.listens_for(Session, "before_flush")
def _refuse_deleting_records(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if is_kept(obj):
            raise RecordKept()


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_deleting_records(state: ORMExecuteState) -> None:
    if not state.is_delete:
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in KEPT_TABLES:
        raise RecordKept()
