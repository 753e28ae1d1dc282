"""Terminal chat (`python -m bot chat`, or `make run` without a token): the same answers as the
Telegram bot, as plain text. A numbered list (clarification candidates, a list command, related
entries) can be answered by typing the number. The session is one conversation: a follow-up
("còn năm 2024?") is read against the last answer or the entry last chosen by number.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from bot.engine.compose import label
from bot.engine.engine import Answer, Engine
from bot.knowledge.schema import Entry
from bot.services.answers import AnswerService, topic_tokens

PROMPT = "Bạn hỏi: "
BANNER = (
    "Trò chuyện với bot báo cáo xây dựng Đảng (Hải Phòng, {ry}–{ty}).\n"
    "Gõ câu hỏi (có dấu hoặc không dấu). Lệnh: /chitieu, /ketqua [chủ đề], /vanban [từ khóa], /help, /thoat.\n"
    "Khi có danh sách đánh số, gõ số để xem mục đó."
)
HELP = (
    "/chitieu — các chỉ tiêu năm {ty}\n"
    "/ketqua [chủ đề] — kết quả năm {ry} (theo lĩnh vực hoặc chủ đề)\n"
    "/vanban [từ khóa] — các văn bản được trích dẫn\n"
    "/thoat — thoát"
)
BYE = "Tạm biệt!"
EXIT_COMMANDS = frozenset({"/thoat", "/thoát", "/exit", "/quit"})
# The session's conversation in the service's store (Telegram ids are never 0; the terminal has
# a service of its own anyway).
SESSION = (0, 0)


class TerminalChat:
    """One chat session; ``handle(line)`` returns the reply text (None means: exit)."""

    def __init__(self, service: AnswerService) -> None:
        self.service = service
        self.choices: list[str] = []  # entry ids of the last numbered list

    def handle(self, line: str) -> str | None:
        """The reply to one input line; None to exit."""
        text = line.strip()
        if not text:
            return ""
        command, _, rest = text.partition(" ")
        if command.lower() in EXIT_COMMANDS:
            return None
        if text.isdigit() and self.choices:
            return self._choose(int(text))
        if command.startswith("/"):
            return self._command(command.lower().split("@")[0], rest.strip())
        return self._answer(self.service.answer(text, *SESSION))

    def _choose(self, n: int) -> str:
        if not 1 <= n <= len(self.choices):
            return f"Hãy chọn một số từ 1 đến {len(self.choices)}."
        answer = self.service.entry(self.choices[n - 1], *SESSION)
        if answer is None:  # pragma: no cover - ids come from the same base
            return "Mục này không còn trong cơ sở dữ liệu."
        return self._answer(answer)

    def _answer(self, answer: Answer) -> str:
        text = answer.text
        if answer.status in ("clarify", "list"):
            self.choices = [r.id for r in answer.results]
            return text + "\n(Gõ số để xem chi tiết.)"
        self.choices = []
        if answer.status == "answer" and answer.results:
            related = self.service.related(answer.results[0].id)
            if related:
                return text + "\n" + self._numbered("Xem thêm (gõ số):", related)
        return text

    def _numbered(self, heading: str, entries: list[Entry], line: Callable[[Entry], str] | None = None) -> str:
        kb = self.service.kb
        self.choices = [e.id for e in entries]
        fmt = line or (lambda e: label(kb, e))
        return "\n".join([heading, *(f"{i}. {fmt(e)}" for i, e in enumerate(entries, 1))])

    def _command(self, command: str, arg: str) -> str:
        kb = self.service.kb
        ry, ty = self.service.result_year, self.service.target_year
        if command in ("/help", "/start"):
            return HELP.format(ry=ry, ty=ty)
        if command == "/chitieu":
            targets = self.service.targets()
            return self._numbered(f"Các chỉ tiêu năm {ty} ({len(targets)}):", list(targets),
                                  lambda e: f"{e.title}: {kb.figure(e)}")
        if command == "/ketqua":
            section = self.service.find_section(arg) if topic_tokens(arg) else None
            if section is not None:
                results = self.service.section_results(section.id)
                heading = f"Kết quả năm {ry} – {section.title} ({len(results)}):"
            elif topic_tokens(arg):
                results = self.service.results_about(arg)
                if not results:
                    return f"Không tìm thấy kết quả năm {ry} nào về «{arg}». Gõ /ketqua để xem các lĩnh vực."
                heading = f"Kết quả năm {ry} về «{arg}» ({len(results)}):"
            else:
                self.choices = []
                sections = self.service.result_sections()
                return "\n".join(["Các lĩnh vực (gõ /ketqua <số> hoặc /ketqua <chủ đề>):",
                                  *(f"  {s.title}" for s in sections)])
            return self._numbered(heading, list(results), lambda e: f"{e.title}: {kb.figure(e)}")
        if command == "/vanban":
            docs = self.service.documents(arg)
            if not docs:
                return f"Không tìm thấy văn bản nào có «{arg}»."
            return self._numbered(f"Các văn bản được trích dẫn ({len(docs)}):", list(docs), kb.figure)
        return "Lệnh không rõ. " + HELP.format(ry=ry, ty=ty)


def run_chat(engine: Engine, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Chat on stdin/stdout (or the given streams) until /thoat, end of input or Ctrl-C; returns 0."""
    out = stdout or sys.stdout
    service = AnswerService(engine)
    chat = TerminalChat(service)
    use_input = stdin is None and stdout is None and sys.stdin.isatty()
    inp = stdin or sys.stdin
    out.write(BANNER.format(ry=service.result_year, ty=service.target_year) + "\n")
    while True:
        try:
            if use_input:
                line = input(PROMPT)
            else:
                out.write(PROMPT)
                out.flush()
                line = inp.readline()
                if not line:
                    out.write("\n")
                    break
        except EOFError:
            out.write("\n")
            break
        except KeyboardInterrupt:
            out.write("\n")
            break
        reply = chat.handle(line)
        if reply is None:
            break
        if reply:
            out.write(reply + "\n\n")
            out.flush()
    out.write(BYE + "\n")
    return 0
