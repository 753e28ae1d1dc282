"""A loopback TCP proxy that can cut the network, for fault tests.

The bot talks to the Bot API emulator through it (``TELEGRAM_API_BASE_URL`` = the proxy's URL)::

    proxy = await NetProxy(emulator.port).start()
    ...
    await proxy.cut()      # the network drops: no new connection, idle ones closed
    ...
    proxy.restore()        # and comes back on the same port

A cut closes the listening socket (new connections are refused: the client's ``connect`` fails,
so a request is surely not delivered) and closes every idle connection. A connection whose request
was already forwarded gets its response first and is closed after it: the cut falls between
requests, so whether a message was delivered is never ambiguous. (``abort_in_flight=True`` drops
those too, the ambiguous case: the request may have been executed, its answer is lost.)
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass(eq=False)
class _Conn:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    awaiting: bool = False  # a request was forwarded and its response has not started
    close_after_response: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self, abort: bool = False) -> None:
        for w in (self.client, self.upstream):
            if abort:
                w.transport.abort()
            else:
                w.close()


class NetProxy:
    """Forward 127.0.0.1:<port> to 127.0.0.1:<target_port>; :meth:`cut` and :meth:`restore` it."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.target_port = target_port
        self.port = 0
        self.up = False
        self.conns: set[_Conn] = set()
        self.accepted = 0
        self.cuts = 0
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def bot_base_url(self) -> str:
        """For TELEGRAM_API_BASE_URL."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """For TELEGRAM_FILE_BASE_URL."""
        return f"{self.base_url}/file/bot"

    async def start(self) -> NetProxy:
        """Listen (on a free port the first time, on the same port after a cut)."""
        self._server = await asyncio.start_server(self._on_client, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        self.up = True
        return self

    async def cut(self, abort_in_flight: bool = False) -> None:
        """The network drops: refuse new connections, close idle ones; one in flight is closed
        after its response (or at once with ``abort_in_flight``)."""
        self.up = False
        self.cuts += 1
        if self._server is not None:
            self._server.close()
            self._server = None
        # Let every reader take what is already in its socket buffer, so a request the client
        # wrote just before the cut counts as in flight rather than being dropped unread.
        for _ in range(3):
            await asyncio.sleep(0)
        for conn in list(self.conns):
            if abort_in_flight:
                conn.close(abort=True)
                self.conns.discard(conn)
            elif conn.awaiting:
                conn.close_after_response = True
            else:
                # Half-close: the client sees the connection end (EOF) without a reset, and a request
                # it may already have written is read and dropped (never forwarded), not reset.
                with contextlib.suppress(OSError, RuntimeError):
                    conn.client.write_eof()

    async def restore(self) -> None:
        """The network is back, on the same port."""
        if self._server is None:
            await self.start()

    async def stop(self) -> None:
        """Close everything."""
        await self.cut(abort_in_flight=True)
        for conn in list(self.conns):
            for t in conn.tasks:
                t.cancel()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.accepted += 1
        conn = _Conn(writer, up_writer)
        self.conns.add(conn)
        conn.tasks = [asyncio.current_task()]  # type: ignore[list-item]
        back = asyncio.create_task(self._pump_back(conn, up_reader))
        conn.tasks.append(back)
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if not self.up and not conn.awaiting:
                    break  # a new request after the cut: the network is down
                conn.awaiting = True
                up_writer.write(data)
                await up_writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not conn.close_after_response:
                conn.close()
                self.conns.discard(conn)
            with contextlib.suppress(asyncio.CancelledError):
                await back

    async def _pump_back(self, conn: _Conn, up_reader: asyncio.StreamReader) -> None:
        buf = b""
        try:
            while True:
                data = await up_reader.read(65536)
                if not data:
                    break
                conn.client.write(data)
                await conn.client.drain()
                buf += data
                # One response is complete when its headers and Content-Length bytes are through
                # (the emulator never uses chunked encoding; no pipelining on one connection).
                while b"\r\n\r\n" in buf:
                    head, _, rest = buf.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value.strip())
                    if len(rest) < length:
                        break
                    buf = rest[length:]
                    conn.awaiting = False
                if conn.close_after_response and not conn.awaiting:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            conn.close()
            self.conns.discard(conn)
