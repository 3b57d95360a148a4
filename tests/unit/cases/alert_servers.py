"""Local stand-ins for the alert channels: a Slack-like webhook (HTTP) and an SMTP server,
each in a thread on 127.0.0.1 with a free port. They record what they were sent, and can be
told to fail the way real ones do (HTTP 500, refused logins) while echoing what they got."""

from __future__ import annotations

import base64
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookServer:
    """Answers POSTs with ``status``; when ``echo_path`` is set, a failure's body repeats the
    request path, as some proxies' error pages do (the path is the webhook's credential)."""

    def __init__(self, status: int = 200, echo_path: bool = False) -> None:
        self.status = status
        self.echo_path = echo_path
        self.posts: list[bytes] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.posts.append(body)
                reply = b"ok" if outer.status < 300 else b"no_service"
                if outer.status >= 300 and outer.echo_path:
                    reply = f"no_service for {self.path}".encode()
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> WebhookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpServer:
    """Just enough SMTP for smtplib: EHLO (advertising AUTH PLAIN), AUTH, MAIL, RCPT, DATA,
    QUIT. ``refuse_login`` answers AUTH with 535 and echoes the credentials it received."""

    def __init__(self, refuse_login: bool = False) -> None:
        self.refuse_login = refuse_login
        self.messages: list[str] = []
        self.logins: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())
                self.wfile.flush()

            def handle(self) -> None:
                self.reply("220 localhost test SMTP")
                while True:
                    line = self.rfile.readline().decode().rstrip("\r\n")
                    if not line:
                        return
                    verb, _, argument = line.partition(" ")
                    verb = verb.upper()
                    if verb == "EHLO":
                        self.reply("250-localhost")
                        self.reply("250 AUTH PLAIN")
                    elif verb == "AUTH":
                        credentials = argument.partition(" ")[2]
                        outer.logins.append(base64.b64decode(credentials).decode())
                        if outer.refuse_login:
                            self.reply(f"535 5.7.8 Authentication credentials invalid: {credentials}")
                        else:
                            self.reply("235 2.7.0 Authentication successful")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        lines = []
                        while (data := self.rfile.readline().decode()) not in (".\r\n", ""):
                            lines.append(data)
                        outer.messages.append("".join(lines))
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:  # HELO, MAIL, RCPT, RSET, NOOP
                        self.reply("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SmtpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
