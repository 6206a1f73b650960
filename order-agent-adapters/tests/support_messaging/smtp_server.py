"""A real SMTP server on loopback for the SMTP adapter's tests (aiosmtpd).

Usage: python3 smtp_server.py OUT_DIR
Prints the port it listens on (127.0.0.1, chosen by the OS) as the first line of stdout, then
writes each accepted message to OUT_DIR/NNNN.json ({"mail_from", "rcpt_tos", "data"}). Refuses
recipients at refused.example with 550 and defers those at busy.example with 451. Offers AUTH
(PLAIN, LOGIN) without requiring it: user `shop`, password `secret`; wrong credentials get 535.
Exits when its stdin closes (the test ended).
"""

import asyncio
import json
import os
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        domain = address.rsplit("@", 1)[-1].lower()
        if domain == "refused.example":
            return "550 5.1.1 mailbox unavailable"
        if domain == "busy.example":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
            "authenticated": bool(session.authenticated),
        }
        tmp = os.path.join(self.out_dir, "%04d.tmp" % self.count)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out_dir, "%04d.json" % self.count))
        return "250 2.0.0 queued as %04d" % self.count


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"shop"
        and auth_data.password == b"secret"
    )
    return AuthResult(success=ok, handled=False)


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


async def main():
    handler = Handler(sys.argv[1])
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="smtp.test",
            enable_SMTPUTF8=True,
            authenticator=authenticator,
            auth_require_tls=False,
        ),
        "127.0.0.1",
        0,
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    await server.serve_forever()


asyncio.run(main())
