"""The answer buttons: open an entry (``a:``), ask an example (``q:``), turn a list's page (``l:``),
follow a target (``sub:``). Stateless callback data (see keyboards.py), so they work after a
restart and after the conversation moved on."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.transports.telegram import callbacks, texts
from bot.transports.telegram.handlers import (
    Context,
    ack,
    edit_or_send,
    send_answer,
    send_html,
    services,
    stale,
)
from bot.transports.telegram.keyboards import entry_markup, parse_list, parse_prefixed
from bot.transports.telegram.lists import render


async def answer_button(update: Update, context: Context) -> None:
    """``a:<ref>``: send the entry's answer (a clarification candidate, a list item, a related entry)."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    answers = services(context).answers
    entry_id = answers.refs.resolve(parse_prefixed(query.data or "", "a") or "") if query else None
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
    n = parse_prefixed(query.data or "", "q") if query else None
    if n is None or not n.isdigit() or int(n) >= len(texts.EXAMPLES) or chat is None:
        await stale(update, context)
        return
    await ack(context, query)
    answers = services(context).answers
    example = texts.EXAMPLES[int(n)].format(**texts.years(answers))
    answer = await answers.ask(example, chat.id, user.id if user else None)
    await send_answer(context, chat.id, answer)


async def list_button(update: Update, context: Context) -> None:
    """``l:…``: show another page (or list) by editing the message the button is on."""
    query, chat = update.callback_query, update.effective_chat
    ref = parse_list(query.data or "") if query else None
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
    target_id = svc.answers.refs.resolve(parse_prefixed(query.data or "", "sub") or "") if query else None
    target = svc.answers.kb.target(target_id)
    if target is None:
        await stale(update, context)
        return
    await svc.follow(update, context, target)


def register(application: Application) -> None:
    """The answer buttons (group 0; after handlers.register, before the fallbacks)."""
    application.add_handler(CallbackQueryHandler(answer_button, pattern=callbacks.pattern("a")))
    application.add_handler(CallbackQueryHandler(list_button, pattern=callbacks.pattern("l")))
    application.add_handler(CallbackQueryHandler(example_button, pattern=callbacks.pattern("q")))
    application.add_handler(CallbackQueryHandler(follow_button, pattern=callbacks.pattern("sub")))
