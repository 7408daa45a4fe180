#!/usr/bin/env python3
"""Where the alerting test's Alertmanager sends its notices: an HTTP
webhook receiver and an SMTP sink, both on 127.0.0.1, on ports the kernel
chooses. Each webhook POST is one JSON line in DIR/webhook.jsonl; each mail
one JSON line ({"from", "to", "data"}) in DIR/mail.jsonl. The ports go to
DIR/ports ("HTTP SMTP") once both listen. Stops on SIGTERM.

    alert_receiver.py DIR
"""
import json
import os
import signal
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
lock = threading.Lock()


def append(name, record):
    with lock, open(os.path.join(DIR, name), "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


class Webhook(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            self.send_error(413)
            return
        body = self.rfile.read(n)
        try:
            append("webhook.jsonl", json.loads(body))
        except ValueError:
            self.send_error(400)
            return
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for Alertmanager without TLS or AUTH."""

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 127.0.0.1 alert-receiver")
        sender, rcpts = None, []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-127.0.0.1")
                self.reply("250 8BITMIME")
            elif verb == "MAIL":
                sender, rcpts = cmd[10:].strip(), []
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(cmd[8:].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with .")
                data = []
                while True:
                    l = self.rfile.readline(1 << 16)
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    data.append(l.decode("utf-8", "replace"))
                append("mail.jsonl", {"from": sender, "to": rcpts, "data": "".join(data)})
                self.reply("250 OK queued")
            elif verb == "RSET":
                sender, rcpts = None, []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    http = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    smtp = SmtpServer(("127.0.0.1", 0), Smtp)
    for server in (http, smtp):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = os.path.join(DIR, "ports.tmp")
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (http.server_address[1], smtp.server_address[1]))
    os.rename(tmp, os.path.join(DIR, "ports"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    http.shutdown()
    smtp.shutdown()


if __name__ == "__main__":
    main()
