"""Loopback Telegram Bot API emulator for tests.

An ``aiohttp.web`` server bound to 127.0.0.1 that speaks the Bot API over HTTP, so the
real python-telegram-bot ``Application``/``Bot`` can be exercised end to end::

    async with Emulator() as emu:
        app = (
            ApplicationBuilder()
            .token(emu.token)
            .base_url(emu.bot_base_url)
            .base_file_url(emu.file_base_url)
            .build()
        )
        ...
        emu.inject_command(42, "/start")
        [reply] = await emu.wait_for_messages(42, 1)

Every request is validated against ``shared/telegram/bot-api.json`` (method exists,
required/unknown parameters, field types, inline keyboards, text/caption length, Telegram
HTML).  A failed check is recorded in ``emu.violations`` and answered with a real-looking
``400 Bad Request`` so the bot sees exactly what Telegram would send.

All test-side helpers (``inject_*``, faults, ``sent_messages``) are synchronous and must be
called from the event loop thread that runs the emulator; ``start``/``stop``/``wait_for*``
are coroutines.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import random
import re
import struct
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from aiohttp import web

if TYPE_CHECKING:
    from telegram import Bot
    from telegram.ext import ApplicationBuilder

JSONDict = dict[str, Any]

SPEC_PATH = Path(__file__).resolve().parents[1] / ".." / "shared" / "telegram" / "bot-api.json"
DEFAULT_TOKEN = "7000000001:EMULATOR-test-token-0123456789abcdef"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_INLINE_BUTTONS = 100
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Update kinds Telegram leaves out when allowed_updates is not specified.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Methods that "send to a chat" and are therefore refused for a blocked chat.
_CHAT_SEND_PREFIXES = ("send", "edit", "copy", "forward", "pin", "stop")

STATUS_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request: emulated failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query id is invalid"

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# --------------------------------------------------------------------------------------
# Records and errors
# --------------------------------------------------------------------------------------


class Violation(NamedTuple):
    """A request that broke the Bot API contract."""

    method: str
    reason: str
    params: JSONDict


class ErrorRecord(NamedTuple):
    """A non-ok response sent to the bot (violations, injected faults, state errors)."""

    method: str
    status: int
    description: str
    params: JSONDict


@dataclass(slots=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:
        return f"UploadedFile({self.field!r}, {self.filename!r}, {len(self.data)} bytes)"


class ApiError(Exception):
    """Raised inside request handling; becomes a Bot API error response."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        violation: bool = False,
        detail: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.violation = violation
        self.detail = detail
        self.retry_after = retry_after


def _bad_request(reason: str, detail: str | None = None) -> ApiError:
    """A 400 that counts as a contract violation."""
    return ApiError(400, f"Bad Request: {reason}", violation=True, detail=detail)


class SpecError(Exception):
    """A value does not match the Bot API specification.

    ``tg_reason`` is the short description Telegram itself would answer (e.g. BUTTON_DATA_INVALID).
    """

    def __init__(self, message: str, tg_reason: str | None = None) -> None:
        super().__init__(message)
        self.tg_reason = tg_reason


class HtmlError(Exception):
    """Text is not valid Telegram HTML."""


# --------------------------------------------------------------------------------------
# Spec loading (cached, compiled once per process)
# --------------------------------------------------------------------------------------

_SCALARS = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})
_CONST_RE = re.compile(r'(?:must be|always)\s+[*"“]?([A-Za-z0-9_-]+)')


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One parameter/field of a method or type."""

    name: str
    types: tuple[str, ...]
    required: bool
    scalar_types: tuple[str, ...]
    complex_types: tuple[str, ...]


@dataclass(slots=True)
class ApiSpec:
    """Compiled view of bot-api.json."""

    version: str
    methods: dict[str, dict[str, FieldSpec]]
    method_names: dict[str, str]
    method_required: dict[str, tuple[str, ...]]
    returns: dict[str, tuple[str, ...]]
    types: dict[str, dict[str, FieldSpec]]
    type_required: dict[str, tuple[str, ...]]
    subtypes: dict[str, tuple[str, ...]]
    consts: dict[str, tuple[str, str]]


def _compile_fields(raw_fields: Iterable[JSONDict]) -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    for f in raw_fields:
        types = tuple(f["types"])
        out[f["name"]] = FieldSpec(
            name=f["name"],
            types=types,
            required=bool(f.get("required")),
            scalar_types=tuple(t for t in types if t in _SCALARS),
            complex_types=tuple(t for t in types if t not in _SCALARS),
        )
    return out


@lru_cache(maxsize=4)
def load_spec(path: str | None = None) -> ApiSpec:
    """Load and compile the Bot API spec (cached per path)."""
    data = json.loads(Path(path or SPEC_PATH).read_text(encoding="utf-8"))
    methods: dict[str, dict[str, FieldSpec]] = {}
    method_required: dict[str, tuple[str, ...]] = {}
    returns: dict[str, tuple[str, ...]] = {}
    for name, m in data["methods"].items():
        fields = _compile_fields(m.get("fields", []))
        methods[name] = fields
        method_required[name] = tuple(f.name for f in fields.values() if f.required)
        returns[name] = tuple(m.get("returns", []))
    types: dict[str, dict[str, FieldSpec]] = {}
    type_required: dict[str, tuple[str, ...]] = {}
    subtypes: dict[str, tuple[str, ...]] = {}
    raw_fields_by_type: dict[str, list[JSONDict]] = {}
    for name, t in data["types"].items():
        if t.get("subtypes"):
            subtypes[name] = tuple(t["subtypes"])
        raw_fields_by_type[name] = t.get("fields", [])
        fields = _compile_fields(t.get("fields", []))
        types[name] = fields
        type_required[name] = tuple(f.name for f in fields.values() if f.required)
    # Discriminator constants of union members, e.g. BotCommandScopeChat.type == "chat".
    consts: dict[str, tuple[str, str]] = {}
    for members in subtypes.values():
        for member in members:
            raw = raw_fields_by_type.get(member)
            if not raw:
                continue
            first = raw[0]
            if first["name"] in ("type", "status", "source") and first.get("required"):
                m = _CONST_RE.search(first.get("description", ""))
                if m:
                    consts[member] = (first["name"], m.group(1))
    return ApiSpec(
        version=str(data.get("version", "")),
        methods=methods,
        method_names={name.lower(): name for name in methods},
        method_required=method_required,
        returns=returns,
        types=types,
        type_required=type_required,
        subtypes=subtypes,
        consts=consts,
    )


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

_INT_RE = re.compile(r"[+-]?\d+")
_ATTACH_RE = re.compile(r"attach://([A-Za-z0-9_\-]+)")
_BOOL_STRINGS = {"true": True, "false": False, "1": True, "0": False}
_BUTTON_NON_ACTION = frozenset({"text", "icon_custom_emoji_id", "style"})


class Validator:
    """Checks request parameters and nested objects against the compiled spec."""

    def __init__(self, spec: ApiSpec) -> None:
        self.spec = spec
        button_fields = spec.types.get("InlineKeyboardButton", {})
        self._button_fields = button_fields
        self._button_actions = frozenset(n for n in button_fields if n not in _BUTTON_NON_ACTION)

    # -- top level -------------------------------------------------------------------

    def coerce_params(self, method: str, raw: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        """Validate request parameters; return them with form strings converted to real types."""
        fields = self.spec.methods[method]
        out: JSONDict = {}
        for name, value in raw.items():
            f = fields.get(name)
            if f is None:
                raise _bad_request(f'unknown parameter "{name}"')
            try:
                out[name] = self._coerce(value, f)
            except SpecError as exc:
                if exc.tg_reason:
                    raise _bad_request(exc.tg_reason, f'parameter "{name}": {exc}') from None
                raise _bad_request(f'invalid parameter "{name}": {exc}') from None
        if files:
            refs = set()
            for value in raw.values():
                if isinstance(value, str) and "attach://" in value:
                    refs.update(_ATTACH_RE.findall(value))
            for name, upload in files.items():
                f = fields.get(name)
                if f is not None:
                    if "InputFile" not in f.types:
                        raise _bad_request(f'parameter "{name}" does not accept a file upload')
                    out[name] = upload
                elif name in refs:
                    out[name] = upload
                else:
                    raise _bad_request(f'unknown parameter "{name}" (file part not referenced)')
            missing = refs - files.keys()
        else:
            missing = set()
            for value in out.values():
                if isinstance(value, str) and value.startswith("attach://"):
                    missing.add(value[9:])
        if missing:
            raise _bad_request(f"file attach://{sorted(missing)[0]} not found in the request")
        for name in self.spec.method_required[method]:
            if name not in out:
                raise _bad_request(f"{name} is empty", f'required parameter "{name}" is missing')
        return out

    def _coerce(self, value: Any, f: FieldSpec) -> Any:
        if isinstance(value, UploadedFile):
            if "InputFile" in f.types:
                return value
            raise SpecError("a file upload is not allowed here")
        if isinstance(value, str):
            if f.complex_types and ("String" not in f.types or value[:1] in "[{"):
                try:
                    decoded = json.loads(value)
                except ValueError:
                    if not f.scalar_types:
                        raise SpecError(f"can't parse JSON ({' or '.join(f.types)} expected)") from None
                else:
                    self.check_union(decoded, f.complex_types, f.name)
                    return decoded
            for t in f.scalar_types:
                if t == "String":
                    return value
                if t == "Integer":
                    if _INT_RE.fullmatch(value):
                        return int(value)
                elif t == "Float":
                    with contextlib.suppress(ValueError):
                        return float(value)
                elif t == "Boolean":
                    b = _BOOL_STRINGS.get(value)
                    if b is not None:
                        return b
                elif t == "InputFile" and value.startswith("attach://"):
                    return value
            raise SpecError(f"expected {' or '.join(f.types)}, got {value[:40]!r}")
        self.check_union(value, f.types, f.name)
        return value

    # -- nested values ---------------------------------------------------------------

    def check_union(self, value: Any, types: tuple[str, ...], path: str) -> None:
        """Check that value matches at least one of the type expressions."""
        if len(types) == 1:
            self.check(value, types[0], path)
            return
        errors: list[tuple[str, SpecError]] = []
        for t in types:
            try:
                self.check(value, t, path)
                return
            except SpecError as exc:
                errors.append((t, exc))
        if isinstance(value, dict):
            # Report the candidate whose required fields (and discriminator) are present.
            for t, exc in errors:
                req = self.spec.type_required.get(t)
                const = self.spec.consts.get(t)
                if const is not None and value.get(const[0]) == const[1]:
                    raise exc
                if req and all(r in value for r in req) and const is None:
                    raise exc
        if len(errors) == 1:
            raise errors[0][1]
        raise SpecError(f"{path}: expected {' or '.join(types)}")

    def check(self, value: Any, t: str, path: str) -> None:
        """Check that value matches one type expression of the spec."""
        if t == "String":
            if not isinstance(value, str):
                raise SpecError(f"{path}: expected String, got {type(value).__name__}")
        elif t == "Integer":
            if not isinstance(value, int) or isinstance(value, bool):
                raise SpecError(f"{path}: expected Integer, got {type(value).__name__}")
        elif t == "Boolean":
            if not isinstance(value, bool):
                raise SpecError(f"{path}: expected Boolean, got {type(value).__name__}")
        elif t == "Float":
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise SpecError(f"{path}: expected Float, got {type(value).__name__}")
        elif t == "InputFile":
            if not isinstance(value, str | UploadedFile):
                raise SpecError(f"{path}: expected InputFile")
        elif t.startswith("Array of "):
            if not isinstance(value, list):
                raise SpecError(f"{path}: expected {t}, got {type(value).__name__}")
            inner = t[9:]
            for i, item in enumerate(value):
                self.check(item, inner, f"{path}[{i}]")
        elif t == "InlineKeyboardMarkup":
            self.check_inline_keyboard(value, path)
        else:
            self._check_object(value, t, path)

    def _check_object(self, value: Any, t: str, path: str) -> None:
        members = self.spec.subtypes.get(t)
        if members is not None:
            self.check_union(value, members, path)
            return
        fields = self.spec.types.get(t)
        if fields is None:
            return  # not described by the spec: cannot validate
        if not isinstance(value, dict):
            raise SpecError(f"{path}: expected a JSON object ({t}), got {type(value).__name__}")
        const = self.spec.consts.get(t)
        if const is not None and value.get(const[0]) != const[1]:
            raise SpecError(f'{path}: {t}.{const[0]} must be "{const[1]}"')
        for key, item in value.items():
            f = fields.get(key)
            if f is None:
                raise SpecError(f'{path}: unknown field "{key}" in {t}')
            self.check_union(item, f.types, f"{path}.{key}")
        for key in self.spec.type_required[t]:
            if key not in value:
                raise SpecError(f'{path}: field "{key}" of {t} is required')

    def check_inline_keyboard(self, value: Any, path: str) -> None:
        """Telegram-style checks for InlineKeyboardMarkup."""
        if not isinstance(value, dict):
            raise SpecError(f"{path}: can't parse inline keyboard markup: JSON object expected")
        for key in value:
            if key != "inline_keyboard":
                raise SpecError(f'{path}: unknown field "{key}" in InlineKeyboardMarkup')
        rows = value.get("inline_keyboard")
        if not isinstance(rows, list):
            raise SpecError(
                f'{path}: field "inline_keyboard" must be an Array of Array of InlineKeyboardButton'
            )
        total = 0
        for r, row in enumerate(rows):
            if not isinstance(row, list):
                raise SpecError(
                    f"{path}.inline_keyboard[{r}]: a row must be an Array of InlineKeyboardButton"
                )
            for c, button in enumerate(row):
                self._check_button(button, f"{path}.inline_keyboard[{r}][{c}]")
                total += 1
        if total > MAX_INLINE_BUTTONS:
            raise SpecError(f"{total} buttons > {MAX_INLINE_BUTTONS}", "reply markup is too long")

    def _check_button(self, button: Any, path: str) -> None:
        if not isinstance(button, dict):
            raise SpecError(f"{path}: can't parse inline keyboard button: JSON object expected")
        text = button.get("text")
        if not isinstance(text, str) or not text.strip():
            raise SpecError(f"{path}: button text must be a non-empty String")
        actions = []
        for key, item in button.items():
            f = self._button_fields.get(key)
            if f is None:
                raise SpecError(f'{path}: unknown field "{key}" in InlineKeyboardButton')
            self.check_union(item, f.types, f"{path}.{key}")
            if key in self._button_actions:
                actions.append(key)
        if not actions:
            raise SpecError(
                f"{path}: button has no action field", "text buttons are unallowed in the inline keyboard"
            )
        if len(actions) > 1:
            raise SpecError(f"{path}: button must have exactly one action field, got {', '.join(actions)}")
        data = button.get("callback_data")
        if data is not None:
            size = len(data.encode("utf-8"))
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                raise SpecError(f"{path}.callback_data is {size} bytes, allowed 1-64", "BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and not url.strip():
            raise SpecError(f"{path}.url is empty", "BUTTON_URL_INVALID")


# --------------------------------------------------------------------------------------
# Telegram HTML
# --------------------------------------------------------------------------------------

_HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_SPECIAL_RE = re.compile(r"[<>&]")
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
_ATTR_RE = re.compile(r"""\s+([A-Za-z][A-Za-z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what Telegram uses for offsets and limits)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(m: re.Match[str]) -> str:
    dec, hexa, named = m.groups()
    if named:
        return _NAMED_ENTITIES[named]
    cp = int(dec) if dec else int(hexa, 16)
    if cp == 0 or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        raise HtmlError(f"invalid numeric character reference {m.group(0)!r}")
    return chr(cp)


def _decode_attr(value: str) -> str:
    # Attribute values are decoded leniently (bare "&" in URLs is accepted by Telegram).
    return _ENTITY_RE.sub(_decode_entity, value) if "&" in value else value


def _parse_attrs(rest: str, tag: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _ATTR_RE.match(rest, pos)
        if m is None:
            if rest[pos:].strip():
                raise HtmlError(f'invalid attributes in tag "{tag}": {rest[pos:].strip()!r}')
            break
        name, v1, v2, v3 = m.groups()
        value = v1 if v1 is not None else v2 if v2 is not None else v3 if v3 is not None else ""
        attrs[name.lower()] = _decode_attr(value)
        pos = m.end()
    return attrs


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram HTML; return (plain text, MessageEntity dicts) or raise HtmlError."""
    out: list[str] = []
    entities: list[JSONDict] = []
    stack: list[tuple[str, int, JSONDict]] = []
    pos16 = 0
    i = 0
    n = len(text)
    while True:
        m = _SPECIAL_RE.search(text, i)
        j = m.start() if m is not None else n
        if j > i:
            chunk = text[i:j]
            out.append(chunk)
            pos16 += utf16_len(chunk)
        if m is None:
            break
        c = text[j]
        if c == "&":
            em = _ENTITY_RE.match(text, j)
            if em is None:
                raise HtmlError(
                    f'unsupported HTML entity or unescaped "&" at byte offset {_byte_offset(text, j)}; '
                    'use "&amp;"'
                )
            ch = _decode_entity(em)
            out.append(ch)
            pos16 += utf16_len(ch)
            i = em.end()
            continue
        if c == ">":
            raise HtmlError(f'character ">" at byte offset {_byte_offset(text, j)} must be escaped as "&gt;"')
        tm = _TAG_RE.match(text, j)
        if tm is None:
            raise HtmlError(f'unescaped "<" at byte offset {_byte_offset(text, j)}; use "&lt;"')
        closing, name, rest = tm.groups()
        tag = name.lower()
        if closing:
            if rest.strip():
                raise HtmlError(
                    f'unexpected attributes in end tag "{name}" at byte offset {_byte_offset(text, j)}'
                )
            if not stack:
                raise HtmlError(f'unexpected end tag "</{name}>" at byte offset {_byte_offset(text, j)}')
            open_tag, start16, entity = stack.pop()
            if open_tag != tag:
                raise HtmlError(
                    f'unmatched end tag at byte offset {_byte_offset(text, j)}, expected "</{open_tag}>", '
                    f'found "</{name}>"'
                )
            length = pos16 - start16
            language = entity.pop("_language", None)
            if tag == "code" and language and stack and stack[-1][0] == "pre":
                stack[-1][2]["language"] = language  # <pre><code class="language-x"> -> pre entity
            elif length > 0:
                entity["offset"] = start16
                entity["length"] = length
                entities.append(entity)
        else:
            if tag not in _HTML_TAGS:
                raise HtmlError(f'unsupported start tag "{name}" at byte offset {_byte_offset(text, j)}')
            attrs = _parse_attrs(rest, tag) if rest else {}
            entity = {"type": _HTML_TAGS[tag]}
            if tag == "a":
                href = attrs.get("href")
                if not href:
                    raise HtmlError('tag "a" must have a non-empty attribute "href"')
                entity["url"] = href
            elif tag == "span":
                if attrs.get("class") != "tg-spoiler":
                    raise HtmlError('tag "span" must have class "tg-spoiler"')
            elif tag == "tg-emoji":
                emoji_id = attrs.get("emoji-id")
                if not emoji_id:
                    raise HtmlError('tag "tg-emoji" must have attribute "emoji-id"')
                entity["custom_emoji_id"] = emoji_id
            elif tag == "tg-time":
                unix = attrs.get("unix", "")
                if not unix.isdigit():
                    raise HtmlError('tag "tg-time" must have a numeric attribute "unix"')
                entity["unix_time"] = int(unix)
                if attrs.get("format"):
                    entity["date_time_format"] = attrs["format"]
            elif tag == "blockquote" and "expandable" in attrs:
                entity["type"] = "expandable_blockquote"
            elif tag == "code":
                cls = attrs.get("class", "")
                if cls.startswith("language-"):
                    entity["_language"] = cls[9:]
            stack.append((tag, pos16, entity))
        i = tm.end()
    if stack:
        raise HtmlError(f'can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _strip_text(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip surrounding whitespace like Telegram does and shift entities accordingly."""
    stripped = text.strip()
    if stripped == text or not entities:
        return stripped, entities
    lead16 = utf16_len(text[: len(text) - len(text.lstrip())])
    total16 = utf16_len(stripped)
    out = []
    for e in entities:
        start = max(0, e["offset"] - lead16)
        end = min(total16, e["offset"] + e["length"] - lead16)
        if end > start:
            out.append({**e, "offset": start, "length": end - start})
    return stripped, out


# --------------------------------------------------------------------------------------
# Image helpers
# --------------------------------------------------------------------------------------


def image_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) of a PNG/JPEG/GIF/WEBP image, None if not an image."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return w, h
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return w, h
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            seg_len = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return w, h
            i += 2 + seg_len
        return 0, 0
    return None


# --------------------------------------------------------------------------------------
# Emulator
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Fault:
    status: int
    retry_after: int | None
    description: str | None
    remaining: int


@dataclass(slots=True)
class _FaultRate:
    status: int
    rate: float
    retry_after: int | None
    description: str | None
    rng: random.Random


@dataclass(slots=True)
class StoredFile:
    """A file known to the emulator (uploaded by the bot or injected by a test)."""

    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str
    filename: str | None
    mime_type: str | None


def _fault_error(status: int, retry_after: int | None, description: str | None) -> ApiError:
    if status == 429:
        ra = 1 if retry_after is None else int(retry_after)
        return ApiError(429, description or f"Too Many Requests: retry after {ra}", retry_after=ra)
    return ApiError(status, description or STATUS_DESCRIPTIONS.get(status, f"Error {status}"))


_MIME_BY_EXT = {
    "pdf": "application/pdf",
    "txt": "text/plain",
    "csv": "text/csv",
    "json": "application/json",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "zip": "application/zip",
    "yaml": "application/x-yaml",
    "yml": "application/x-yaml",
}


class Emulator:
    """In-process fake of api.telegram.org for python-telegram-bot tests."""

    def __init__(
        self,
        *,
        token: str | None = DEFAULT_TOKEN,
        bot_id: int | None = None,
        bot_username: str = "emulator_test_bot",
        bot_first_name: str = "Emulator Bot",
        spec_path: str | Path | None = None,
        strict_chats: bool = False,
        record: bool = True,
        default_user_id: int = 111111,
    ) -> None:
        """Create a stopped emulator.

        token: the only token accepted (401 otherwise); ``None`` accepts any token.
        strict_chats: sending to a chat the emulator never saw gives "chat not found".
        record: keep ``requests`` history (disable for very long load runs).
        """
        self.token = token
        if bot_id is None:
            prefix = (token or "").split(":", 1)[0]
            bot_id = int(prefix) if prefix.isdigit() else 7000000001
        self.bot_username = bot_username
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._get_me: JSONDict = {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.spec = load_spec(str(spec_path) if spec_path else None)
        self.validator = Validator(self.spec)
        self.strict_chats = strict_chats
        self.record = record
        self.default_user_id = default_user_id
        self.expect_violations = False

        # Public records.
        self.requests: list[tuple[str, JSONDict]] = []
        self.violations: list[Violation] = []
        self.errors: list[ErrorRecord] = []
        self.callback_answers: list[JSONDict] = []
        self.chat_actions: list[tuple[int | str, str]] = []
        self.deleted_messages: list[tuple[int, int]] = []
        self.request_counts: Counter[str] = Counter()
        self.status_counts: Counter[tuple[str, int]] = Counter()
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}

        # Chats, users, messages, files.
        self.users: dict[int, JSONDict] = {}
        self.chats: dict[int, JSONDict] = {}
        self._chat_by_username: dict[str, int] = {}
        self._msg_counter: dict[int, int] = defaultdict(int)
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._sent: list[JSONDict] = []
        self._sent_by_chat: defaultdict[int, list[JSONDict]] = defaultdict(list)
        self._last_bot_message: dict[int, JSONDict] = {}
        self._callbacks: dict[str, JSONDict] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._callback_counter = itertools.count(1)

        # Updates / long polling.
        self._updates: deque[JSONDict] = deque()
        self._next_update_id = 1
        self._update_signal = asyncio.Event()
        self._poll_generation = 0
        self._allowed_updates: frozenset[str] | None = None

        # Faults.
        self._fail_next: dict[str, deque[_Fault]] = {}
        self._fault_rates: dict[str, _FaultRate] = {}
        self._delays: dict[str, float] = {}
        self._held: dict[str, asyncio.Event] = {}
        self._blocked: set[int] = set()
        self._failing_chats: dict[int, int] = {}

        # Waiters and server.
        self._waiters: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": lambda p: self._get_me,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "deleteWebhook": self._h_delete_webhook,
            "setWebhook": lambda p: True,
            "getWebhookInfo": self._h_get_webhook_info,
            "sendMessage": self._h_send_message,
            "editMessageText": self._h_edit_message_text,
            "editMessageReplyMarkup": self._h_edit_message_reply_markup,
            "deleteMessage": self._h_delete_message,
            "answerCallbackQuery": self._h_answer_callback_query,
            "sendChatAction": self._h_send_chat_action,
            "setMyCommands": self._h_set_my_commands,
            "getMyCommands": self._h_get_my_commands,
            "deleteMyCommands": self._h_delete_my_commands,
            "sendPhoto": self._h_send_photo,
            "sendDocument": self._h_send_document,
            "sendMediaGroup": self._h_send_media_group,
            "getFile": self._h_get_file,
        }

    # ----------------------------------------------------------------------------------
    # Lifecycle
    # ----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (only valid after start())."""
        if self.port is None:
            raise RuntimeError("Emulator is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def bot_base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url(...)``."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.base_url}/file/bot"

    async def start(self) -> Emulator:
        """Bind to 127.0.0.1 on a free port and start serving."""
        if self._runner is not None:
            return self
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._closing.clear()
        return self

    async def stop(self) -> None:
        """Release pending long polls and delays, then shut the server down."""
        if self._runner is None:
            return
        self._closing.set()
        self._signal_updates()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def make_bot(self, token: str | None = None, **kwargs: Any) -> Bot:
        """A ``telegram.Bot`` wired to this emulator (not initialized)."""
        from telegram import Bot

        return Bot(
            token or self.token or DEFAULT_TOKEN,
            base_url=self.bot_base_url,
            base_file_url=self.file_base_url,
            **kwargs,
        )

    def application_builder(self, token: str | None = None) -> ApplicationBuilder:
        """An ``ApplicationBuilder`` with token/base_url/base_file_url set for this emulator."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(token or self.token or DEFAULT_TOKEN)
            .base_url(self.bot_base_url)
            .base_file_url(self.file_base_url)
        )

    # ----------------------------------------------------------------------------------
    # HTTP layer
    # ----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/bot"):
            token, _, method = path[4:].partition("/")
            return await self._handle_api(request, token, method)
        if path.startswith("/file/bot"):
            token, _, file_path = path[9:].partition("/")
            return self._handle_file(token, file_path)
        return self._error_response(404, "Not Found")

    @staticmethod
    def _json_response(payload: JSONDict, status: int = 200) -> web.Response:
        return web.Response(body=_dumps(payload).encode(), status=status, content_type="application/json")

    def _error_response(self, status: int, description: str, retry_after: int | None = None) -> web.Response:
        payload: JSONDict = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            payload["parameters"] = {"retry_after": retry_after}
        return self._json_response(payload, status)

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[JSONDict, dict[str, UploadedFile]]:
        raw: JSONDict = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method == "GET" or not request.body_exists:
            return raw, files
        ctype = request.content_type
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(key, value.filename, value.content_type, value.file.read())
                elif isinstance(value, bytes | bytearray):
                    raw[key] = value.decode("utf-8")
                else:
                    raw[key] = value
        elif ctype == "application/json":
            body = await request.read()
            if body.strip():
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise ValueError("JSON body must be an object")
                raw.update(data)
        return raw, files

    async def _handle_api(self, request: web.Request, token: str, method_name: str) -> web.Response:
        if self.token is not None and token != self.token:
            return self._error_response(401, "Unauthorized")
        method = self.spec.method_names.get(method_name.lower())
        try:
            raw, files = await self._read_params(request)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._finish_error(
                method or method_name, {}, _bad_request("can't parse request body", f"{exc}")
            )
        if method is None:
            raw_all: JSONDict = {**raw, **files}
            self._record(method_name, raw_all)
            err = ApiError(
                404, "Not Found: method not found", violation=True, detail=f"unknown method {method_name!r}"
            )
            return self._finish_error(method_name, raw_all, err)
        try:
            params = self.validator.coerce_params(method, raw, files)
        except ApiError as err:
            raw_all = {**raw, **files}
            self._record(method, raw_all)
            return self._finish_error(method, raw_all, err)
        self._record(method, params)
        try:
            held = self._held.get(method)
            if held is not None:
                self._notify_waiters()  # a test waiting for this request sees it arrive (counted)
                await self._until_set(held)
            if self._delays:
                delay = self._delays.get(method)
                if delay is None and method != "getUpdates":
                    delay = self._delays.get("*")
                if delay:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._closing.wait()
            self._apply_faults(method, params)
            if method == "getUpdates":
                result = await self._h_get_updates(params)
            else:
                handler = self._handlers.get(method)
                if handler is None:
                    result = self._h_generic(method, params)
                else:
                    result = handler(params)
        except ApiError as err:
            return self._finish_error(method, params, err)
        self.status_counts[(method, 200)] += 1
        if self._waiters:
            self._notify_waiters()
        return self._json_response({"ok": True, "result": result})

    def _record(self, method: str, params: JSONDict) -> None:
        self.request_counts[method] += 1
        if self.record:
            self.requests.append((method, params))

    def _finish_error(self, method: str, params: JSONDict, err: ApiError) -> web.Response:
        self.status_counts[(method, err.status)] += 1
        self.errors.append(ErrorRecord(method, err.status, err.description, params))
        if err.violation:
            reason = err.description
            if err.detail and err.detail not in reason:
                reason = f"{reason} [{err.detail}]"
            self.violations.append(Violation(method, reason, params))
        if self._waiters:
            self._notify_waiters()
        return self._error_response(err.status, err.description, err.retry_after)

    def _handle_file(self, token: str, file_path: str) -> web.Response:
        if self.token is not None and token != self.token:
            return self._error_response(401, "Unauthorized")
        stored = self._files_by_path.get(file_path)
        if stored is None:
            return self._error_response(404, "Not Found")
        return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")

    # ----------------------------------------------------------------------------------
    # Faults
    # ----------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """Fail the next ``count`` calls of ``method`` ("*" = any method but getUpdates).

        Injected faults apply after validation, so invalid requests still count as violations.
        """
        if status == 429 and not retry_after:
            raise ValueError("retry_after must be >= 1 (PTB ignores a falsy retry_after)")
        self._fail_next.setdefault(method, deque()).append(_Fault(status, retry_after, description, count))

    def set_fault_rate(
        self,
        method: str,
        status: int,
        rate: float,
        retry_after: int | None = 1,
        seed: int = 0,
        description: str | None = None,
    ) -> None:
        """Fail a deterministic pseudo-random fraction ``rate`` of ``method`` calls (0 disables)."""
        if rate <= 0:
            self._fault_rates.pop(method, None)
            return
        self._fault_rates[method] = _FaultRate(status, rate, retry_after, description, random.Random(seed))

    def set_delay(self, method: str, seconds: float) -> None:
        """Delay responses of ``method`` ("*" = any but getUpdates); 0 removes the delay."""
        if seconds <= 0:
            self._delays.pop(method, None)
        else:
            self._delays[method] = seconds

    def hold(self, method: str) -> None:
        """Hold every response of ``method`` until :meth:`release` (or the emulator stops): the
        bot waits in a state the test controls, for as long as the test needs, not for a duration."""
        self._held.setdefault(method, asyncio.Event())

    def release(self, method: str) -> None:
        """Answer the held requests of ``method`` (and the next ones at once)."""
        event = self._held.pop(method, None)
        if event is not None:
            event.set()

    async def _until_set(self, event: asyncio.Event) -> None:
        """Wait for ``event`` or the emulator stopping, whichever comes first."""
        waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._closing.wait())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    def fail_chat(self, chat_id: int, status: int = 502) -> None:
        """Every send/edit to this chat fails with ``status`` (a 5xx: Telegram did not take it)."""
        self._failing_chats[chat_id] = status

    def heal_chat(self, chat_id: int) -> None:
        """Undo fail_chat()."""
        self._failing_chats.pop(chat_id, None)

    def block_chat(self, chat_id: int) -> None:
        """Every send/edit to this chat gets 403 "Forbidden: bot was blocked by the user"."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        """Undo block_chat()."""
        self._blocked.discard(chat_id)

    def reset_faults(self) -> None:
        """Remove all injected faults, fault rates, delays, holds and blocked chats."""
        self._fail_next.clear()
        self._fault_rates.clear()
        self._delays.clear()
        for method in list(self._held):
            self.release(method)
        self._blocked.clear()
        self._failing_chats.clear()

    def _apply_faults(self, method: str, params: JSONDict) -> None:
        if (
            self._blocked
            and method.startswith(_CHAT_SEND_PREFIXES)
            and params.get("chat_id") in self._blocked
        ):
            raise ApiError(403, STATUS_DESCRIPTIONS[403])
        if (
            self._failing_chats
            and method.startswith(_CHAT_SEND_PREFIXES)
            and params.get("chat_id") in self._failing_chats
        ):
            raise _fault_error(self._failing_chats[params["chat_id"]], None, None)
        if self._fail_next:
            queue = self._fail_next.get(method)
            if not queue and method != "getUpdates":
                queue = self._fail_next.get("*")
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                raise _fault_error(fault.status, fault.retry_after, fault.description)
        if self._fault_rates:
            fr = self._fault_rates.get(method)
            if fr is None and method != "getUpdates":
                fr = self._fault_rates.get("*")
            if fr is not None and fr.rng.random() < fr.rate:
                raise _fault_error(fr.status, fr.retry_after, fr.description)

    # ----------------------------------------------------------------------------------
    # Waiting
    # ----------------------------------------------------------------------------------

    def _notify_waiters(self) -> None:
        for predicate, fut in list(self._waiters):
            if fut.done():
                continue
            try:
                result = predicate()
            except Exception as exc:  # noqa: BLE001 - forwarded to the waiting test
                fut.set_exception(exc)
                continue
            if result:
                fut.set_result(result)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Wait until ``predicate()`` is truthy; it is re-checked after every request/injection.

        Returns the truthy value; raises TimeoutError with a summary of recent requests.
        """
        result = predicate()
        if result:
            return result
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        entry = (predicate, fut)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            recent = ", ".join(m for m, _ in self.requests[-8:]) or "none"
            raise TimeoutError(
                f"condition not met within {timeout}s (last requests: {recent}; "
                f"violations: {len(self.violations)}; errors: {len(self.errors)})"
            ) from None
        finally:
            self._waiters.remove(entry)

    async def wait_for_messages(self, chat_id: int, n: int = 1, timeout: float = 15.0) -> list[JSONDict]:
        """Wait until the bot has delivered at least ``n`` messages (in total) to ``chat_id``."""
        sent = self._sent_by_chat[chat_id]
        await self.wait_for(lambda: len(sent) >= n, timeout)
        return list(sent)

    async def wait_for_requests(self, method: str, n: int = 1, timeout: float = 15.0) -> list[JSONDict]:
        """Wait until ``method`` was called at least ``n`` times (any outcome); return their params."""
        await self.wait_for(lambda: self.request_counts[method] >= n, timeout)
        return [p for m, p in self.requests if m == method]

    # ----------------------------------------------------------------------------------
    # Inspection
    # ----------------------------------------------------------------------------------

    def sent_messages(self, chat_id: int | None = None) -> list[JSONDict]:
        """Messages the bot delivered (ok responses only), edits applied, in order."""
        if chat_id is None:
            return list(self._sent)
        return list(self._sent_by_chat.get(chat_id, ()))

    def last_message(self, chat_id: int) -> JSONDict | None:
        """The last message the bot delivered to ``chat_id``."""
        return self._last_bot_message.get(chat_id)

    def get_message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """Any stored message (bot or injected user message)."""
        return self._messages.get((chat_id, message_id))

    @property
    def delivered_count(self) -> int:
        """Number of messages delivered by the bot."""
        return len(self._sent)

    @property
    def pending_updates(self) -> int:
        """Updates injected but not yet confirmed through getUpdates offset."""
        return len(self._updates)

    def calls(self, method: str) -> list[JSONDict]:
        """Params of every recorded call of ``method``."""
        return [p for m, p in self.requests if m == method]

    def validate_object(self, value: Any, type_name: str) -> None:
        """Check any value against a spec type (raises SpecError)."""
        self.validator.check(value, type_name, type_name)

    def format_violations(self) -> str:
        """Human-readable list of violations."""
        lines = []
        for v in self.violations:
            params = {k: (repr(x) if isinstance(x, UploadedFile) else x) for k, x in v.params.items()}
            shown = json.dumps(params, ensure_ascii=False, default=str)
            if len(shown) > 400:
                shown = shown[:400] + "..."
            lines.append(f"- {v.method}: {v.reason}\n    params={shown}")
        return "\n".join(lines)

    def assert_no_violations(self) -> None:
        """Raise AssertionError listing all Bot API violations, unless expect_violations is set."""
        if self.violations and not self.expect_violations:
            raise AssertionError(
                f"{len(self.violations)} Telegram Bot API violation(s):\n{self.format_violations()}"
            )

    # ----------------------------------------------------------------------------------
    # Users, chats, files
    # ----------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str | None = None,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> JSONDict:
        """Register (or replace) a user; returns the User dict."""
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}"}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        chat = self.chats.get(user_id)
        if chat is not None and chat["type"] == "private":
            self.chats[user_id] = self._private_chat(user)
        return user

    def _user(self, user_id: int) -> JSONDict:
        user = self.users.get(user_id)
        if user is None:
            user = self.add_user(user_id, username=f"user{user_id}")
        return user

    @staticmethod
    def _private_chat(user: JSONDict) -> JSONDict:
        chat: JSONDict = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def add_chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """Register (or replace) a chat; returns the Chat dict."""
        if chat_type is None:
            chat_type = (
                "private" if chat_id > 0 else ("supergroup" if str(chat_id).startswith("-100") else "group")
            )
        if chat_type == "private":
            if chat_id <= 0:
                raise ValueError("private chat ids are positive user ids")
            chat = self._private_chat(self._user(chat_id))
        else:
            chat = {"id": chat_id, "type": chat_type, "title": title or f"Chat {chat_id}"}
            if username:
                chat["username"] = username
        if chat.get("username"):
            self._chat_by_username[chat["username"].lower()] = chat_id
        self.chats[chat_id] = chat
        return chat

    def _chat(self, chat_id: int, chat_type: str | None = None) -> JSONDict:
        chat = self.chats.get(chat_id)
        if chat is None or (chat_type is not None and chat["type"] != chat_type):
            chat = self.add_chat(chat_id, chat_type)
        return chat

    def store_file(
        self,
        content: bytes,
        filename: str | None = None,
        mime_type: str | None = None,
        *,
        kind: str = "documents",
    ) -> StoredFile:
        """Store bytes so getFile + download work; returns the StoredFile."""
        n = next(self._file_counter)
        ext = ""
        if filename and "." in filename:
            ext = "." + filename.rsplit(".", 1)[1].lower()
        if mime_type is None and ext:
            mime_type = _MIME_BY_EXT.get(ext[1:])
        stored = StoredFile(
            file_id=f"EMU{kind[:3].upper()}{n:08d}AgADemulator",
            file_unique_id=f"AQAD{n:08d}",
            content=content,
            file_path=f"{kind}/file_{n}{ext}",
            filename=filename,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def _document_obj(stored: StoredFile) -> JSONDict:
        doc: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }
        if stored.filename:
            doc["file_name"] = stored.filename
        if stored.mime_type:
            doc["mime_type"] = stored.mime_type
        return doc

    def get_file_content(self, file_id: str) -> bytes:
        """Bytes of a stored file (e.g. a document the bot sent)."""
        return self._files[file_id].content

    # ----------------------------------------------------------------------------------
    # Injection
    # ----------------------------------------------------------------------------------

    def inject_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw update (update_id is assigned); wakes pending getUpdates."""
        update = {"update_id": self._next_update_id, **{k: v for k, v in update.items() if k != "update_id"}}
        self._next_update_id += 1
        kind = next((k for k in update if k != "update_id"), "")
        allowed = self._allowed_updates
        if (kind in allowed) if allowed is not None else (kind not in _DEFAULT_EXCLUDED_UPDATES):
            self._updates.append(update)
            self._signal_updates()
        if self._waiters:
            self._notify_waiters()
        return update

    def _signal_updates(self) -> None:
        signal = self._update_signal
        self._update_signal = asyncio.Event()
        signal.set()

    def _next_message_id(self, chat_id: int) -> int:
        self._msg_counter[chat_id] += 1
        return self._msg_counter[chat_id]

    def _resolve_sender(self, chat: JSONDict, user_id: int | None) -> JSONDict:
        if chat["type"] == "private":
            if user_id is not None and user_id != chat["id"]:
                raise ValueError("in a private chat the sender must be the chat's user")
            return self._user(chat["id"])
        return self._user(user_id if user_id is not None else self.default_user_id)

    def _auto_entities(self, text: str) -> list[JSONDict]:
        entities: list[JSONDict] = []
        for m in re.finditer(
            r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?|(?<![\w@])@[A-Za-z0-9_]{3,32}", text
        ):
            kind = "bot_command" if m.group(0).startswith("/") else "mention"
            entities.append(
                {"type": kind, "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0))}
            )
        return entities

    @staticmethod
    def _reply_copy(message: JSONDict) -> JSONDict:
        return {k: v for k, v in message.items() if k != "reply_to_message"}

    def inject_message(
        self,
        chat_id: int,
        text: str | None = None,
        user_id: int | None = None,
        chat_type: str | None = None,
        reply_to_bot: bool = False,
        entities: list[JSONDict] | None = None,
        document: JSONDict | None = None,
        *,
        reply_to: int | None = None,
        mention_bot: bool = False,
    ) -> JSONDict:
        """Queue a user message; returns the update.

        chat_type defaults to "private" for positive ids, "group"/"supergroup" (-100...) otherwise.
        Without ``entities``, bot_command and @mention entities are detected like Telegram does.
        ``mention_bot`` prefixes "@<bot username> "; ``reply_to_bot`` replies to the bot's last
        message in the chat, ``reply_to`` to a given message id. With ``document`` (a Document
        dict, see inject_document) the text becomes the caption.
        """
        chat = self._chat(chat_id, chat_type)
        sender = self._resolve_sender(chat, user_id)
        if mention_bot:
            text = f"@{self.bot_username} {text or ''}".rstrip()
        msg: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
        }
        if reply_to_bot or reply_to is not None:
            if reply_to is not None:
                target = self._messages.get((chat_id, reply_to))
            else:
                target = self._last_bot_message.get(chat_id)
            if target is None:
                raise LookupError(f"no message to reply to in chat {chat_id}")
            msg["reply_to_message"] = self._reply_copy(target)
        if text is not None:
            ents = self._auto_entities(text) if entities is None else entities
            if document is not None:
                msg["caption"] = text
                if ents:
                    msg["caption_entities"] = ents
            else:
                msg["text"] = text
                if ents:
                    msg["entities"] = ents
        if document is not None:
            msg["document"] = document
        if "text" not in msg and "document" not in msg:
            raise ValueError("a message needs text or a document")
        self._messages[(chat_id, msg["message_id"])] = msg
        return self.inject_update({"message": msg})

    def inject_command(
        self,
        chat_id: int,
        command: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        **kwargs: Any,
    ) -> JSONDict:
        """Queue a "/command args" message with a bot_command entity at offset 0."""
        if not command.startswith("/"):
            command = "/" + command
        return self.inject_message(chat_id, command, user_id=user_id, chat_type=chat_type, **kwargs)

    def inject_document(
        self,
        chat_id: int,
        filename: str,
        content: bytes,
        user_id: int | None = None,
        mime_type: str | None = None,
        *,
        caption: str | None = None,
        chat_type: str | None = None,
    ) -> JSONDict:
        """Queue a message with a document; the bytes are downloadable via getFile."""
        stored = self.store_file(content, filename, mime_type)
        return self.inject_message(
            chat_id,
            caption,
            user_id=user_id,
            chat_type=chat_type,
            document=self._document_obj(stored),
        )

    def inject_callback(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        user_id: int | None = None,
        *,
        check_button: bool = True,
    ) -> JSONDict:
        """Queue a button press on a stored bot message; returns the update.

        With ``check_button`` the message must carry an inline button with this callback_data.
        """
        msg = self._messages.get((chat_id, message_id))
        if msg is None or msg.get("from", {}).get("id") != self.bot_user["id"]:
            raise LookupError(f"no bot message {message_id} in chat {chat_id}")
        if check_button:
            rows = msg.get("reply_markup", {}).get("inline_keyboard", [])
            if not any(b.get("callback_data") == data for row in rows for b in row):
                raise LookupError(f"message {message_id} has no button with callback_data={data!r}")
        chat = self.chats[chat_id]
        sender = self._resolve_sender(chat, user_id)
        query_id = str(4_000_000_000_000_000_000 + next(self._callback_counter))
        self._callbacks[query_id] = {"answered": False, "chat_id": chat_id, "message_id": message_id}
        query = {
            "id": query_id,
            "from": sender,
            "message": copy.deepcopy(msg),
            "chat_instance": str(abs(chat_id) * 1_000_003 % 10**18),
            "data": data,
        }
        return self.inject_update({"callback_query": query})

    def _chat_member(self, status: str, user: JSONDict) -> JSONDict:
        type_name = {
            "creator": "ChatMemberOwner",
            "administrator": "ChatMemberAdministrator",
            "member": "ChatMemberMember",
            "restricted": "ChatMemberRestricted",
            "left": "ChatMemberLeft",
            "kicked": "ChatMemberBanned",
        }[status]
        member: JSONDict = {"status": status, "user": user}
        for name, f in self.spec.types.get(type_name, {}).items():
            if f.required and name not in member:
                member[name] = {"Boolean": False, "Integer": 0, "String": ""}.get(f.types[0], None)
        return {k: v for k, v in member.items() if v is not None}

    def inject_my_chat_member(
        self,
        chat_id: int,
        user_id: int | None = None,
        new_status: str = "kicked",
        old_status: str | None = None,
        *,
        block: bool | None = None,
    ) -> JSONDict:
        """Queue a my_chat_member update (the bot's status changed, e.g. user blocked the bot).

        In private chats "kicked" also blocks the chat and "member" unblocks it (override with block).
        """
        chat = self._chat(chat_id)
        sender = self._resolve_sender(chat, user_id)
        if old_status is None:
            old_status = "kicked" if new_status == "member" else "member"
        if block is None and chat["type"] == "private":
            block = {"kicked": True, "member": False}.get(new_status)
        if block is True:
            self.block_chat(chat_id)
        elif block is False:
            self.unblock_chat(chat_id)
        payload = {
            "chat": chat,
            "from": sender,
            "date": int(time.time()),
            "old_chat_member": self._chat_member(old_status, self.bot_user),
            "new_chat_member": self._chat_member(new_status, self.bot_user),
        }
        return self.inject_update({"my_chat_member": payload})

    # ----------------------------------------------------------------------------------
    # Method handlers
    # ----------------------------------------------------------------------------------

    async def _h_get_updates(self, params: JSONDict) -> list[JSONDict]:
        queue = self._updates
        offset = params.get("offset")
        if offset is not None:
            if offset < 0:
                while len(queue) > -offset:
                    queue.popleft()
            else:
                while queue and queue[0]["update_id"] < offset:
                    queue.popleft()
        limit = min(max(params.get("limit", 100), 1), 100)
        timeout = max(params.get("timeout", 0), 0)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._poll_generation += 1
        generation = self._poll_generation
        self._signal_updates()  # an older long poll gets terminated with 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, STATUS_DESCRIPTIONS[409])
            if queue:
                return list(itertools.islice(queue, limit))
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing.is_set():
                return []
            signal = self._update_signal
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await signal.wait()

    def _h_delete_webhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _h_get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    def _h_generic(self, method: str, params: JSONDict) -> Any:
        if self.spec.returns.get(method) == ("Boolean",):
            return True
        raise ApiError(
            404,
            "Not Found: method not found",
            violation=True,
            detail=f"{method} exists in the Bot API but is not implemented by the emulator",
        )

    def _target_chat(self, chat_id: int | str) -> JSONDict:
        if isinstance(chat_id, str):
            cid = self._chat_by_username.get(chat_id.lstrip("@").lower())
            if cid is None:
                raise _bad_request("chat not found", f"unknown chat {chat_id!r}")
            return self.chats[cid]
        chat = self.chats.get(chat_id)
        if chat is None:
            if self.strict_chats:
                raise _bad_request("chat not found", f"chat {chat_id} was never seen by the emulator")
            chat = self.add_chat(chat_id)
        return chat

    def _format(
        self,
        raw: str,
        parse_mode: str | None,
        entities: list[JSONDict] | None,
        limit: int,
        what: str,
    ) -> tuple[str, list[JSONDict]]:
        """Parse text/caption like Telegram: returns (plain text, entities)."""
        mode = parse_mode.lower() if parse_mode else ""
        if mode and mode not in ("html", "markdown", "markdownv2"):
            raise _bad_request(f"unsupported parse_mode {parse_mode!r}")
        if entities is not None:
            text, ents = raw, entities
            total = utf16_len(text)
            for e in ents:
                if e["offset"] < 0 or e["length"] <= 0 or e["offset"] + e["length"] > total:
                    raise _bad_request("can't parse entities: entity is out of the text bounds", f"{e}")
        elif mode == "html":
            try:
                text, ents = parse_html(raw)
            except HtmlError as exc:
                raise _bad_request(f"can't parse entities: {exc}", f"{what}={raw[:200]!r}") from None
        else:
            text, ents = raw, []
        text, ents = _strip_text(text, ents)
        if not text and what == "text":
            raise _bad_request("message text is empty")
        length = utf16_len(text)
        if length > limit:
            reason = "message is too long" if what == "text" else "message caption is too long"
            raise _bad_request(
                reason, f"{what} has {length} UTF-16 units after entity parsing, limit {limit}"
            )
        return text, ents

    def _new_bot_message(self, chat: JSONDict, params: JSONDict) -> JSONDict:
        target = None
        reply = params.get("reply_parameters")
        if reply is not None:
            target = self._messages.get((reply.get("chat_id", chat["id"]), reply["message_id"]))
            if target is None and not reply.get("allow_sending_without_reply"):
                raise _bad_request("message to be replied not found", f"reply_parameters={reply}")
        msg: JSONDict = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
        }
        if target is not None:
            msg["reply_to_message"] = self._reply_copy(target)
        return msg

    @staticmethod
    def _set_markup(msg: JSONDict, params: JSONDict) -> None:
        markup = params.get("reply_markup")
        # Only inline keyboards are part of the Message object.
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)

    def _store_sent(self, msg: JSONDict) -> JSONDict:
        chat_id = msg["chat"]["id"]
        self._messages[(chat_id, msg["message_id"])] = msg
        self._sent.append(msg)
        self._sent_by_chat[chat_id].append(msg)
        self._last_bot_message[chat_id] = msg
        return msg

    def _h_send_message(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params["chat_id"])
        text, ents = self._format(
            params["text"], params.get("parse_mode"), params.get("entities"), MAX_TEXT_LENGTH, "text"
        )
        msg = self._new_bot_message(chat, params)
        msg["text"] = text
        if ents:
            msg["entities"] = ents
        self._set_markup(msg, params)
        return self._store_sent(msg)

    def _caption(self, msg: JSONDict, params: JSONDict) -> None:
        caption = params.get("caption")
        if caption:
            text, ents = self._format(
                caption,
                params.get("parse_mode"),
                params.get("caption_entities"),
                MAX_CAPTION_LENGTH,
                "caption",
            )
            if text:
                msg["caption"] = text
            if ents:
                msg["caption_entities"] = ents

    def _input_file(self, value: Any, kind: str, max_bytes: int) -> tuple[StoredFile, bool]:
        """Resolve an InputFile/String parameter; returns (file, freshly uploaded)."""
        if isinstance(value, UploadedFile):
            if not value.data:
                raise _bad_request("file must be non-empty")
            if len(value.data) > max_bytes:
                raise ApiError(413, "Request Entity Too Large", violation=True)
            return self.store_file(value.data, value.filename, value.content_type, kind=kind), True
        if value.startswith("attach://"):
            raise _bad_request("wrong file identifier/HTTP URL specified", "attach:// is not allowed here")
        stored = self._files.get(value)
        if stored is not None:
            return stored, False
        if value.startswith(("http://", "https://")):
            name = value.rstrip("/").rsplit("/", 1)[-1] or None
            return self.store_file(b"", name, None, kind=kind), False
        raise _bad_request("wrong file identifier/HTTP URL specified", f"unknown file_id {value[:60]!r}")

    @staticmethod
    def _check_photo(photo: Any) -> tuple[int, int]:
        """Telegram-like checks of an uploaded photo; returns (width, height), 0 if unknown."""
        if not isinstance(photo, UploadedFile):
            return 0, 0
        size = image_size(photo.data)
        if size is None:
            raise _bad_request("IMAGE_PROCESS_FAILED", "photo is not a PNG/JPEG/GIF/WEBP image")
        width, height = size
        if width and height and (width + height > 10000 or max(width, height) / min(width, height) > 20):
            raise _bad_request("PHOTO_INVALID_DIMENSIONS", f"{width}x{height}")
        return size

    @staticmethod
    def _photo_sizes(stored: StoredFile, width: int, height: int) -> list[JSONDict]:
        return [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": width or 800,
                "height": height or 600,
                "file_size": len(stored.content),
            }
        ]

    def _h_send_photo(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params["chat_id"])
        width, height = self._check_photo(params["photo"])
        probe: JSONDict = {}
        self._caption(probe, params)
        stored, _ = self._input_file(params["photo"], "photos", MAX_PHOTO_BYTES)
        msg = self._new_bot_message(chat, params)
        msg["photo"] = self._photo_sizes(stored, width, height)
        msg.update(probe)
        self._set_markup(msg, params)
        return self._store_sent(msg)

    def _h_send_document(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params["chat_id"])
        probe: JSONDict = {}
        self._caption(probe, params)
        stored, _ = self._input_file(params["document"], "documents", MAX_UPLOAD_BYTES)
        msg = self._new_bot_message(chat, params)
        msg["document"] = self._document_obj(stored)
        msg.update(probe)
        self._set_markup(msg, params)
        return self._store_sent(msg)

    def _h_send_media_group(self, params: JSONDict) -> list[JSONDict]:
        chat = self._target_chat(params["chat_id"])
        media = params["media"]
        if not 2 <= len(media) <= 10:
            raise _bad_request("wrong number of media in the album", f"{len(media)} items, allowed 2-10")
        kinds = {item["type"] for item in media}
        if not kinds <= {"photo", "document"}:
            raise ApiError(
                404,
                "Not Found: method not found",
                violation=True,
                detail=f"sendMediaGroup with {sorted(kinds)} is not implemented by the emulator",
            )
        if len(kinds) > 1:
            raise _bad_request("document can't be mixed with other media types")
        prepared = []
        for item in media:
            value = item["media"]
            if value.startswith("attach://"):
                value = params[value[9:]]
            size = self._check_photo(value) if item["type"] == "photo" else (0, 0)
            probe: JSONDict = {}
            self._caption(probe, item)
            prepared.append((item["type"], value, size, probe))
        group_id = str(13_000_000_000_000_000 + next(self._file_counter))
        messages = []
        for index, (kind, value, (width, height), probe) in enumerate(prepared):
            stored, _ = self._input_file(
                value, kind + "s", MAX_PHOTO_BYTES if kind == "photo" else MAX_UPLOAD_BYTES
            )
            msg = self._new_bot_message(chat, params if index == 0 else {})
            msg["media_group_id"] = group_id
            if kind == "photo":
                msg["photo"] = self._photo_sizes(stored, width, height)
            else:
                msg["document"] = self._document_obj(stored)
            msg.update(probe)
            messages.append(self._store_sent(msg))
        return messages

    def _h_get_file(self, params: JSONDict) -> JSONDict:
        stored = self._files.get(params["file_id"])
        if stored is None:
            raise _bad_request("invalid file_id", f"unknown file_id {params['file_id']!r}")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _editable_message(self, params: JSONDict) -> JSONDict | None:
        """Find the bot message addressed by chat_id/message_id; None for inline messages."""
        if "inline_message_id" in params:
            if "chat_id" in params or "message_id" in params:
                raise _bad_request("inline_message_id can't be combined with chat_id/message_id")
            return None
        if "chat_id" not in params or "message_id" not in params:
            raise _bad_request("message identifier is not specified", "chat_id and message_id are required")
        chat = self._target_chat(params["chat_id"])
        msg = self._messages.get((chat["id"], params["message_id"]))
        if msg is None:
            raise _bad_request(
                "message to edit not found", f"message {params['message_id']} in chat {chat['id']}"
            )
        if msg.get("from", {}).get("id") != self.bot_user["id"]:
            raise _bad_request("message can't be edited", "the message was not sent by the bot")
        return msg

    @staticmethod
    def _markup_of(params_or_msg: JSONDict) -> Any:
        markup = params_or_msg.get("reply_markup")
        if isinstance(markup, dict) and not markup.get("inline_keyboard"):
            return None
        return markup

    def _h_edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        if "text" not in params:
            raise _bad_request("message text is empty", 'parameter "text" is required for editMessageText')
        msg = self._editable_message(params)
        text, ents = self._format(
            params["text"], params.get("parse_mode"), params.get("entities"), MAX_TEXT_LENGTH, "text"
        )
        if msg is None:
            return True
        if "text" not in msg:
            raise _bad_request("there is no text in the message to edit")
        new_markup = self._markup_of(params)
        if text == msg["text"] and ents == msg.get("entities", []) and new_markup == self._markup_of(msg):
            raise ApiError(400, NOT_MODIFIED)
        msg["text"] = text
        if ents:
            msg["entities"] = ents
        else:
            msg.pop("entities", None)
        self._set_markup(msg, params)
        msg["edit_date"] = int(time.time())
        return msg

    def _h_edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        msg = self._editable_message(params)
        if msg is None:
            return True
        if self._markup_of(params) == self._markup_of(msg):
            raise ApiError(400, NOT_MODIFIED)
        self._set_markup(msg, params)
        msg["edit_date"] = int(time.time())
        return msg

    def _h_delete_message(self, params: JSONDict) -> bool:
        chat = self._target_chat(params["chat_id"])
        key = (chat["id"], params["message_id"])
        if self._messages.pop(key, None) is None:
            raise _bad_request("message to delete not found", f"message {key[1]} in chat {key[0]}")
        self.deleted_messages.append(key)
        return True

    def _h_answer_callback_query(self, params: JSONDict) -> bool:
        query = self._callbacks.get(params["callback_query_id"])
        if query is None:
            raise _bad_request(QUERY_INVALID[13:], "unknown callback_query_id")
        if query["answered"]:
            raise _bad_request(QUERY_INVALID[13:], "callback query was already answered")
        text = params.get("text", "")
        if len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG", f"answer text has {len(text)} chars, limit 200")
        query["answered"] = True
        self.callback_answers.append(params)
        return True

    def _h_send_chat_action(self, params: JSONDict) -> bool:
        chat = self._target_chat(params["chat_id"])
        if params["action"] not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request", f"action={params['action']!r}")
        self.chat_actions.append((chat["id"], params["action"]))
        return True

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code", "")

    def _h_set_my_commands(self, params: JSONDict) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            raise _bad_request("too many commands", f"{len(commands)} > 100")
        for cmd in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", cmd["command"]):
                raise _bad_request("BOT_COMMAND_INVALID", f"command {cmd['command']!r}")
            if not 1 <= len(cmd["description"].strip()) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID", f"command {cmd['command']!r}")
        self.commands[self._commands_key(params)] = commands
        return True

    def _h_get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands.get(self._commands_key(params), [])

    def _h_delete_my_commands(self, params: JSONDict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True
