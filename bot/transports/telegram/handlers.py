"""Telegram handlers: thin — parse the update, call a service, format, send.

Registered by :func:`register` (the main handlers) and :func:`register_fallbacks` (catch-alls
for unknown commands, non-text messages and unknown buttons), which must come last: add other
handlers (reminders, admin) between the two calls — see ``build_application(extra_handlers=…)``.
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field

from telegram import (
    CallbackQuery,
    ChatMember,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.engine.engine import Answer
from bot.knowledge.schema import Target
from bot.services.answers import AnswerService, topic_tokens
from bot.services.storage import Storage
from bot.settings import Settings
from bot.transports.telegram import groups, texts
from bot.transports.telegram.botdata import Context as BotContext
from bot.transports.telegram.callbacks import ListPage
from bot.transports.telegram.formatting import escape, split_html
from bot.transports.telegram.keyboards import (
    answer_markup,
    examples_markup,
    fit_arg,
)
from bot.transports.telegram.lists import Page, render

log = logging.getLogger(__name__)

Context = BotContext  # typed: context.bot_data is a botdata.BotData
FollowHook = Callable[[Update, Context, Target], Awaitable[None]]


async def follow_soon(update: Update, context: Context, target: Target) -> None:
    """Default "Theo dõi" hook until reminders exist: say they are coming."""
    await ack(context, update.callback_query)
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, texts.FOLLOW_SOON.format(title=escape(target.title)))


@dataclass
class Services:
    """What handlers need, kept in ``application.bot_data.services``.

    ``follow`` is the "Theo dõi" hook: the reminders feature replaces it with its own coroutine
    ``(update, context, target) -> None`` (the callback query is still unanswered when it runs;
    answer it with :func:`ack`).
    """

    settings: Settings
    answers: AnswerService
    storage: Storage
    follow: FollowHook = field(default=follow_soon)
    answered: OrderedDict[str, None] = field(default_factory=OrderedDict)  # callback query ids


def services(context: Context) -> Services:
    """The Services of the running application."""
    svc = context.bot_data.services
    assert svc is not None, "build_application sets bot_data.services"
    return svc


def services_of(application: Application) -> Services:
    """The Services of an application (set by ``build_application``)."""
    svc = application.bot_data.services
    assert svc is not None, "build_application sets bot_data.services"
    return svc


# -- small helpers ----------------------------------------------------------------------------


def is_addressed(message: Message, bot_id: int, username: str) -> bool:
    """True for a command for this bot, a @mention of it, or a reply to one of its messages."""
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot_id:
        return True
    name = username.lower()
    kinds: list[str | None] = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION, MessageEntity.BOT_COMMAND]
    for entity, text in message.parse_entities(kinds).items():
        if entity.type == MessageEntity.MENTION and text[1:].lower() == name:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return True
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            _, _, at = text.partition("@")
            return not at or at.lower() == name
    return False


class _Addressed(filters.MessageFilter):
    """Messages addressed to this bot (see :func:`is_addressed`)."""

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        return is_addressed(message, bot.id, bot.username or "")


ADDRESSED = _Addressed(name="Addressed")
QUESTION = (
    filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    & (filters.ChatType.PRIVATE | (filters.ChatType.GROUPS & ADDRESSED))
)


def strip_mention(text: str, username: str) -> str:
    """The question without '@botname'."""
    if not username:
        return text.strip()
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip(" \n\t,:;-")


async def ack(context: Context, query: CallbackQuery | None, text: str | None = None, alert: bool = False) -> None:
    """Answer a callback query once (Telegram refuses a second answer); a query too old to answer
    is not worth an error. Remembers answered ids so the error handler knows what is left."""
    if query is None:
        return
    answered = services(context).answered
    if query.id in answered:
        return
    answered[query.id] = None
    while len(answered) > 4096:
        answered.popitem(last=False)
    with suppress(BadRequest):
        await query.answer(text, show_alert=alert)


async def send_html(context: Context, chat_id: int, html_text: str, markup: InlineKeyboardMarkup | None = None,
                    reply_to: Message | None = None) -> list[Message]:
    """Send HTML, split into parts of at most 4,096; the keyboard goes under the last part.

    With ``reply_to`` the first part replies to that message (quoted in groups, as PTB does).
    """
    parts = split_html(html_text)
    sent = []
    for i, part in enumerate(parts):
        kb = markup if i == len(parts) - 1 else None
        if i == 0 and reply_to is not None:
            sent.append(await reply_to.reply_text(part, reply_markup=kb))
        else:
            sent.append(await context.bot.send_message(chat_id, part, reply_markup=kb))
    return sent


async def send_answer(context: Context, chat_id: int, answer: Answer, reply_to: Message | None = None) -> None:
    """An engine answer: its HTML (every base string escaped by the engine) and its buttons."""
    answers = services(context).answers
    await send_html(context, chat_id, answer.reply.html(), answer_markup(answers, answer), reply_to)


async def send_page(context: Context, chat_id: int, page: Page, reply_to: Message | None = None) -> None:
    await send_html(context, chat_id, page.text, page.markup, reply_to)


async def edit_or_send(update: Update, context: Context, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show ``text`` in place of the message the pressed button is on; a new message when that one
    cannot be edited (too old, deleted), nothing when it already shows ``text`` (a double tap)."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return
        log.info("cannot edit the message (%s); sending a new one", exc.message)
        await send_html(context, chat.id, text, markup)


async def stale(update: Update, context: Context, message: str = texts.STALE_BUTTON_MESSAGE) -> None:
    """A button whose data is forged or names something that is gone: a toast and a short message.
    The one reply for every such button (also the catch-all of :func:`register_fallbacks`)."""
    query = update.callback_query
    log.info("stale or unknown callback data %r", query.data if query else None)
    await ack(context, query, texts.STALE_BUTTON)
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, message)


# -- access -----------------------------------------------------------------------------------


async def access_gate(update: Update, context: Context) -> None:
    """groups.ACCESS_GATE: with ACCESS_POLICY=allowlist, refuse users/chats outside ALLOWED_IDS/ADMIN_IDS.

    The refusal is sent only where the user addressed the bot (private chats, commands, mentions,
    replies, buttons); other group chatter is ignored silently. Stops all further handling.
    """
    settings = services(context).settings
    if settings.access_policy == "open":
        return
    user, chat = update.effective_user, update.effective_chat
    if settings.is_allowed(user.id if user else None, chat.id if chat else None):
        return
    log.info("access refused: user %s, chat %s", user.id if user else None, chat.id if chat else None)
    user_id, chat_id = (user.id if user else None), (chat.id if chat else None)
    if update.callback_query is not None:
        await ack(context, update.callback_query, texts.refusal(user_id, chat_id, html=False), alert=True)
    elif update.message is not None and chat is not None and (
        chat.type == ChatType.PRIVATE or is_addressed(update.message, context.bot.id, context.bot.username or "")
    ):
        await update.message.reply_text(texts.refusal(user_id, chat_id))
    raise ApplicationHandlerStop


# -- commands ---------------------------------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    """/start: greeting, example questions as buttons; remembers the chat."""
    svc = services(context)
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or message is None:
        return
    await svc.storage.upsert_chat(chat.id, chat.type, chat.title, chat.username)
    name = escape(user.first_name) if user else ""
    greeting = texts.GREETING.format(name=name, **texts.years(svc.answers)).replace(" !", "!")
    await message.reply_text(greeting, reply_markup=examples_markup(svc.answers))


async def help_command(update: Update, context: Context) -> None:
    """/help: what the bot can do."""
    if update.effective_message is not None:
        username = escape(context.bot.username or "")
        await update.effective_message.reply_text(
            texts.HELP.format(username=username, **texts.years(services(context).answers))
        )


async def targets_command(update: Update, context: Context) -> None:
    """/chitieu: the targets of the report's target year, paginated."""
    await _list_command(update, context, ListPage("t"))


async def results_command(update: Update, context: Context) -> None:
    """/ketqua [chủ đề]: sections as buttons, or the results of the section/topic named."""
    topic = " ".join(context.args or [])
    answers = services(context).answers
    if not topic_tokens(topic):
        ref = ListPage("S")
    else:
        section = answers.find_section(topic)
        ref = ListPage("s", 0, section.id) if section else ListPage("r", 0, fit_arg(topic))
    await _list_command(update, context, ref)


async def documents_command(update: Update, context: Context) -> None:
    """/vanban [từ khóa]: cited documents, all or matching the keyword, paginated."""
    await _list_command(update, context, ListPage("d", 0, fit_arg(" ".join(context.args or []))))


async def _list_command(update: Update, context: Context, ref: ListPage) -> None:
    chat, message = update.effective_chat, update.effective_message
    page = render(services(context).answers, ref)
    if chat is None or message is None or page is None:
        return
    await send_page(context, chat.id, page, reply_to=message)


# -- questions --------------------------------------------------------------------------------


async def question(update: Update, context: Context) -> None:
    """Any text in a private chat, or addressed to the bot in a group: a question, and a turn of
    the sender's conversation in this chat (in a group each member has their own)."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    if chat is None or message is None or message.text is None:
        return
    text = message.text
    if chat.type != ChatType.PRIVATE:
        text = strip_mention(text, context.bot.username or "")
    if not text.strip():
        await message.reply_text(texts.EMPTY_MENTION.format(username=escape(context.bot.username or "")))
        return
    answer = await services(context).answers.ask(text, chat.id, user.id if user else None)
    await send_answer(context, chat.id, answer, reply_to=message)


# -- fallbacks --------------------------------------------------------------------------------


async def unknown_command(update: Update, context: Context) -> None:
    """An unknown /command in a private chat."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.UNKNOWN_COMMAND)


async def not_text(update: Update, context: Context) -> None:
    """A sticker, photo, voice… in a private chat."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.NOT_TEXT)


# -- membership -------------------------------------------------------------------------------


async def my_chat_member(update: Update, context: Context) -> None:
    """The bot was blocked/removed (chat inactive) or (re)added (chat active) — for reminders."""
    change, chat = update.my_chat_member, update.effective_chat
    if change is None or chat is None:
        return
    storage = services(context).storage
    status = change.new_chat_member.status
    if status in (ChatMember.BANNED, ChatMember.LEFT):
        await storage.deactivate_chat(chat.id, "blocked" if chat.type == ChatType.PRIVATE else "removed")
    elif status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER):
        await storage.upsert_chat(chat.id, chat.type, chat.title, chat.username)


# -- errors -----------------------------------------------------------------------------------


def _describe(update: object, with_text: bool = False) -> str:
    """The update for a log line: without what users wrote (ids, kind, length) unless LOG_USER_TEXT."""
    if isinstance(update, Update):
        if with_text:
            return json.dumps(update.to_dict(), ensure_ascii=False)[:3000]
        message, query = update.effective_message, update.callback_query
        chat, user = update.effective_chat, update.effective_user
        kind = "button" if query is not None else "message" if message is not None else "update"
        size = len((query.data if query else None) or (message.text or message.caption or "" if message else ""))
        return (f"update {update.update_id} ({kind} from user {user.id if user else None} in chat "
                f"{chat.id if chat else None}, {size} characters; LOG_USER_TEXT=true to log the text)")
    return type(update).__name__


async def on_error(update: object, context: Context) -> None:
    """Log every exception with its update; tell the user something went wrong, without internals."""
    log.error("exception while handling an update: %s",
              _describe(update, services(context).settings.log_user_text), exc_info=context.error)
    if not isinstance(update, Update) or isinstance(context.error, Forbidden):
        return  # nobody to tell, or the user blocked the bot
    await ack(context, update.callback_query)
    chat = update.effective_chat
    if chat is not None:
        try:
            await context.bot.send_message(chat.id, texts.ERROR)
        except TelegramError as exc:
            log.warning("could not tell chat %s about the error: %s", chat.id, exc)


# -- registration -----------------------------------------------------------------------------


def register(application: Application) -> None:
    """The access gate (allowlist only), commands, questions, membership updates and the error
    handler (the answer buttons: ``buttons.register``)."""
    if services_of(application).settings.access_policy != "open":
        application.add_handler(TypeHandler(Update, access_gate), group=groups.ACCESS_GATE)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("chitieu", targets_command))
    application.add_handler(CommandHandler("ketqua", results_command))
    application.add_handler(CommandHandler("vanban", documents_command))
    application.add_handler(MessageHandler(QUESTION, question))
    application.add_handler(ChatMemberHandler(my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_error_handler(on_error)


def register_fallbacks(application: Application) -> None:
    """Catch-alls; register after every other handler."""
    private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    application.add_handler(
        MessageHandler(private & ~filters.TEXT & ~filters.Document.ALL & ~filters.StatusUpdate.ALL, not_text)
    )
    application.add_handler(CallbackQueryHandler(stale))
