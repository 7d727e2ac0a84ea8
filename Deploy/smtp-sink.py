#!/usr/bin/env python3
"""A local SMTP server for Kring's tests (aiosmtpd): stores every message it accepts in a folder.

For each message N it writes N.eml (the bytes as received after the DATA dot-unstuffing) and N.json
(the envelope, the connection it came over, and what Python's e-mail parser reads from it: decoded
headers and the decoded text of every part), so tests check Kring's output with an independent parser.
Every command it handles is appended to events.jsonl. It prints "READY <port>" once it listens.

Usage: smtp-sink.py --dir DIR [--ready-file F] [--tls none|starttls|implicit --cert C --key K] [--require-starttls]
                    [--auth USER:PASSWORD [--auth-only PLAIN|LOGIN]] [--pipelining] [--smtputf8] [--reject ADDRESS=CODE ...]
                    [--count-only]
Listens on 127.0.0.1 only.
"""
import argparse
import email
import email.policy
import json
import os
import signal
import socket
import ssl
import sys
import threading

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
    def __init__(self, folder, rejects, pipelining, count_only=False):
        self.count_only = count_only
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
    args = parser.parse_args()

    rejects = {}
    for item in args.reject:
        address, _, code = item.rpartition("=")
        rejects[address.lower()] = code
    os.makedirs(args.dir, exist_ok=True)
    sink = Sink(args.dir, rejects, args.pipelining, args.count_only)

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
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port,
                                ssl_context=context if args.tls == "implicit" else None, **options)
        try:
            controller.start()
            break
        except (OSError, RuntimeError):
            if attempt == 19:
                raise
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(args.ready_file + ".tmp", args.ready_file)
    print(f"READY {port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Also stop when the test process goes away (stdin closes).
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    controller.stop()
    with open(os.path.join(args.dir, "count"), "w") as f:
        f.write(str(sink.count))


if __name__ == "__main__":
    main()
