"""The answer buttons: open an entry (``a:``), ask an example (``q:``), turn a list's page (``l:``),
follow a target (``sub:``). Stateless callback data (see keyboards.py), so they work after a
restart and after the conversation moved on."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.transports.telegram import texts
from bot.transports.telegram.callbacks import Example, FollowTarget, ListPage, OpenEntry
from bot.transports.telegram.handlers import (
    Context,
    ack,
    edit_or_send,
    send_answer,
    send_html,
    services,
    stale,
)
from bot.transports.telegram.keyboards import entry_markup
from bot.transports.telegram.lists import render


async def answer_button(update: Update, context: Context) -> None:
    """``a:<ref>``: send the entry's answer (a clarification candidate, a list item, a related entry)."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    answers = services(context).answers
    data = OpenEntry.parse(query.data) if query else None
    entry_id = answers.refs.resolve(data.ref) if data else None
    # The presser's conversation now refers to this entry (in a group: whoever pressed it).
    user_id = user.id if user else None
    answer = answers.entry(entry_id, chat.id if chat else None, user_id) if entry_id else None
    if answer is None or chat is None:
        await stale(update, context)
        return
    await ack(context, query)
    await send_html(context, chat.id, answer.reply.html(), entry_markup(answers, answer.results[0].id))


async def example_button(update: Update, context: Context) -> None:
    """``q:<n>``: ask the n-th example question of /start."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    data = Example.parse(query.data) if query else None
    if data is None or data.n >= len(texts.EXAMPLES) or chat is None:
        await stale(update, context)
        return
    await ack(context, query)
    answers = services(context).answers
    example = texts.EXAMPLES[data.n].format(**texts.years(answers))
    answer = await answers.ask(example, chat.id, user.id if user else None)
    await send_answer(context, chat.id, answer)


async def list_button(update: Update, context: Context) -> None:
    """``l:…``: show another page (or list) by editing the message the button is on."""
    query, chat = update.callback_query, update.effective_chat
    ref = ListPage.parse(query.data) if query else None
    page = render(services(context).answers, ref) if ref else None
    if page is None or query is None or chat is None:
        await stale(update, context)
        return
    await ack(context, query)
    await edit_or_send(update, context, page.text, page.markup)


async def follow_button(update: Update, context: Context) -> None:
    """``sub:<ref>``: "Theo dõi" a target; hands over to the follow hook."""
    query = update.callback_query
    svc = services(context)
    data = FollowTarget.parse(query.data) if query else None
    target_id = svc.answers.refs.resolve(data.ref) if data else None
    target = svc.answers.kb.target(target_id)
    if target is None:
        await stale(update, context)
        return
    await svc.follow(update, context, target)


def register(application: Application) -> None:
    """The answer buttons (group 0; after handlers.register, before the fallbacks)."""
    application.add_handler(CallbackQueryHandler(answer_button, pattern=OpenEntry.pattern()))
    application.add_handler(CallbackQueryHandler(list_button, pattern=ListPage.pattern()))
    application.add_handler(CallbackQueryHandler(example_button, pattern=Example.pattern()))
    application.add_handler(CallbackQueryHandler(follow_button, pattern=FollowTarget.pattern()))
