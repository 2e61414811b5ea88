"""A small asyncio TCP service with a known leak, for the attach tests.

Run by Debian's interpreter: /usr/bin/python3 asyncio_server.py
It listens on an ephemeral port of 127.0.0.1 and prints
"ready <port> payload <bytes>" (<bytes>: what one payload object takes).
Each connection speaks lines:
    "session"  keeps a 1 KiB payload per request in a module-level dict that
               is never pruned (the leak of the tracemalloc guides in
               shared/seeds), answers "ok <n>" with the number it now holds
    "count"    answers "held <n>"
    "quit"     answers "bye", then the server closes and the process exits 0
Anything else is answered "error unknown request".

Ground truth for the tests: bytes(1024) is over pymalloc's 512-byte limit,
so each payload is one calloc of the object header plus 1024 bytes, made
from the same native call stack every time; the dict's own storage is
reallocated at another site as it grows.
"""

import asyncio
import sys

_SESSIONS = {}


def remember_session():
    _SESSIONS[len(_SESSIONS)] = bytes(1024)
    return len(_SESSIONS)


async def serve_connection(reader, writer, quit_requested):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            request = line.strip()
            if request == b"session":
                reply = "ok %d" % remember_session()
            elif request == b"count":
                reply = "held %d" % len(_SESSIONS)
            elif request == b"quit":
                reply = "bye"
            else:
                reply = "error unknown request"
            writer.write(reply.encode() + b"\n")
            await writer.drain()
            if request == b"quit":
                quit_requested.set()
                break
    finally:
        writer.close()


async def main():
    quit_requested = asyncio.Event()
    server = await asyncio.start_server(
        lambda r, w: serve_connection(r, w, quit_requested), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # The payload's size as the interpreter counts it: the bytes one calloc asks for.
    print("ready", port, "payload", sys.getsizeof(bytes(1024)), flush=True)
    async with server:
        await quit_requested.wait()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
