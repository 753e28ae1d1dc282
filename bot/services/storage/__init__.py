"""Persistent storage for the bot: one SQLite file accessed through aiosqlite.

Usage::

    async with Storage("data/bot.sqlite3") as storage:
        await storage.upsert_chat(chat_id, "private")
        sub = await storage.add_subscription(chat_id, "all", "", "weekly", weekday=0)

Layout: :class:`Storage` is a facade assembled from one repository mixin per table concept, all
over one shared connection (:mod:`.connection`):

* :mod:`.connection` — open/close, the lock, transactions, faults, health checks, schema version;
* :mod:`.chats`, :mod:`.subscriptions`, :mod:`.progress`, :mod:`.deliveries` (the ledger),
  :mod:`.querylog` (questions and ``stats``), :mod:`.audit`, :mod:`.inbox` (and ``prune``);
* :mod:`.models` — the row dataclasses, status vocabularies and timestamp helpers.

Migrations live in :mod:`bot.services.migrations`.

Design notes (why it looks like this):

* One connection per ``Storage``; an :class:`asyncio.Lock` serialises every
  statement group, so one coroutine never sees another's half-finished
  transaction on the shared connection.
* Every write is exactly one transaction, taken under the lock. Writes of
  several statements use ``BEGIN IMMEDIATE ... COMMIT`` and roll back on any
  error (including cancellation); IMMEDIATE takes the write lock up front, so
  a writer in another process waits (``busy_timeout``) instead of failing
  half-way. A write that is a single statement (claim/finish, logging, ...)
  runs as SQLite's implicit autocommit transaction, which has the same
  guarantees and saves two thread round trips (see ``_write``).
* Fan-out: ``claim_for_send`` costs one round trip per reminder;
  ``finish_deliveries``/``defer_deliveries`` batch a whole fan-out's outcomes
  into one transaction.
* Nothing is cached in memory: every method reads or writes the database, so
  a crash or restart loses nothing that was acknowledged.
* Rows are returned as small frozen dataclasses (``Chat``, ``Subscription``,
  ``ProgressRecord``, ``Delivery``, ``AuditEntry``) or the ``UnansweredQuestion``
  named tuple; ``stats`` returns a plain dict.
* Timestamps are stored as UTC ISO-8601 strings with a fixed format
  (``2024-02-12T08:00:00.000000+00:00``), so string comparison in SQL equals
  time comparison. Methods that stamp time take an optional ``now`` so tests
  can drive a fake clock; naive datetimes are taken to be UTC.
"""

from __future__ import annotations

from bot.services.migrations import CURRENT_SCHEMA_VERSION, SchemaTooNewError
from bot.services.storage.audit import AuditRepo
from bot.services.storage.chats import ChatsRepo
from bot.services.storage.connection import StorageClosedError, StorageConnection, StorageFault, _fault_kind
from bot.services.storage.deliveries import DeliveriesRepo
from bot.services.storage.inbox import InboxRepo
from bot.services.storage.models import (
    CADENCES,
    DELIVERY_STATUSES,
    FINAL_DELIVERY_STATUSES,
    QUERY_STATUSES,
    SCOPES,
    UNANSWERED_STATUSES,
    AuditEntry,
    Chat,
    Delivery,
    ProgressRecord,
    Subscription,
    UnansweredQuestion,
)
from bot.services.storage.progress import ProgressRepo
from bot.services.storage.querylog import QueryLogRepo
from bot.services.storage.subscriptions import SubscriptionsRepo

__all__ = [
    "CADENCES",
    "CURRENT_SCHEMA_VERSION",
    "DELIVERY_STATUSES",
    "FINAL_DELIVERY_STATUSES",
    "QUERY_STATUSES",
    "SCOPES",
    "UNANSWERED_STATUSES",
    "AuditEntry",
    "Chat",
    "Delivery",
    "ProgressRecord",
    "SchemaTooNewError",
    "Storage",
    "StorageClosedError",
    "StorageConnection",
    "StorageFault",
    "Subscription",
    "UnansweredQuestion",
    "_fault_kind",
]


class Storage(
    ChatsRepo,
    SubscriptionsRepo,
    ProgressRepo,
    DeliveriesRepo,
    QueryLogRepo,
    AuditRepo,
    InboxRepo,
    StorageConnection,
):
    """Async SQLite storage. Open with ``await open()`` or ``async with Storage(path)``."""
