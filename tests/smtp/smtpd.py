#!/usr/bin/python3
"""A real SMTP server for faultdesk's tests and benchmark (aiosmtpd, RFC 5321).

Usage: smtpd.py --port N (0 = any) --dir OUTDIR [--mode plain|starttls|implicit]
                [--cert cert.pem --key key.pem] [--auth USER] [--no-eml]
Prints "READY <port>" on its first stdout line once it listens on 127.0.0.1.
The AUTH password is read from the environment variable SMTPD_PASSWORD.

With --reuse-port several processes share one port (the kernel spreads the
connections); give each its own OUTDIR.

Every accepted message is appended to OUTDIR/log.jsonl (from, to, subject,
message_id, body, decoded) and stored as OUTDIR/<n>.eml; with --no-eml (the
benchmark) only its number and Message-ID are logged and scripted replies
("rcpt", "data") still apply.

Behaviour is steered at run time by OUTDIR/control.json, read at every hook:
  {"rcpt": {"addr@x": ["451 4.3.0 Try later", "550 5.1.1 No such user"]},
   "data": ["451 4.7.1 Busy"],
   "kill_on_data": PID}
- "rcpt": replies given, one per RCPT TO of that address, then consumed;
- "data": replies given at end of DATA (any message), then consumed;
- "kill_on_data": the next accepted message is recorded (the server has
  taken it), then process PID is killed with SIGKILL before the 250 reply is
  sent: the client never learns that its message was accepted.
The server can be stopped and started again on the same port.
"""
import argparse, asyncio, email, email.policy, json, os, re, signal, ssl

from aiosmtpd.smtp import SMTP, AuthResult

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--dir", required=True)
ap.add_argument("--mode", choices=["plain", "starttls", "implicit"], default="plain")
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--auth")
ap.add_argument("--no-eml", action="store_true")
ap.add_argument("--reuse-port", action="store_true",
                help="share the port with other server processes (benchmark: one per core)")
args = ap.parse_args()
os.makedirs(args.dir, exist_ok=True)
CONTROL = os.path.join(args.dir, "control.json")
LOG = os.path.join(args.dir, "log.jsonl")


def load_control():
    try:
        with open(CONTROL) as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def save_control(c):
    tmp = CONTROL + ".tmp"
    with open(tmp, "w") as f:
        json.dump(c, f)
    os.replace(tmp, CONTROL)


def take(c, *path):
    """Pops the first scripted reply at c[path...], saving the rest."""
    node = c
    for p in path[:-1]:
        node = node.get(p, {})
    replies = node.get(path[-1]) or []
    if not replies:
        return None
    reply = replies.pop(0)
    save_control(c)
    return reply


class Handler:
    def __init__(self):
        self.n = sum(1 for _ in open(LOG)) if os.path.exists(LOG) else 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = take(load_control(), "rcpt", address)
        if reply and not reply.startswith("250"):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        c = load_control()
        reply = take(c, "data")
        if reply and not reply.startswith("250"):
            return reply
        self.n += 1
        if args.no_eml:
            # Benchmark: only the Message-ID, without parsing the MIME message.
            m = re.search(rb"(?im)^Message-ID:\s*(<[^>]*>)", envelope.original_content)
            with open(LOG, "a") as f:
                f.write(json.dumps({"n": self.n, "message_id": m.group(1).decode() if m else ""}) + "\n")
            return "250 2.0.0 Queued as %d" % self.n
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        body = msg.get_body(("plain",))
        with open(os.path.join(args.dir, f"{self.n}.eml"), "wb") as f:
            f.write(envelope.original_content)
        with open(LOG, "a") as f:
            f.write(json.dumps({
                "n": self.n, "from": envelope.mail_from, "to": envelope.rcpt_tos,
                "subject": str(msg["Subject"] or ""), "message_id": str(msg["Message-ID"] or ""),
                "body": body.get_content() if body else "",
            }, ensure_ascii=False) + "\n")
            f.flush()
        pid = c.get("kill_on_data")
        if pid:
            del c["kill_on_data"]
            save_control(c)
            os.kill(int(pid), signal.SIGKILL)
        return "250 2.0.0 Queued as %d" % self.n


def authenticator(server, session, envelope, mechanism, auth_data):
    want = os.environ.get("SMTPD_PASSWORD", "")
    ok = (args.auth is not None and auth_data.login == args.auth.encode()
          and auth_data.password == want.encode())
    # handled=False: aiosmtpd answers a failure with 535 itself (True would leave the client waiting).
    return AuthResult(success=ok, handled=False)


async def main():
    ctx = None
    if args.mode != "plain":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
    handler = Handler()

    def factory():
        return SMTP(handler, hostname="localhost",
                    tls_context=ctx if args.mode == "starttls" else None,
                    require_starttls=(args.mode == "starttls"),
                    authenticator=authenticator if args.auth else None,
                    # With implicit TLS asyncio does the TLS; aiosmtpd does not see it.
                    auth_require_tls=(args.mode == "starttls"),
                    auth_required=bool(args.auth))

    loop = asyncio.get_running_loop()
    srv = await loop.create_server(factory, "127.0.0.1", args.port,
                                   ssl=ctx if args.mode == "implicit" else None,
                                   reuse_address=True, reuse_port=args.reuse_port)
    print("READY", srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()

asyncio.run(main())
