#!/usr/bin/env python3
"""A minimal SMTP server that accepts every message and counts it, for `kring bench send`.

It speaks just enough ESMTP for a client that sends well-formed mail: EHLO (offering PIPELINING), HELO, MAIL,
RCPT, DATA, RSET, NOOP, QUIT, with pipelined commands answered in order. It keeps nothing and checks nothing, so on a
small machine it takes as little CPU as possible away from the worker being measured. The tests use smtp-sink.py
(aiosmtpd), which parses and stores every message.

Usage: smtp-count-sink.py --dir DIR [--ready-file F]
Listens on 127.0.0.1 on a free port; writes the port to F once listening and the count to DIR/count when stdin
closes or on SIGTERM.
"""
import argparse
import asyncio
import os
import signal
import sys

EHLO = b"250-kring-count-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n"


class Session(asyncio.Protocol):
    counter = [0]

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""
        self.in_data = False
        transport.write(b"220 kring-count-sink ESMTP\r\n")

    def data_received(self, chunk):
        self.buffer += chunk
        replies = []
        while True:
            if self.in_data:
                # The message ends with CRLF . CRLF; an empty message is just ". CRLF".
                if self.buffer.startswith(b".\r\n"):
                    end = 3
                else:
                    found = self.buffer.find(b"\r\n.\r\n")
                    if found < 0:
                        break
                    end = found + 5
                self.buffer = self.buffer[end:]
                self.in_data = False
                Session.counter[0] += 1
                replies.append(b"250 2.0.0 OK queued\r\n")
                continue
            found = self.buffer.find(b"\r\n")
            if found < 0:
                break
            verb = self.buffer[:4].upper()
            self.buffer = self.buffer[found + 2:]
            if verb == b"EHLO":
                replies.append(EHLO)
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                replies.append(b"250 2.0.0 OK\r\n")
            elif verb == b"DATA":
                replies.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                self.in_data = True
            elif verb == b"QUIT":
                replies.append(b"221 2.0.0 Bye\r\n")
                self.transport.write(b"".join(replies))
                self.transport.close()
                return
            else:
                replies.append(b"502 5.5.2 Command not implemented\r\n")
        if replies:
            self.transport.write(b"".join(replies))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Session, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(args.ready_file + ".tmp", args.ready_file)
    print(f"READY {port}", flush=True)

    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    # Also stop when the process that started the sink goes away (stdin closes).
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 4096) else None)
    await stop.wait()
    server.close()
    with open(os.path.join(args.dir, "count"), "w") as f:
        f.write(str(Session.counter[0]))


if __name__ == "__main__":
    asyncio.run(main())
