"""A minimal FastCGI client (the responder role), to talk to a worker
directly, without nginx. Standard library only.

    status, headers, body = request(("127.0.0.1", port), "GET",
                                    "/api/debug/sleep", "ms=100")
"""

import select
import socket
import struct

FCGI_VERSION = 1
FCGI_BEGIN_REQUEST = 1
FCGI_END_REQUEST = 3
FCGI_PARAMS = 4
FCGI_STDIN = 5
FCGI_STDOUT = 6
FCGI_STDERR = 7
FCGI_RESPONDER = 1
FCGI_KEEP_CONN = 1
FCGI_REQUEST_COMPLETE = 0
REQUEST_ID = 1
MAX_CONTENT = 65535


class FastCGIError(Exception):
    pass


def _record(rtype, content=b""):
    """One record: header, content, padding to a multiple of 8."""
    padding = -len(content) % 8
    header = struct.pack("!BBHHBx", FCGI_VERSION, rtype, REQUEST_ID,
                         len(content), padding)
    return header + content + b"\0" * padding


def _stream(rtype, data):
    """A stream (PARAMS, STDIN): records of at most 64 KiB, then an empty one."""
    out = b""
    for i in range(0, len(data), MAX_CONTENT):
        out += _record(rtype, data[i:i + MAX_CONTENT])
    return out + _record(rtype)


def _length(n):
    return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)


def encode_params(params):
    out = b""
    for name, value in params.items():
        name = name.encode()
        value = str(value).encode()
        out += _length(len(name)) + _length(len(value)) + name + value
    return out


def _read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise FastCGIError("connection closed after %d of %d bytes"
                               % (len(buf), n))
        buf += chunk
    return bytes(buf)


def parse_cgi_response(stdout):
    """CGI response -> (status, {lower-case name: [values]}, body)."""
    head, sep, body = stdout.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = stdout.partition(b"\n\n")
    if not sep:
        raise FastCGIError("no end of headers in %r" % stdout[:200])
    status = 200
    headers = {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        headers.setdefault(name, []).append(value)
        if name == "status":
            status = int(value.split()[0])
    return status, headers, body


def connect(address, timeout=10.0):
    """address: (host, port) for TCP, or a unix socket path."""
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


def _message(method, path, query="", body=b"", headers=None, keep=False):
    """The records of one request; keep asks the application to leave the
    connection open after its answer (FCGI_KEEP_CONN, as nginx's
    fastcgi_keep_conn does)."""
    params = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": "fcgi_client.py",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": path,
        "DOCUMENT_URI": path,
        "REQUEST_URI": path + ("?" + query if query else ""),
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "HTTP_HOST": "localhost",
    }
    for name, value in (headers or {}).items():
        if name.lower() == "content-type":
            params["CONTENT_TYPE"] = value
        else:
            params["HTTP_" + name.upper().replace("-", "_")] = value

    begin = struct.pack("!HB5x", FCGI_RESPONDER,
                        FCGI_KEEP_CONN if keep else 0)
    return (_record(FCGI_BEGIN_REQUEST, begin)
            + _stream(FCGI_PARAMS, encode_params(params))
            + _stream(FCGI_STDIN, body))


def _response(sock):
    """Records up to FCGI_END_REQUEST -> (status, headers, body)."""
    stdout = bytearray()
    while True:
        version, rtype, _rid, clen, plen = struct.unpack(
            "!BBHHBx", _read_exact(sock, 8))
        if version != FCGI_VERSION:
            raise FastCGIError("bad record version %d" % version)
        content = _read_exact(sock, clen + plen)[:clen]
        if rtype == FCGI_STDOUT:
            stdout += content
        elif rtype == FCGI_END_REQUEST:
            _app_status, protocol_status = struct.unpack("!IB3x", content)
            if protocol_status != FCGI_REQUEST_COMPLETE:
                raise FastCGIError("protocol status %d" % protocol_status)
            return parse_cgi_response(bytes(stdout))


def request(address, method, path, query="", body=b"", headers=None,
            timeout=30.0, on_sent=None, before_send=None):
    """Send one request; return (status, headers, body) of the response.

    headers: extra HTTP headers as {"X-Request-Id": "..."}. on_sent, if
    given, is called once the whole request has been written; before_send
    once connected, before anything is written.
    """
    message = _message(method, path, query, body, headers)
    with connect(address, timeout) as sock:
        if before_send:
            before_send()
        sock.sendall(message)
        if on_sent:
            on_sent()
        return _response(sock)


class Connection:
    """One connection for many requests, one after another, as nginx uses
    a connection from its upstream keepalive cache: every request asks the
    application to keep the connection (FCGI_KEEP_CONN)."""

    def __init__(self, address, timeout=10.0):
        self.sock = connect(address, timeout)

    def request(self, method, path, query="", body=b"", headers=None,
                keep=True):
        self.send_only(method, path, query, body, headers, keep)
        return self.response()

    def send_only(self, method, path, query="", body=b"", headers=None,
                  keep=True):
        """Write a request and return before its answer."""
        self.sock.sendall(_message(method, path, query, body, headers, keep))

    def send_part(self, method, path, body, held, headers=None):
        """Write a request but its last held bytes (the end of its body and
        of its stdin stream); return a function that writes them."""
        message = _message(method, path, "", body, headers, True)
        self.sock.sendall(message[:-held])
        return lambda: self.sock.sendall(message[-held:])

    def answered_within(self, seconds):
        """True if the application has written anything within seconds."""
        readable, _, _ = select.select([self.sock], [], [], seconds)
        return bool(readable)

    def response(self):
        return _response(self.sock)

    def closed_by_peer(self, timeout=10.0):
        """True once the application has closed its side (EOF)."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Responder:
    """A FastCGI application on a unix socket that treats its connections as
    the workers do. One whose request asks to keep it (FCGI_KEEP_CONN)
    waits for the next request; any other is closed as libfcgi does: it
    answers, shuts its sending side, and reads (dropping) whatever still
    comes for `linger` seconds before closing. Here the shutdown comes
    `close_after` seconds after the answer (a thread that lost the CPU in
    between). A request that arrives on a connection being closed is counted
    in `swallowed`: its sender gets no answer. `connections` counts the
    connections accepted."""

    def __init__(self, path, stdout, close_after=0.2, linger=1.0):
        import threading
        self.stdout = stdout
        self.close_after = close_after
        self.linger = linger
        self.answered = 0
        self.swallowed = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        self._sock.listen(64)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self):
        self._sock.close()

    def _serve(self):
        import threading
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,),
                             daemon=True).start()

    def _late(self, conn, seconds):
        """True if bytes came within seconds."""
        conn.settimeout(seconds)
        try:
            return bool(conn.recv(1024))
        except socket.timeout:
            return False

    def _one(self, conn):
        with self._lock:
            self.connections += 1
        with conn:
            conn.settimeout(10)
            try:
                while True:
                    keep = False
                    while True:     # up to the end of STDIN
                        _v, rtype, _rid, clen, plen = struct.unpack(
                            "!BBHHBx", _read_exact(conn, 8))
                        content = _read_exact(conn, clen + plen)
                        if rtype == FCGI_BEGIN_REQUEST:
                            keep = bool(content[2] & FCGI_KEEP_CONN)
                        if rtype == FCGI_STDIN and clen == 0:
                            break
                    conn.sendall(_stream(FCGI_STDOUT, self.stdout) +
                                 _record(FCGI_END_REQUEST, struct.pack(
                                     "!IB3x", 0, FCGI_REQUEST_COMPLETE)))
                    with self._lock:
                        self.answered += 1
                    if keep:        # the next request, or the peer's close
                        conn.settimeout(None)
                        continue
                    late = self._late(conn, self.close_after)
                    conn.shutdown(socket.SHUT_WR)
                    late = self._late(conn, self.linger) or late
                    if late:
                        with self._lock:
                            self.swallowed += 1
                    return
            except (OSError, FastCGIError):
                pass
