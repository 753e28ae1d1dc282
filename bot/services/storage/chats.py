"""Chats the bot has seen (table ``chats``)."""

from __future__ import annotations

from datetime import datetime

from bot.services.storage.connection import StorageConnection
from bot.services.storage.models import Chat, _chat, _check_int, _ts


class ChatsRepo(StorageConnection):
    """Chats: seen, reactivated, deactivated (with their subscriptions)."""

    async def upsert_chat(
        self,
        chat_id: int,
        type: str,  # mirrors Telegram's Chat.type, which callers pass straight through
        title: str | None = None,
        username: str | None = None,
        *,
        now: datetime | None = None,
    ) -> Chat:
        """Record that a chat was seen; return its row.

        Updates ``last_seen``; ``title``/``username`` are only overwritten when
        given (None keeps the stored value). Seeing a chat proves we can reach
        it again, so an inactive chat is reactivated (its subscriptions are not:
        the user re-subscribes explicitly).
        """
        _check_int("chat_id", chat_id)
        if not isinstance(type, str) or not type:
            raise ValueError(f"type must be a non-empty string; got {type!r}")
        ts = _ts(now)
        rows = await self._write_returning(
            "INSERT INTO chats (chat_id, type, title, username, first_seen, last_seen, active) "
            "VALUES (?, ?, ?, ?, ?, ?, 1) "
            "ON CONFLICT (chat_id) DO UPDATE SET "
            " type = excluded.type,"
            " title = COALESCE(excluded.title, chats.title),"
            " username = COALESCE(excluded.username, chats.username),"
            " last_seen = excluded.last_seen,"
            " active = 1, inactive_reason = NULL "
            "RETURNING *",
            (chat_id, type, title, username, ts, ts),
        )
        return _chat(rows[0])

    async def deactivate_chat(self, chat_id: int, reason: str, *, now: datetime | None = None) -> int:
        """Mark the chat inactive and deactivate all its subscriptions.

        For "Forbidden: bot was blocked" and similar. Returns the number of
        subscriptions deactivated.
        """
        _check_int("chat_id", chat_id)
        async with self._transaction() as db:
            await db.execute(
                "UPDATE chats SET active = 0, inactive_reason = ? WHERE chat_id = ?", (reason, chat_id)
            )
            cur = await db.execute(
                "UPDATE subscriptions SET active = 0, updated_at = ? WHERE chat_id = ? AND active = 1",
                (_ts(now), chat_id),
            )
            return cur.rowcount
