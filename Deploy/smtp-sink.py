#!/usr/bin/env python3
"""A local SMTP server for Kring's tests (aiosmtpd): stores every message it accepts in a folder.

For each message N it writes N.eml (the bytes as received after the DATA dot-unstuffing) and N.json
(the envelope, the connection it came over, and what Python's e-mail parser reads from it: decoded
headers and the decoded text of every part), so tests check Kring's output with an independent parser.
Every command it handles is appended to events.jsonl. It prints "READY <port>" once it listens.

For fault tests (Deploy/fault-test.sh): --port listens on a given port (so a sink stopped and started again is the
same relay), --delay holds each DATA reply back (a slow relay), and --recipients-log appends one line per accepted
message, "RCPT<TAB>MESSAGE-ID<TAB>X-KRING-CAMPAIGN", written just before the 250 reply. On SIGTERM a sink with
--recipients-log stops like a relay going down for maintenance: it answers 421 to every new transaction, lets the
messages whose DATA is under way finish, then closes.

Usage: smtp-sink.py --dir DIR [--ready-file F] [--tls none|starttls|implicit --cert C --key K] [--require-starttls]
                    [--auth USER:PASSWORD [--auth-only PLAIN|LOGIN]] [--pipelining] [--smtputf8] [--reject ADDRESS=CODE ...]
                    [--count-only] [--port P] [--delay SECONDS] [--recipients-log FILE]
Listens on 127.0.0.1 only.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import ssl
import stat
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

REPLIES = {
    "421": "421 4.3.2 Service shutting down",
    "450": "450 4.2.1 Mailbox busy, try again later",
    "451": "451 4.3.0 Temporary local problem, try again later",
    "452": "452 4.2.2 Mailbox full",
    "550": "550 5.1.1 No such user here",
    "552": "552 5.2.2 Mailbox over quota",
    "554": "554 5.7.1 Rejected by policy",
}


def is_tls(server, session):
    """After STARTTLS or on an implicit-TLS connection."""
    transport = getattr(server, "transport", None)
    return session.ssl is not None or (transport is not None and transport.get_extra_info("ssl_object") is not None)


class Sink:
    def __init__(self, folder, rejects, pipelining, count_only=False, delay=0.0, recipients_log=None):
        self.count_only = count_only
        self.delay = delay
        self.recipients_log = open(recipients_log, "a", buffering=1) if recipients_log else None
        # Set when the sink is going down: new transactions get 421, the ones in DATA finish.
        self.closing = False
        self.in_data = 0
        self.folder = folder
        self.rejects = rejects
        self.pipelining = pipelining
        self.count = 0
        self.lock = threading.Lock()

    def event(self, kind, server, session, **extra):
        if self.count_only:
            return
        record = {"event": kind, "peer": list(session.peer) if session.peer else None,
                  "tls": is_tls(server, session), "authenticated": bool(session.authenticated), **extra}
        with self.lock, open(os.path.join(self.folder, "events.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.event("ehlo", server, session, hostname=hostname)
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RSET(self, server, session, envelope):
        self.event("rset", server, session)
        return "250 OK"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.event("mail", server, session, address=address)
        if self.closing:
            return REPLIES["421"]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.rejects.get(address.lower())
        self.event("rcpt", server, session, address=address, rejected=code)
        if code:
            return REPLIES.get(code, f"{code} rejected")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.recipients_log is not None:
            return await self.log_recipients(envelope)
        if self.count_only:
            with self.lock:
                self.count += 1
                return "250 2.0.0 Ok: queued as sink-%05d" % self.count
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append({
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "transfer_encoding": part.get("Content-Transfer-Encoding"),
                "text": part.get_content() if part.get_content_maintype() == "text" else None,
            })
        headers = {}
        for name, value in message.items():
            headers.setdefault(name.lower(), []).append(str(value))
        defects = [type(d).__name__ for d in message.defects]
        for part in message.walk():
            defects += [type(d).__name__ for d in part.defects]
        with self.lock:
            self.count += 1
            number = self.count
        with open(os.path.join(self.folder, f"{number:05d}.eml"), "wb") as f:
            f.write(raw)
        record = {
            "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
            "peer": list(session.peer), "tls": is_tls(server, session),
            "login": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "content_type": message.get_content_type(), "headers": headers, "parts": parts, "defects": defects,
        }
        with open(os.path.join(self.folder, f"{number:05d}.json.tmp"), "w") as f:
            json.dump(record, f)
        # The .json appears complete or not at all: tests wait for it.
        os.rename(os.path.join(self.folder, f"{number:05d}.json.tmp"), os.path.join(self.folder, f"{number:05d}.json"))
        self.event("data", server, session, number=number)
        return "250 2.0.0 Ok: queued as sink-%05d" % number

    async def log_recipients(self, envelope):
        """Accepts the message after --delay and logs its recipients, message id and campaign (one line each)."""
        self.in_data += 1
        try:
            if self.closing:
                return REPLIES["421"]
            if self.delay:
                await asyncio.sleep(self.delay)
            message_id, campaign = "-", "-"
            for line in envelope.original_content.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.lower() == b"message-id":
                    message_id = value.strip().decode("ascii", "replace")
                elif name.lower() == b"x-kring-campaign":
                    campaign = value.strip().decode("ascii", "replace")
            with self.lock:
                self.count += 1
                number = self.count
                for rcpt in envelope.rcpt_tos:
                    self.recipients_log.write(f"{rcpt}\t{message_id}\t{campaign}\n")
            return "250 2.0.0 Ok: queued as sink-%05d" % number
        finally:
            self.in_data -= 1


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--require-starttls", action="store_true")
    parser.add_argument("--auth", help="USER:PASSWORD that AUTH PLAIN and LOGIN accept")
    parser.add_argument("--auth-only", choices=["PLAIN", "LOGIN"], help="offer only this AUTH mechanism")
    parser.add_argument("--ready-file", help="where to write the port once listening")
    parser.add_argument("--pipelining", action="store_true", help="advertise PIPELINING")
    parser.add_argument("--smtputf8", action="store_true", help="advertise SMTPUTF8 and accept international addresses (RFC 6531)")
    parser.add_argument("--reject", action="append", default=[], help="ADDRESS=CODE: answer RCPT with CODE")
    parser.add_argument("--count-only", action="store_true", help="keep nothing, only count (benchmarks); the count is written to DIR/count at exit")
    parser.add_argument("--port", type=int, help="listen on this port rather than a free one")
    parser.add_argument("--delay", type=float, default=0.0, help="with --recipients-log: seconds before each DATA reply")
    parser.add_argument("--recipients-log", help="keep no message; append RCPT, Message-ID and X-Kring-Campaign of each to this file")
    args = parser.parse_args()

    rejects = {}
    for item in args.reject:
        address, _, code = item.rpartition("=")
        rejects[address.lower()] = code
    os.makedirs(args.dir, exist_ok=True)
    sink = Sink(args.dir, rejects, args.pipelining, args.count_only or bool(args.recipients_log), args.delay, args.recipients_log)

    context = None
    if args.tls != "none":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)

    options = {"enable_SMTPUTF8": args.smtputf8}
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
            # handled=False: aiosmtpd itself answers 535 to a wrong password.
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        # With implicit TLS the whole connection is encrypted; without TLS AUTH is offered in the clear on purpose,
        # so tests can check that Kring refuses to send a password there.
        options.update(authenticator=authenticator, auth_required=True, auth_require_tls=args.tls == "starttls")
        if args.auth_only:
            options.update(auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m != args.auth_only])
    if args.tls == "starttls":
        options.update(tls_context=context, require_starttls=args.require_starttls)

    # Controller.start() checks readiness with a connection of its own, so it needs a concrete port.
    for attempt in range(20):
        port = args.port or free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port,
                                ssl_context=context if args.tls == "implicit" else None, **options)
        try:
            controller.start()
            break
        except (OSError, RuntimeError):
            if attempt == 19:
                raise
            if args.port:
                time.sleep(0.5)  # the port of a sink just stopped may still be held for a moment
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(args.ready_file + ".tmp", args.ready_file)
    print(f"READY {port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Also stop when the test process goes away (stdin closes), when stdin is a pipe from it: a sink started in the
    # background of a shell script has /dev/null there.
    if stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    if args.recipients_log:
        # Going down like a relay: no new transaction, the ones in DATA finish (up to 10 s).
        sink.closing = True
        deadline = time.monotonic() + 10
        while sink.in_data and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # the last 250 replies on their way
    controller.stop()
    with open(os.path.join(args.dir, "count"), "w") as f:
        f.write(str(sink.count))


if __name__ == "__main__":
    main()
