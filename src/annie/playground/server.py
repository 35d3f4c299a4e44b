"""The playground's HTTP server (Python's standard library only) and its JSON API.

    GET  /                                    the page; GET /static/<file>: its scripts, style
    GET  /api/options                         every control (kind, default, range, choices)
    POST /api/sessions                        a new session -> {"session", "states"}
    POST /api/sessions/<id>/close             end it (the page does on unload)
    GET  /api/sessions/<id>/state             the labs' last snapshots {"mlp": ..., "rnn": ...}
    GET  /api/sessions/<id>/events            the same as a stream (server-sent events)
    POST /api/sessions/<id>/<lab>/settings    {"control": value, ...} -> {"state", "rebuilt"}
    POST /api/sessions/<id>/<lab>/<action>    play | pause | step | reset -> {"state"}
    POST /api/sessions/<id>/mlp/upload?name=  the body is a CSV file (at most 1 MiB)
    GET  /api/sessions/<id>/<lab>/export/<what>  model | config | data | code (a download)

A bad request gets a JSON body {"error": message, "control": name or null} and status 400 (404
for an unknown session or path, 405 with ``Allow`` for a method the path does not take, 413 for
an upload over the limit); the message is what the page shows. HEAD is a GET without the body.
An unexpected failure is logged here and answered with status 500 and one line, never a
traceback. Only requests whose Host is the address the server listens on are answered (against
DNS rebinding), and a state-changing request from another origin is refused.
"""
from __future__ import annotations

import json
import re
import select
import signal
import socket
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, unquote, urlsplit

from threadpoolctl import threadpool_limits

from .. import __version__
from ..errors import AnnieError, ConfigError
from . import controls, export
from .controls import ControlError
from .sessions import SessionError, SessionLimitError, SessionStore, annie_turn
from .toy_data import MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS

MAX_JSON_BYTES = 64 * 1024
DRAIN_BYTES = 16 * MAX_UPLOAD_BYTES  # a refused body up to this size is read and dropped
STREAM_KEEPALIVE = 15.0  # seconds between comment lines on an idle event stream
STREAM_CHECK = 1.0  # seconds between checks that the page still holds its event stream
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
                ".txt": "text/plain; charset=utf-8"}
EXPORTS = {"model": ("model.annie", "application/octet-stream"),
           "config": ("config.toml", "application/toml; charset=utf-8"),
           "data": ("data.csv", "text/csv; charset=utf-8"),
           "code": ("train.py", "text/x-python; charset=utf-8")}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: BLAS threads per call while serving: the sessions' workers (and a measurement beside the
#: training) already run side by side, and multi-threaded BLAS calls from several threads
#: oversubscribe the cores (on 2 busy cores an LSTM step took 5 to 20 times longer)
BLAS_THREADS = 1


class RequestError(Exception):
    """A request the server answers with ``status`` and a message (and the control at fault)."""

    def __init__(self, status: HTTPStatus, message: str, control: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.control, self.headers = status, control, headers or {}


def _static_files() -> dict[str, bytes]:
    """The page's files, read once from the package (nothing else is ever served)."""
    folder = resources.files(__package__) / "static"
    return {entry.name: entry.read_bytes() for entry in folder.iterdir()
            if entry.is_file() and entry.name.rsplit(".", 1)[-1] in
            {suffix[1:] for suffix in STATIC_TYPES}}


class PlaygroundServer(ThreadingHTTPServer):
    """A threading HTTP server holding the sessions and the page's files."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, quiet: bool = True,
                 max_sessions: int = 16):
        super().__init__((host, port), PlaygroundHandler)
        self.store = SessionStore(max_sessions=max_sessions)
        self.static = _static_files()
        self.quiet = quiet
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        """The page's address, e.g. http://127.0.0.1:8765/."""
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"

    def allowed_hosts(self) -> set[str] | None:
        """Host header values accepted (None: any, when listening beyond loopback)."""
        host, port = self.server_address[:2]
        if host not in LOOPBACK:
            return None
        return {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")}

    def handle_error(self, request, client_address) -> None:
        """A browser that drops its connection (a reload, a closed tab) is no error to log;
        anything else is logged as the standard library does."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def shutdown(self) -> None:
        """Stop serving, end the event streams and close every session."""
        self.stopping.set()
        self.store.close_all()
        super().shutdown()


class PlaygroundHandler(BaseHTTPRequestHandler):
    """Routes one request to the API or the static files."""

    server: PlaygroundServer
    protocol_version = "HTTP/1.1"
    server_version = f"annie-playground/{__version__}"

    # ----- plumbing --------------------------------------------------------------------------
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        if not self.server.quiet:
            super().log_message(format, *args)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802 (a GET without the body: see _send)
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _refuse_method(self) -> None:  # PUT, DELETE, ...: 405 or 404 in JSON, as any error
        self._dispatch(self.command)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

    def _dispatch(self, method: str) -> None:
        self._body_read = False
        try:
            self._check_origin(method)
            path = urlsplit(self.path).path
            for pattern, verb, handler in ROUTES:
                match = pattern.fullmatch(path)
                if match and verb == method:
                    handler(self, *match.groups())
                    return
            verbs = sorted({verb for pattern, verb, _ in ROUTES if pattern.fullmatch(path)})
            if verbs:
                allowed = ", ".join(verbs + ["HEAD"] if "GET" in verbs else verbs)
                raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} is not "
                                   f"allowed on {path}", headers={"Allow": allowed})
            raise RequestError(HTTPStatus.NOT_FOUND, f"no such page or API: {path[:80]}")
        except RequestError as error:
            self._send_error(error.status, str(error), error.control, error.headers)
        except ControlError as error:
            self._send_error(HTTPStatus.BAD_REQUEST, str(error), error.control or None)
        except SessionError as error:
            self._send_error(HTTPStatus.NOT_FOUND, str(error))
        except SessionLimitError as error:
            self._send_error(HTTPStatus.SERVICE_UNAVAILABLE, str(error))
        except AnnieError as error:
            self._send_error(HTTPStatus.BAD_REQUEST, str(error))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:  # noqa: BLE001 (logged here, one line to the page)
            traceback.print_exc(file=sys.stderr)
            self._send_error(HTTPStatus.INTERNAL_SERVER_ERROR,
                             f"internal error ({type(error).__name__}); see the server's log")

    def _check_origin(self, method: str) -> None:
        allowed = self.server.allowed_hosts()
        host = self.headers.get("Host", "")
        if allowed is not None and host not in allowed:
            raise RequestError(HTTPStatus.FORBIDDEN, f"unexpected Host header {host[:60]!r}; "
                                                     f"open {self.server.url}")
        origin = self.headers.get("Origin")
        if method == "POST" and origin is not None and origin != f"http://{host}":
            raise RequestError(HTTPStatus.FORBIDDEN, "requests from other sites are refused")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str,
              extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, payload: dict | str, status: HTTPStatus = HTTPStatus.OK,
                   extra: dict | None = None) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, allow_nan=False)
        self._send(status, text.encode("utf-8"), "application/json", extra)

    def _send_error(self, status: HTTPStatus, message: str, control: str | None = None,
                    extra: dict | None = None) -> None:
        self._discard_body()
        try:
            self._send_json({"error": message, "control": control}, status, extra)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _content_length(self, limit: int, what: str) -> int:
        text = self.headers.get("Content-Length")
        if text is None:
            if self.command == "POST" and self.headers.get("Transfer-Encoding"):
                self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, f"{what}: the request needs a "
                                                           f"Content-Length")
        try:
            length = int(text)
        except ValueError:
            raise RequestError(HTTPStatus.BAD_REQUEST, "bad Content-Length") from None
        if length < 0:
            raise RequestError(HTTPStatus.BAD_REQUEST, "bad Content-Length")
        if length > limit:  # the body is drained (or the connection closed) by _send_error
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"{what}: {length:,} bytes; the limit is {limit:,} bytes")
        return length

    def _read_body(self, limit: int, what: str) -> bytes:
        length = self._content_length(limit, what)
        self._body_read = True
        return self.rfile.read(length) if length else b""

    def _discard_body(self) -> None:
        """Read and drop an unread body (up to DRAIN_BYTES) so the client gets the answer and
        the connection stays usable; a larger one closes the connection."""
        if self._body_read or self.command in ("GET", "HEAD"):
            return
        self._body_read = True
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if 0 < length <= DRAIN_BYTES:
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 16))
                if not chunk:
                    break
                length -= len(chunk)
        elif length != 0:
            self.close_connection = True

    def _read_json(self):
        body = self._read_body(MAX_JSON_BYTES, "settings")
        try:
            return json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            raise RequestError(HTTPStatus.BAD_REQUEST, "the body must be JSON, e.g. "
                                                       "{\"lr\": 0.01}") from None

    # ----- routes ------------------------------------------------------------------------------
    def page(self, name: str = "index.html") -> None:
        """A file of the page."""
        body = self.server.static.get(name)
        suffix = "." + name.rsplit(".", 1)[-1]
        if body is None:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no such file: {name[:80]}")
        self._send(HTTPStatus.OK, body, STATIC_TYPES[suffix])

    def options(self) -> None:
        """The controls of both tabs and the upload limits."""
        self._send_json({"controls": {lab: controls.describe(lab) for lab in controls.CONTROLS},
                         "limits": {"upload_bytes": MAX_UPLOAD_BYTES,
                                    "upload_rows": MAX_UPLOAD_ROWS},
                         "version": __version__})

    def create_session(self) -> None:
        """A new session and the first snapshots of its labs."""
        self._discard_body()
        session = self.server.store.create()
        self._send_json('{"session": %s, "states": {%s}}' % (json.dumps(session.id), ", ".join(
            f'"{name}": {session.state(name)}' for name in session.labs)))

    def close_session(self, session_id: str) -> None:
        """End a session (its worker stops, its temporary folder is deleted)."""
        self._discard_body()
        self.server.store.close(session_id)
        self._send_json({"closed": True})

    def state(self, session_id: str) -> None:
        """Both labs' last snapshots."""
        session = self.server.store.get(session_id)
        self._send_json("{%s}" % ", ".join(f'"{name}": {session.state(name)}'
                                           for name in session.labs))

    def events(self, session_id: str) -> None:
        """Server-sent events: ``event: state`` with a lab's snapshot whenever it changes."""
        session = self.server.store.get(session_id)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        seen: dict = {}
        quiet_since = time.monotonic()
        with session.streaming():  # a broken pipe (the tab is gone) ends the stream here
            while not self.server.stopping.is_set() and not session.closed:
                changes = session.wait(seen, STREAM_CHECK)
                if self._peer_closed():  # the page closed the stream (hidden, reloaded, gone)
                    return
                session.touch()
                if not changes and time.monotonic() - quiet_since < STREAM_KEEPALIVE:
                    continue
                quiet_since = time.monotonic()
                if not changes:
                    self.wfile.write(b": still here\n\n")
                for name, (version, text) in changes.items():
                    seen[name] = version
                    self.wfile.write(f"event: state\ndata: {text}\n\n".encode("utf-8"))
                self.wfile.flush()

    def _peer_closed(self) -> bool:
        """Whether the client closed the connection (an event stream's client never sends
        anything after its request, so a readable socket means it is gone)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):
            return True

    def settings(self, session_id: str, lab: str) -> None:
        """Change a lab's controls."""
        session = self.server.store.get(session_id)
        rebuilt = session.configure(lab, self._read_json())
        self._send_json('{"rebuilt": %s, "state": %s}' % (json.dumps(rebuilt),
                                                          session.state(lab)))

    def action(self, session_id: str, lab: str, action: str) -> None:
        """Play, Pause, Step or Reset."""
        self._discard_body()
        session = self.server.store.get(session_id)
        session.command(lab, action)
        self._send_json('{"state": %s}' % session.state(lab))

    def upload(self, session_id: str) -> None:
        """An uploaded CSV for the MLP tab (size-bounded; parsed by annie's CSV loader)."""
        session = self.server.store.get(session_id)
        query = parse_qs(urlsplit(self.path).query)
        shown = unquote(query.get("name", ["upload.csv"])[0])
        shown = "".join(char for char in shown if char.isprintable())[:80] or "upload.csv"
        content = self._read_body(MAX_UPLOAD_BYTES, shown)
        if not content:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"{shown}: the file is empty",
                               "dataset")
        try:
            session.upload(content, shown)
        except AnnieError as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, str(error), "dataset") from None
        self._send_json('{"state": %s}' % session.state("mlp"))

    def download(self, session_id: str, lab: str, what: str) -> None:
        """The trained model, the configuration, the data or the code of a lab."""
        session = self.server.store.get(session_id)
        name, content_type = EXPORTS[what]
        lab_object = session.lab(lab)
        with annie_turn():
            if what == "model":
                body = export.model_bytes(lab_object, session.folder)
            elif what == "config":
                body = export.config_toml(lab_object).encode("utf-8")
            elif what == "data":
                body = export.data_csv(lab_object).encode("utf-8")
            else:
                body = export.python_code(lab_object).encode("utf-8")
        filename = name if lab == "mlp" or what != "model" else "rnn_model.annie"
        self._send(HTTPStatus.OK, body, content_type,
                   {"Content-Disposition": f'attachment; filename="{filename}"'})


_SESSION = r"/api/sessions/([A-Za-z0-9_-]{1,64})"
ROUTES = [
    (re.compile(r"/"), "GET", PlaygroundHandler.page),
    (re.compile(r"/static/([A-Za-z0-9_.-]{1,64})"), "GET", PlaygroundHandler.page),
    (re.compile(r"/api/options"), "GET", PlaygroundHandler.options),
    (re.compile(r"/api/sessions"), "POST", PlaygroundHandler.create_session),
    (re.compile(_SESSION + r"/close"), "POST", PlaygroundHandler.close_session),
    (re.compile(_SESSION + r"/state"), "GET", PlaygroundHandler.state),
    (re.compile(_SESSION + r"/events"), "GET", PlaygroundHandler.events),
    (re.compile(_SESSION + r"/mlp/upload"), "POST", PlaygroundHandler.upload),
    (re.compile(_SESSION + r"/(mlp|rnn)/settings"), "POST", PlaygroundHandler.settings),
    (re.compile(_SESSION + r"/(mlp|rnn)/(play|pause|step|reset)"), "POST",
     PlaygroundHandler.action),
    (re.compile(_SESSION + r"/(mlp|rnn)/export/(model|config|data|code)"), "GET",
     PlaygroundHandler.download),
]


def _announce(text: str) -> None:
    print(text, flush=True)


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True,
          quiet: bool = True, announce=_announce) -> None:
    """Run the playground at http://host:port/ until Ctrl+C or SIGTERM (``port=0``: any free
    port); opens the page in the default browser unless ``open_browser`` is False."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"playground: --port must be a whole number from 0 to 65535, got "
                          f"{port!r}")
    try:
        server = PlaygroundServer(host, port, quiet=quiet)
    except OSError as error:
        raise ConfigError(f"playground: cannot listen on {host}:{port}: "
                          f"{error.strerror or error}; choose another --port or --host") from None
    if server.allowed_hosts() is None:
        announce(f"annie playground: listening on {host}, reachable from other machines")
    announce(f"annie playground: {server.url}  (Ctrl+C to stop)")
    if open_browser:
        import webbrowser
        threading.Timer(0.3, webbrowser.open, args=(server.url,)).start()
    previous = _stop_on_termination()
    blas = threadpool_limits(limits=BLAS_THREADS, user_api="blas")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.store.close_all()
        server.server_close()
        blas.restore_original_limits()
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stop_on_termination() -> dict:
    """Make ``kill`` (SIGTERM) and a closed terminal (SIGHUP) stop the server as Ctrl+C does,
    so the sessions' temporary folders are deleted; returns the handlers replaced (none when
    not in the main thread, where Python cannot set them)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(number, frame):
        raise KeyboardInterrupt
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)  # SIGHUP: not on Windows
        if number is not None:
            previous[number] = signal.signal(number, interrupt)
    return previous
