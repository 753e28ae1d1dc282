"""The inline buttons of reminder subscriptions on Telegram: each press edits the message it is on.

``f:R`` / ``f:T`` / ``f:S`` show what may be followed; ``f:<scope>:<ref>…`` takes a new subscription
one step at a time and saves it; ``e:<id>…`` changes a schedule the same way (started from the
/dangtheodoi list); ``x:<id>`` / ``x:all`` cancel. The callback data is packed and parsed by
:mod:`bot.transports.telegram.callbacks` (steps checked in ``reminder_callbacks``); the texts, keyboards and views are
:mod:`bot.transports.telegram.reminders`' (its commands start these flows).
"""

from __future__ import annotations

from datetime import datetime

from telegram import Update

from bot.services.schedule import WEEKDAYS_VI, describe
from bot.services.storage import Subscription
from bot.transports.telegram.callbacks import CancelSubscription, EditSubscription, SubscribeMenu, SubscribeStep
from bot.transports.telegram.formatting import escape
from bot.transports.telegram.handlers import Context, ack, edit_or_send, services, stale
from bot.transports.telegram.reminder_callbacks import Step, subject_from
from bot.transports.telegram.reminders import (
    CANCELLED_ALL,
    CANCELLED_ONE,
    GONE_SUBSCRIPTION,
    NEXT_AT,
    NEXT_NOW,
    NOTHING_TO_CANCEL,
    RESCHEDULED,
    SEE_LIST,
    SUBSCRIBED,
    TOAST_CANCELLED,
    TOAST_SAVED,
    WHAT,
    WHAT_SECTION,
    WHAT_TARGET,
    list_view,
    menu_markup,
    sections_markup,
    step_markup,
    step_text,
    subject_label,
    subscriptions,
    targets_markup,
)


def _when(at: datetime) -> str:
    return f"{WEEKDAYS_VI[at.weekday()]} {at:%d/%m/%Y} lúc {at:%H:%M}"


async def _next_line(context: Context, sub: Subscription) -> str:
    """'Lần nhắc tới: …', or 'sent now' when this period's time has passed and nothing went out."""
    at = await subscriptions(context).next_reminder(sub)
    return NEXT_NOW if at is None else NEXT_AT.format(at=_when(at))


async def menu_button(update: Update, context: Context) -> None:
    """``f:R`` / ``f:T`` / ``f:S``: the menu, the targets or the sections."""
    query = update.callback_query
    m = SubscribeMenu.parse(query.data) if query else None
    if m is None:
        await stale(update, context)
        return
    answers = services(context).answers
    if m.screen == "R":
        await edit_or_send(update, context, WHAT.format(ty=answers.target_year), menu_markup())
    elif m.screen == "T":
        await edit_or_send(update, context, WHAT_TARGET, targets_markup(answers))
    else:
        await edit_or_send(update, context, WHAT_SECTION, sections_markup(answers))
    await ack(context, query)


async def new_button(update: Update, context: Context) -> None:
    """``f:<scope>:<ref>…``: the next step of a new subscription, or saving it."""
    query, chat = update.callback_query, update.effective_chat
    m = SubscribeStep.parse(query.data) if query else None
    svc = services(context)
    subject = subject_from(svc.answers, m.scope, m.ref) if m else None
    step = Step.parse(m.cadence, m.day, m.hour) if m else None
    if subject is None or step is None or chat is None:
        await stale(update, context)
        return
    what = subject_label(svc.answers, subject.scope, subject.ref)
    tz = svc.settings.timezone
    if step.hour is None:
        await edit_or_send(update, context, step_text(what, step, tz), step_markup(subject.data, step))
        await ack(context, query)
        return
    done = await subscriptions(context).subscribe(chat.id, subject.scope, subject.ref, step.schedule(),
                                                  chat_type=chat.type, title=chat.title, username=chat.username)
    await _saved(update, context, RESCHEDULED if done.rescheduled else SUBSCRIBED, what, done.subscription, tz)


async def _saved(update: Update, context: Context, template: str, what: str, sub: Subscription, tz: str) -> None:
    """Show the saved schedule (and when the next reminder comes) in place of the step message."""
    text = "\n".join([
        template.format(what=escape(what), schedule=escape(describe(sub)), tz=escape(tz)),
        await _next_line(context, sub),
        SEE_LIST,
    ])
    await edit_or_send(update, context, text)
    await ack(context, update.callback_query, TOAST_SAVED)


async def change_button(update: Update, context: Context) -> None:
    """``e:<id>…``: change a subscription's schedule, step by step."""
    query, chat = update.callback_query, update.effective_chat
    m = EditSubscription.parse(query.data) if query else None
    step = Step.parse(m.cadence, m.day, m.hour) if m else None
    if m is None or step is None or chat is None:
        await stale(update, context)
        return
    svc, subscribed = services(context), subscriptions(context)
    sub = await subscribed.owned(chat.id, m.id)
    if sub is None:
        await stale(update, context, GONE_SUBSCRIPTION)
        return
    what = subject_label(svc.answers, sub.scope, sub.ref)
    tz = svc.settings.timezone
    prefix = EditSubscription(sub.id)
    if step.cadence is None:
        # From the list: a new message for the change, so the list stays readable.
        await ack(context, query)
        await context.bot.send_message(chat.id, step_text(what, step, tz), reply_markup=step_markup(prefix, step))
        return
    if step.hour is None:
        await edit_or_send(update, context, step_text(what, step, tz), step_markup(prefix, step))
        await ack(context, query)
        return
    updated = await subscribed.reschedule(chat.id, sub.id, step.schedule())
    if updated is None:
        await stale(update, context, GONE_SUBSCRIPTION)
        return
    await _saved(update, context, RESCHEDULED, what, updated, tz)


async def cancel_button(update: Update, context: Context) -> None:
    """``x:<id>`` / ``x:all``: cancel, then show what is left."""
    query, chat = update.callback_query, update.effective_chat
    m = CancelSubscription.parse(query.data) if query else None
    if m is None or chat is None:
        await stale(update, context)
        return
    svc, subscribed = services(context), subscriptions(context)
    if m.id is None:
        n = await subscribed.cancel_all(chat.id)
        header = CANCELLED_ALL.format(n=n) if n else NOTHING_TO_CANCEL
    else:
        sub = await subscribed.cancel(chat.id, m.id)
        if sub is None:
            await stale(update, context, GONE_SUBSCRIPTION)
            return
        header = CANCELLED_ONE.format(what=subject_label(svc.answers, sub.scope, sub.ref))
    subs = await subscribed.of_chat(chat.id)
    text, markup = list_view(svc.answers, subs, svc.settings.timezone, header=header)
    await edit_or_send(update, context, text, markup)
    await ack(context, query, TOAST_CANCELLED)
