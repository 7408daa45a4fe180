"""What the integration tests share: the stack's settings from the
environment (script/test sets them), an HTTP client that can choose its
source address, and polling. Standard library only.

Environment (all set by script/test):
  BS_BASE_URL         http://127.0.0.1:PORT, nginx
  BS_WORKER_BIN       the brainstorm-fcgi binary
  BS_WORKER_ENV_FILE  KEY=VALUE lines: the environment the workers run with
  BS_WORKER_PIDS      the PIDs of the workers behind nginx, space separated
  BS_RUN_DIR          the run directory (worker-N.log, nginx logs)
  BS_DATABASE_URL     the application database
  BS_REDIS_URL        redis://127.0.0.1:PORT
  BS_PG_STOP, BS_PG_START, BS_REDIS_STOP, BS_REDIS_START
                      shell commands that stop or start PostgreSQL and Redis
                      (each returns once the server is down or ready)
  BS_PROMTOOL         promtool
  BS_NGINX            nginx
"""

import http.client as httpclient
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.parse


def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("%s is not set: run the integration tests "
                           "through script/test" % name)
    return value


def base_address():
    url = urllib.parse.urlsplit(env("BS_BASE_URL"))
    return url.hostname, url.port or 80


def worker_pids():
    return [int(p) for p in env("BS_WORKER_PIDS").split()]


def worker_sockets():
    """The unix sockets of the workers behind nginx (script/lib.sh)."""
    run = env("BS_RUN_DIR")
    return [os.path.join(run, "fcgi-%d.sock" % (i + 1))
            for i in range(len(worker_pids()))]


def worker_env():
    """The environment the stack's workers run with, on top of ours."""
    out = dict(os.environ)
    out.pop("LOG_FILE", None)
    with open(env("BS_WORKER_ENV_FILE"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                name, _, value = line.partition("=")
                out[name] = value
    return out


def proc_stat(pid):
    """/proc/PID/stat's fields after the command name (state, ppid, ...),
    or None when there is no such process."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def pid_alive(pid):
    """True while pid is a process that is not a zombie."""
    fields = proc_stat(pid)
    return fields is not None and fields[0] != "Z"


def nginx_render(run_dir, **settings):
    """script/lib.sh's bs_nginx_render into run_dir, with BS_* settings on
    top of our environment; the finished process (returncode, stderr)."""
    lib = os.path.join(os.path.dirname(env("BS_WORKER_BIN")), "script",
                       "lib.sh")
    return subprocess.run(["bash", "-c", '. "$1" && bs_nginx_render',
                           "bash", lib],
                          env=dict(os.environ, BS_RUN_DIR=run_dir, **settings),
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60, check=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shell(command_env_name):
    """Run one of the BS_*_STOP/START commands; fail loudly if it fails.
    Output goes to a file, not a pipe: a server it starts may keep the
    descriptors, and reading a pipe would wait for that server to exit."""
    command = env(command_env_name)
    with tempfile.TemporaryFile() as out:
        done = subprocess.run(command, shell=True, stdin=subprocess.DEVNULL,
                              stdout=out, stderr=subprocess.STDOUT,
                              timeout=120, check=False)
        out.seek(0)
        output = out.read().decode(errors="replace")
    if done.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (
            command_env_name, done.returncode, output))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # httpclient.HTTPMessage
        self.body = body                # bytes

    def header(self, name):
        return self.headers.get(name)

    def header_all(self, name):
        return self.headers.get_all(name) or []

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError("not JSON (%s): %r" % (e, self.body[:300]))

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:200])


def request(method, path, body=None, headers=None, source=None, timeout=60,
            port=None):
    """One request through nginx on a new connection.

    body: bytes, str, or anything else to send as JSON. source: a local
    address such as "127.0.0.2" to send from (nginx sees it as remote_addr).
    port: another port on the same host than BS_BASE_URL's.
    """
    headers = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    host, base_port = base_address()
    port = port or base_port
    conn = httpclient.HTTPConnection(
        host, port, timeout=timeout,
        source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def raw_http(data, timeout=30):
    """Send raw bytes to nginx; parse the answer (read until close)."""
    host, port = base_address()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    msg = httpclient.HTTPMessage()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        msg[name.strip()] = value.strip()
    return Response(status, msg, body)


def expect_error(resp, status, code=None):
    """resp is the API's JSON error: status, shape, code, request id."""
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    ctype = resp.header("Content-Type") or ""
    assert ctype.startswith("application/json"), \
        "error content type %r: %r" % (ctype, resp)
    doc = resp.json()
    assert isinstance(doc.get("error"), dict), "no error object: %r" % doc
    err = doc["error"]
    for member in ("code", "message", "request_id"):
        assert isinstance(err.get(member), str) and err[member], \
            "error.%s missing or empty: %r" % (member, doc)
    if code is not None:
        assert err["code"] == code, \
            "expected code %r, got %r" % (code, err["code"])
    ids = resp.header_all("X-Request-Id")
    assert len(ids) == 1, "X-Request-Id headers: %r" % ids
    assert ids[0] == err["request_id"], \
        "X-Request-Id %r != body request_id %r" % (ids[0], err["request_id"])
    return err


def wait_until(what, predicate, timeout=30.0, interval=0.2):
    """Poll predicate until it returns something true; return that.
    Fail with the last value (or exception) seen after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:      # noqa: BLE001 - reported on timeout
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0fs waiting for %s; "
                                 "last: %r" % (timeout, what, last))
        time.sleep(interval)


# ---- accounts, projects and the board --------------------------------------
# Shared by test_accounts, test_authz, test_jwt, test_projects, test_board,
# test_ratelimit_auth and test_zz_log_secrets (which checks that nothing
# remembered here reached a log).

import base64
import hashlib
import hmac
import itertools
import random
import secrets
import threading
import uuid

DEV_JWT_SECRET = "development-only-jwt-secret-do-not-deploy"

# Every password, access token and refresh token the tests used, by kind;
# test_zz_log_secrets looks for each of them in the logs.
SECRETS = {"password": set(), "access_token": set(), "refresh_token": set()}
_secrets_lock = threading.Lock()


def remember_secret(kind, value):
    if isinstance(value, str) and value:
        with _secrets_lock:
            SECRETS[kind].add(value)
    return value


def remembered_secrets():
    """[(kind, value)] of everything remember_secret was given."""
    with _secrets_lock:
        return [(kind, v) for kind, values in SECRETS.items() for v in values]


# Loopback source addresses that no other request of this run uses: nginx's
# limit_req on /api/auth/ and the workers' per-address login limit count per
# address, so a test that sends from its own address is not limited by the
# others. 127.0.0.0/24 is left to the tests that pick addresses by hand.
_source_lock = threading.Lock()
_source_second = random.randrange(16, 250)
_source_counter = itertools.count(1)


def fresh_source():
    with _source_lock:
        n = next(_source_counter)
    return "127.%d.%d.%d" % (_source_second, (n // 250) % 250 + 1, n % 250 + 1)


def new_email(tag="user"):
    return "%s-%s@example.com" % (tag, uuid.uuid4().hex)


def new_password():
    """A password that appears nowhere by chance (for the log check)."""
    return remember_secret("password", "Pw-" + secrets.token_urlsafe(18))


def bearer(token):
    return {"Authorization": "Bearer " + token}


def _remember_session(resp):
    if resp.status in (200, 201):
        try:
            doc = json.loads(resp.body)
        except ValueError:
            return
        if isinstance(doc, dict):
            remember_secret("access_token", doc.get("access_token"))
            remember_secret("refresh_token", doc.get("refresh_token"))


def auth_post(path, body, source=None, **kwargs):
    """POST to /api/auth/...; from a fresh source address unless given.
    Remembers the tokens of a session it answers."""
    if source is None:
        source = fresh_source()
    if isinstance(body, dict) and isinstance(body.get("password"), str):
        remember_secret("password", body["password"])
    resp = request("POST", path, body=body, source=source, **kwargs)
    _remember_session(resp)
    return resp


def api(method, path, token=None, body=None, headers=None, **kwargs):
    """A request with the access token (if any) as a Bearer header."""
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    return request(method, path, body=body, headers=headers, **kwargs)


class User:
    """A registered account and its latest session."""

    def __init__(self, email, password, session):
        self.email = email
        self.password = password
        self.session = session
        self.id = session["user"]["id"]

    @property
    def token(self):
        return self.session["access_token"]

    @property
    def refresh_token(self):
        return self.session["refresh_token"]

    def headers(self):
        return bearer(self.token)


def register_user(tag="user", display_name=None, source=None):
    email = new_email(tag)
    password = new_password()
    body = {"email": email, "password": password}
    if display_name is not None:
        body["display_name"] = display_name
    resp = auth_post("/api/auth/register", body, source=source)
    assert resp.status == 201, "register %s: %r" % (email, resp)
    return User(email, password, resp.json())


def login(email, password, source=None):
    return auth_post("/api/auth/login", {"email": email, "password": password},
                     source=source)


def refresh(refresh_token, source=None):
    return auth_post("/api/auth/refresh", {"refresh_token": refresh_token},
                     source=source)


def logout(refresh_token, source=None):
    return auth_post("/api/auth/logout", {"refresh_token": refresh_token},
                     source=source)


def create_project(token, title=None, description=None):
    body = {"title": title if title is not None else
            "project %s" % uuid.uuid4().hex[:8]}
    if description is not None:
        body["description"] = description
    resp = api("POST", "/api/projects", token, body)
    assert resp.status == 201, "create project: %r" % resp
    return resp.json()


def create_item(token, project_id, text=None, **fields):
    body = {"text": text if text is not None else
            "idea %s" % uuid.uuid4().hex[:8]}
    body.update(fields)
    resp = api("POST", "/api/projects/%s/items" % project_id, token, body)
    assert resp.status == 201, "create item: %r" % resp
    return resp.json()


def expect_invalid(resp, field):
    """A 422 validation_failed naming field."""
    err = expect_error(resp, 422, "validation_failed")
    assert err.get("field") == field, \
        "expected error.field %r, got %r: %r" % (field, err.get("field"), resp)
    return err


def expect_unauthorized(resp, token_given):
    """A 401 unauthorized with its WWW-Authenticate challenge."""
    expect_error(resp, 401, "unauthorized")
    challenges = resp.header_all("WWW-Authenticate")
    assert len(challenges) == 1, "WWW-Authenticate: %r" % challenges
    want = 'Bearer realm="brainstorm"'
    if token_given:
        want += ', error="invalid_token"'
    assert challenges[0] == want, \
        "WWW-Authenticate %r, expected %r" % (challenges[0], want)


def jwt_secret():
    """The key the workers sign access tokens with."""
    return worker_env().get("JWT_SECRET") or DEV_JWT_SECRET


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_encode(header, claims, key):
    """header.claims.HMAC-SHA-256(key); key None leaves the signature empty."""
    signing_input = "%s.%s" % (
        b64url(json.dumps(header, separators=(",", ":"))),
        b64url(json.dumps(claims, separators=(",", ":"))))
    if key is None:
        return signing_input + "."
    if isinstance(key, str):
        key = key.encode()
    mac = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256)
    return signing_input + "." + b64url(mac.digest())


def jwt_claims(token):
    return json.loads(b64url_decode(token.split(".")[1]))


def brainstormctl(*args, stdin=None):
    """Run brainstormctl with the workers' environment; the finished process
    (stdout and stderr as text)."""
    root = os.path.dirname(env("BS_WORKER_BIN"))
    wenv = worker_env()
    migrations = wenv.get("MIGRATIONS_DIR") or os.path.join(root, "migrations")
    return subprocess.run(
        [os.path.join(root, "brainstormctl"), "--config", "/dev/null",
         "--migrations", migrations] + list(args),
        input=stdin if stdin is not None else "", env=wenv, cwd=root,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=120, check=False)


def psql(sql, **variables):
    """Rows (lists of strings) of sql on BS_DATABASE_URL. :'name' in sql is
    variables[name], quoted by psql."""
    command = ["psql", env("BS_DATABASE_URL"), "-X", "-q", "-A", "-t",
               "-F", "\t", "-v", "ON_ERROR_STOP=1"]
    for name, value in variables.items():
        command += ["-v", "%s=%s" % (name, value)]
    done = subprocess.run(command, input=sql, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60,
                          check=False)
    if done.returncode != 0:
        raise AssertionError("psql failed (%d): %s" % (done.returncode,
                                                       done.stderr))
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def memberships_out_of_step():
    """Memberships whose copy of their project's created_at (migration
    0017, the project list's order) differs from the project's own."""
    return psql("SELECT m.project_id, m.user_id FROM project_members m"
                " JOIN projects p ON p.id = m.project_id"
                " WHERE m.project_created_at IS DISTINCT FROM p.created_at")


class NginxCopy:
    """A second nginx from the stack's own rendered config, in a directory
    of its own on a free port: its upstream sockets are `sock(1)`,
    `sock(2)`, which nothing serves unless the test binds them."""

    def __init__(self):
        import re
        self.run_dir = env("BS_RUN_DIR")
        self.prefix = tempfile.mkdtemp(prefix="brainstorm-nginx-copy.")
        os.chmod(self.prefix, 0o755)
        os.mkdir(os.path.join(self.prefix, "logs"))
        os.mkdir(os.path.join(self.prefix, "tmp"))
        self.port = free_port()
        self.proc = None
        with open(os.path.join(self.run_dir, "nginx.conf"),
                  encoding="utf-8") as f:
            conf = f.read().replace(self.run_dir, self.prefix)
        conf, n = re.subn(r"listen 127\.0\.0\.1:\d+",
                          "listen 127.0.0.1:%d" % self.port, conf)
        assert n == 1, "no listen line in nginx.conf"
        self.conf_path = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write(conf)

    def sock(self, i):
        return os.path.join(self.prefix, "fcgi-%d.sock" % i)

    def __enter__(self):
        with open(os.path.join(self.prefix, "logs", "nginx.out"), "wb") as out:
            self.proc = subprocess.Popen(
                [env("BS_NGINX"), "-c", self.conf_path, "-p", self.prefix,
                 "-e", os.path.join(self.prefix, "logs", "error.log"),
                 "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out)

        def up():
            if self.proc.poll() is not None:
                return True
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return True
            except OSError:
                return False
        wait_until("the second nginx to listen", up, timeout=15)
        assert self.proc.poll() is None, \
            "nginx exited with %r" % self.proc.returncode
        return self

    def errors(self):
        try:
            with open(os.path.join(self.prefix, "logs", "error.log"),
                      encoding="utf-8", errors="replace") as f:
                return "".join(ln for ln in f if "[info]" not in ln)
        except FileNotFoundError:
            return ""

    def __exit__(self, *exc):
        import shutil
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.prefix, ignore_errors=True)


class Worker:
    """One more worker process with its own environment: on a free TCP port,
    or a turn engine alone (engine_only: brainstorm-fcgi --engine-only),
    with its health, readiness and metrics on a free TCP port (ops)."""

    def __init__(self, name, extra, engine_only=False, ops=False,
                 nofile=None):
        import fcgi_client      # noqa: F401 - checked here, used below
        self.name = name
        self.port = free_port()
        self.log_path = os.path.join(env("BS_RUN_DIR"), "worker-%s.log" % name)
        wenv = worker_env()
        wenv.update(extra)
        args = [env("BS_WORKER_BIN")]
        args += ["--engine-only"] if engine_only else []
        if not engine_only or ops:
            args += ["--listen", "127.0.0.1:%d" % self.port]
        def limit():
            if nofile is not None:      # the open-files limit, soft and hard
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, env=wenv,
                                         stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         preexec_fn=limit)
        if not engine_only or ops:
            wait_until("worker %s to listen" % name, self._ready, timeout=20)
            assert self.proc.poll() is None, "worker %s exited (see %s)" % (
                name, self.log_path)

    def _ready(self):
        import fcgi_client
        if self.proc.poll() is not None:
            return True
        try:
            status, _, _ = fcgi_client.request(("127.0.0.1", self.port), "GET",
                                               "/api/health", timeout=2)
            return status == 200
        except OSError:
            return False

    def call(self, method, path, body=None, token=None):
        """(status, JSON body or None), straight to this worker."""
        import fcgi_client
        headers = {}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        data = b""
        if body is not None:
            if isinstance(body, dict) and "password" in body:
                remember_secret("password", body["password"])
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        status, _, out = fcgi_client.request(
            ("127.0.0.1", self.port), method, path, body=data,
            headers=headers, timeout=120)
        doc = json.loads(out) if out else None
        if isinstance(doc, dict):
            remember_secret("access_token", doc.get("access_token"))
            remember_secret("refresh_token", doc.get("refresh_token"))
        return status, doc

    def post(self, path, body, token):
        return self.call("POST", path, body, token)

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=60)


def race_behind_lock(lock_sql, lock_like, waiting_like, call, n=10):
    """n calls of call(i) let go together: a transaction of the test's own
    runs lock_sql (a row lock; its text matches lock_like), the calls start
    and wait until n statements whose text matches waiting_like wait on a
    lock, then the transaction ends. The calls' statuses, in the order
    they finished."""
    statuses = []
    lock = threading.Lock()
    holder = subprocess.Popen(
        ["psql", env("BS_DATABASE_URL"), "-X", "-q", "-v", "ON_ERROR_STOP=1"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)

    def run(i):
        status = call(i).status
        with lock:
            statuses.append(status)

    def waiting():
        rows = psql("SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE :'q'",
                    q=waiting_like)
        return int(rows[0][0]) >= n
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    try:
        holder.stdin.write("BEGIN;\n%s;\n" % lock_sql)
        holder.stdin.flush()
        wait_until("the test's transaction to hold its lock",
                   lambda: psql("SELECT count(*) FROM pg_stat_activity"
                                " WHERE state = 'idle in transaction'"
                                " AND query LIKE :'q'",
                                q=lock_like)[0][0] != "0", timeout=60)
        for t in threads:
            t.start()
        wait_until("%d calls waiting" % n, waiting, timeout=60)
    finally:
        holder.stdin.write("COMMIT;\n")
        holder.stdin.close()
        holder.wait(60)
        for t in threads:
            t.join(120)
    return statuses
