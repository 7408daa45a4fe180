"""Fault drills against the real stack (#12): PostgreSQL restarted, Redis
stopped and frozen, a worker SIGKILLed, the Claude API overloaded, each
under the load of a few concurrent clients. Every drill prints one line of
what it did and what it counted ("drill postgres: ..."), and asserts on
counts and states only: the waits are for counts of requests, with
generous timeouts, never for a time.

The stack is left as it was found: PostgreSQL and Redis run again (SIGCONT
however the Redis drill ends), the double's faults and pace are reset. The
worker drill kills a worker of a small stack of its own, from the same
binary, environment and nginx template (script/lib.sh's bs_nginx_render),
in front of the same PostgreSQL, Redis and double: nginx and two workers,
stopped when the drill ends. So the workers behind BS_BASE_URL, whose PIDs
script/test stops and bench/soak watches, are never replaced.
"""

import collections
import ctypes
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid

from helpers import base_address, create_project, env, fresh_source, \
    free_port, new_email, new_password, nginx_render, psql, register_user, \
    remember_secret, request, shell, wait_until, worker_env
from test_turns import double

WAIT = 120          # seconds: a generous bound on every wait below
LEASE = 5           # seconds: the drill workers' TURN_LEASE
PAUSE = 0.05        # seconds between one client's steps: a light load


# ---- the load: a few client threads, every request recorded ---------------

class Record:
    __slots__ = ("started", "ended", "route", "status", "retry_after",
                 "json_error", "note")

    def __init__(self, started, route):
        self.started = started
        self.ended = None
        self.route = route
        self.status = 0         # 0: no HTTP answer (a connection error)
        self.retry_after = None
        self.json_error = False
        self.note = ""


def _is_json_error(resp):
    ctype = resp.header("Content-Type") or ""
    if not ctype.startswith("application/json"):
        return False
    try:
        doc = json.loads(resp.body)
    except ValueError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get("error"), dict) and \
        bool(doc["error"].get("code"))


class Load:
    """Client threads that repeat a step until stopped; every request they
    make through call() is recorded with its start and end."""

    def __init__(self, port=None):
        self.port = port
        self.lock = threading.Lock()
        self.records = []
        self.in_flight = collections.Counter()
        self.crashes = []
        self.stopping = threading.Event()
        self.threads = []

    def call(self, method, path, route, token=None, body=None, headers=None,
             source=None):
        """(record, response or None)."""
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        rec = Record(time.monotonic(), "%s %s" % (method, route))
        with self.lock:
            self.in_flight[rec.route] += 1
        resp = None
        try:
            resp = request(method, path, body=body, headers=headers,
                           source=source, timeout=WAIT, port=self.port)
            rec.status = resp.status
            rec.retry_after = resp.header("Retry-After")
            rec.json_error = resp.status >= 400 and _is_json_error(resp)
        except (OSError, http.client.HTTPException) as e:
            rec.note = repr(e)
        finally:
            rec.ended = time.monotonic()
            with self.lock:
                self.in_flight[rec.route] -= 1
                self.records.append(rec)
        return rec, resp

    def start(self, step, *args):
        def loop():
            try:
                while not self.stopping.is_set():
                    step(*args)
                    self.stopping.wait(PAUSE)
            except Exception as e:      # noqa: BLE001 - reported by stop()
                with self.lock:
                    self.crashes.append(repr(e))
        t = threading.Thread(target=loop, daemon=True)
        t.start()
        self.threads.append(t)

    def count(self, predicate=lambda r: True):
        with self.lock:
            return sum(1 for r in self.records if predicate(r))

    def wait_for(self, what, n, predicate=lambda r: True):
        """Until n recorded requests satisfy predicate."""
        wait_until("%d requests %s" % (n, what),
                   lambda: self.count(predicate) >= n, timeout=WAIT)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(WAIT)
        assert not any(t.is_alive() for t in self.threads), \
            "a client did not stop"
        assert not self.crashes, "clients crashed: %s" % self.crashes[:3]
        return list(self.records)


def phase(rec, begin, end):
    """Where a request falls around a fault from begin to end: "before" it
    (ended before it began), "after" it (started once it was over), or
    "during" (overlapping it in any way)."""
    if rec.ended < begin:
        return "before"
    if rec.started >= end:
        return "after"
    return "during"


def tally(records):
    """"201 x12, 503 x3" (0 is a connection error)."""
    counts = collections.Counter(r.status for r in records)
    return ", ".join("%s x%d" % (s or "no answer", n)
                     for s, n in sorted(counts.items()))


def failures(records, allowed=(429,)):
    """Requests that neither succeeded nor were refused as allowed."""
    return [r for r in records
            if not (200 <= r.status < 300 or r.status in allowed)]


def describe(records, limit=5):
    return ["%s -> %s %s" % (r.route, r.status or "no answer", r.note)
            for r in records[:limit]]


class BoardClient:
    """A person on a board of their own: creates items, reads the board and
    the project list. Remembers which creations were accepted."""

    def __init__(self, load):
        self.load = load
        self.user = register_user("drill")
        self.project = create_project(self.user.token)["id"]
        self.accepted = {}      # item id -> text
        self.refused = []       # texts of creations not answered 201

    def step(self):
        text = "drill item %s" % uuid.uuid4().hex
        _rec, resp = self.load.call(
            "POST", "/api/projects/%s/items" % self.project,
            "/api/projects/{id}/items", self.user.token, {"text": text})
        if resp is not None and resp.status == 201:
            self.accepted[resp.json()["id"]] = text
        else:
            self.refused.append(text)
        self.load.call("GET", "/api/projects/%s/items" % self.project,
                       "/api/projects/{id}/items", self.user.token)
        self.load.call("GET", "/api/projects", "/api/projects",
                       self.user.token)


class TurnClient:
    """A person talking to the model: one message (one turn) per step, then
    the turn read until it ended, as the web app does without a stream."""

    def __init__(self, load, pause=0.0):
        self.load = load
        self.source = fresh_source()    # nginx limits message posts per address
        self.user = register_user("drillturn", source=self.source)
        self.project = create_project(self.user.token)["id"]
        self.pause = pause
        self.turns = []                 # (status, ended turn or None)

    def step(self):
        _rec, resp = self.load.call(
            "POST", "/api/projects/%s/messages" % self.project,
            "/api/projects/{id}/messages", self.user.token,
            {"content": "We could try a tool library %s. Maybe later."
             % uuid.uuid4().hex[:8]}, source=self.source)
        status = resp.status if resp else 0
        turn = None
        if status == 202:
            turn_id = resp.json()["turn_id"]
            # To its end, even when the load stops meanwhile.
            deadline = time.monotonic() + WAIT
            while turn is None and time.monotonic() < deadline:
                _rec, r = self.load.call(
                    "GET", "/api/projects/%s/turns/%s" % (self.project, turn_id),
                    "/api/projects/{id}/turns/{turn}", self.user.token)
                if r is not None and r.status == 200 and \
                        r.json()["status"] in ("done", "failed"):
                    turn = r.json()
                else:
                    time.sleep(0.1)
        self.turns.append((status, turn))
        self.load.stopping.wait(self.pause)


class AuthClient:
    """Sessions: register, log in, refresh, ask who am I; a new account (and
    source address) every few rounds, under the per-email login limit."""

    def __init__(self, load):
        self.load = load
        self.rounds = 0
        self.email = self.password = self.source = None

    def _session(self, route, body):
        _rec, resp = self.load.call("POST", route, route, body=body,
                                    source=self.source)
        if resp is None or resp.status not in (200, 201):
            return None
        session = resp.json()
        remember_secret("access_token", session.get("access_token"))
        remember_secret("refresh_token", session.get("refresh_token"))
        return session

    def step(self):
        if self.email is None or self.rounds % 3 == 0:
            self.source = fresh_source()
            self.email, self.password = new_email("drillauth"), new_password()
            if self._session("/api/auth/register", {
                    "email": self.email, "password": self.password}) is None:
                self.email = None
                return
        self.rounds += 1
        session = self._session("/api/auth/login", {
            "email": self.email, "password": self.password})
        if session is None:
            return
        self._session("/api/auth/refresh",
                      {"refresh_token": session["refresh_token"]})
        self.load.call("GET", "/api/auth/me", "/api/auth/me",
                       session["access_token"])


class EventsClient:
    """Opens the project's live event stream (held by nchan), reads its
    first bytes, closes it, and waits a little."""

    def __init__(self, load, board):
        self.load = load
        self.board = board

    def step(self):
        route = "GET /api/projects/{id}/events"
        rec = Record(time.monotonic(), route)
        host, port = base_address()
        conn = http.client.HTTPConnection(host, self.load.port or port,
                                          timeout=10)
        try:
            conn.request("GET", "/api/projects/%s/events" % self.board.project,
                         headers={"Authorization": "Bearer " +
                                  self.board.user.token,
                                  "Accept": "text/event-stream"})
            resp = conn.getresponse()
            rec.status = resp.status
            if resp.status == 200:
                first = resp.read1(64)
                if not first.startswith(b":") or not (resp.getheader(
                        "Content-Type") or "").startswith("text/event-stream"):
                    rec.note = "stream began with %r" % first
                    rec.status = 0
            else:
                rec.retry_after = resp.getheader("Retry-After")
                resp.read()
        except (OSError, http.client.HTTPException) as e:
            rec.note = repr(e)
        finally:
            conn.close()
            rec.ended = time.monotonic()
            with self.load.lock:
                self.load.records.append(rec)
        self.load.stopping.wait(3)


def items_stored(ids):
    """Which of these item ids are in the database."""
    if not ids:
        return set()
    rows = psql("SELECT id FROM items WHERE id = ANY(:'ids'::uuid[])",
                ids="{%s}" % ",".join(ids))
    return {r[0] for r in rows}


def texts_stored(texts):
    if not texts:
        return 0
    rows = psql("SELECT count(*) FROM items WHERE text = ANY(:'texts'::text[])",
                texts="{%s}" % ",".join('"%s"' % t for t in texts))
    return int(rows[0][0])


# ---- PostgreSQL stopped and started under load -----------------------------

def test_drill_postgres_restart_under_load():
    load = Load()
    boards = [BoardClient(load) for _ in range(3)]
    for b in boards:
        load.start(b.step)
    try:
        load.wait_for("before the drill", 30)
        begin = time.monotonic()
        shell("BS_PG_STOP")
        load.wait_for("during the outage", 30,
                      lambda r: r.started >= begin and r.ended is not None)
        shell("BS_PG_START")        # returns once PostgreSQL accepts
        end = time.monotonic()
        load.wait_for("after the restart", 60, lambda r: r.started >= end)
    finally:
        records = load.stop()
        wait_until("PostgreSQL back (for the tests that follow)",
                   lambda: request("GET", "/api/ready").status == 200,
                   timeout=WAIT)

    by_phase = collections.defaultdict(list)
    for r in records:
        by_phase[phase(r, begin, end)].append(r)
    during = by_phase["during"]
    unavailable = [r for r in during if r.status == 503]
    proper = [r for r in unavailable if r.retry_after and r.json_error]
    other = [r for r in during if not (200 <= r.status < 300) and
             r.status != 503]
    accepted = {}
    refused = []
    for b in boards:
        accepted.update(b.accepted)
        refused += b.refused
    lost = set(accepted) - items_stored(list(accepted))
    stored_anyway = texts_stored(refused)
    after_bad = failures(by_phase["after"], allowed=())
    print("    drill postgres: %d requests, %d answered 503 during the outage "
          "(%d with Retry-After and a JSON error), %d answered 2xx during it, "
          "%d other errors, %d before it and %d after recovery not 2xx, "
          "%d accepted writes lost (of %d), %d refused writes stored anyway"
          % (len(records), len(unavailable), len(proper),
             sum(1 for r in during if 200 <= r.status < 300), len(other),
             len(failures(by_phase["before"], allowed=())), len(after_bad),
             len(lost), len(accepted), stored_anyway))
    assert unavailable, "no request saw the outage: %s" % tally(during)
    assert len(proper) == len(unavailable), \
        "503s without Retry-After or a JSON error body: %d of %d" % (
            len(unavailable) - len(proper), len(unavailable))
    assert not other, "other errors during the outage: %s" % describe(other)
    assert not failures(by_phase["before"], allowed=()), \
        describe(failures(by_phase["before"], allowed=()))
    assert not after_bad, "errors after recovery: %s" % describe(after_bad)
    assert not lost, "accepted items lost: %s" % sorted(lost)[:5]


# ---- Redis stopped, then frozen (SIGSTOP), under load ----------------------

def redis_pid():
    """The stack's Redis, from its pid file (script/lib.sh bs_redis_pid)."""
    path = os.path.join(env("BS_REDIS_DIR"), "redis.pid")
    with open(path, encoding="ascii") as f:
        pid = int(f.read().strip())
    with open("/proc/%d/comm" % pid, encoding="ascii") as f:
        assert f.read().strip() == "redis-server", "pid %d is not Redis" % pid
    return pid


class ReadySampler:
    """/api/ready every step: (time, HTTP status, its status member)."""

    def __init__(self, load):
        self.load = load
        self.seen = []

    def step(self):
        _rec, resp = self.load.call("GET", "/api/ready", "/api/ready")
        doc = {}
        if resp is not None:
            try:
                doc = resp.json()
            except AssertionError:
                pass
        self.seen.append((time.monotonic(), resp.status if resp else 0,
                          doc.get("status")))
        self.load.stopping.wait(0.3)

    def saw(self, status, since):
        return any(t >= since and s == status for t, _code, s in self.seen)


def test_drill_redis_stopped_and_frozen_under_load():
    load = Load()
    boards = [BoardClient(load) for _ in range(2)]
    sampler = ReadySampler(load)
    for b in boards:
        load.start(b.step)
    load.start(AuthClient(load).step)
    load.start(TurnClient(load, pause=2).step)
    load.start(EventsClient(load, boards[0]).step)
    load.start(sampler.step)
    frozen = None
    marks = {}
    try:
        load.wait_for("before the drill", 30)
        marks["stop"] = time.monotonic()
        shell("BS_REDIS_STOP")
        wait_until("/api/ready to say degraded without Redis",
                   lambda: sampler.saw("degraded", marks["stop"]),
                   timeout=WAIT)
        load.wait_for("without Redis", 40,
                      lambda r: r.started >= marks["stop"])
        shell("BS_REDIS_START")
        marks["start"] = time.monotonic()
        wait_until("/api/ready to say ready with Redis back",
                   lambda: sampler.saw("ready", marks["start"]),
                   timeout=WAIT)

        frozen = redis_pid()
        marks["freeze"] = time.monotonic()
        os.kill(frozen, signal.SIGSTOP)
        wait_until("/api/ready to say degraded with Redis frozen",
                   lambda: sampler.saw("degraded", marks["freeze"]),
                   timeout=WAIT)
        load.wait_for("with Redis frozen", 40,
                      lambda r: r.started >= marks["freeze"])
        os.kill(frozen, signal.SIGCONT)
        frozen = None
        marks["thaw"] = time.monotonic()
        wait_until("/api/ready to say ready with Redis thawed",
                   lambda: sampler.saw("ready", marks["thaw"]),
                   timeout=WAIT)
        load.wait_for("after the drill", 20,
                      lambda r: r.started >= marks["thaw"])
    finally:
        if frozen is not None:
            os.kill(frozen, signal.SIGCONT)
        records = load.stop()

    def window(begin, end):
        return [r for r in records if phase(r, begin, end) == "during"]

    stopped = window(marks["stop"], marks["start"])
    freeze = window(marks["freeze"], marks["thaw"])
    server_errors = [r for r in records if r.status >= 500 or r.status == 0]
    slowest = max((r.ended - r.started for r in freeze), default=0)
    print("    drill redis: %d requests; Redis stopped: %d requests (%s); "
          "Redis frozen: %d requests (%s, slowest %.1f s); /api/ready said "
          "degraded both times; %d answered 5xx or not at all"
          % (len(records), len(stopped), tally(stopped), len(freeze),
             tally(freeze), slowest, len(server_errors)))
    assert not server_errors, "5xx with Redis down or frozen: %s" % \
        describe(server_errors)
    unexpected = failures(records)
    assert not unexpected, "errors with Redis down or frozen: %s" % \
        describe(unexpected)


# ---- a worker SIGKILLed under load -----------------------------------------

PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child: SIGTERM when the test runner exits, however it exits,
    so a process of this drill never outlives it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class MiniStack:
    """nginx and two workers of this drill's own (see the module's doc)."""

    def __init__(self):
        self.dir = os.path.join(env("BS_RUN_DIR"), "drill-kill")
        self.port = free_port()
        self.workers = [None, None]
        self.nginx = None
        os.makedirs(self.dir, exist_ok=True)

    def sock(self, i):
        return os.path.join(self.dir, "fcgi-%d.sock" % (i + 1))

    def start_worker(self, i):
        path = self.sock(i)
        if os.path.exists(path):
            os.unlink(path)      # what a SIGKILLed worker leaves behind
        log_path = os.path.join(env("BS_RUN_DIR"),
                                "worker-drill-%d.log" % (i + 1))
        # Events to this drill's nginx; short leases, so that turns of
        # a killed worker go to another engine within the drill.
        wenv = dict(worker_env(), TURN_LEASE=str(LEASE),
                    NCHAN_URL="unix:" + os.path.join(self.dir, "nchan.sock"))
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [env("BS_WORKER_BIN"), "--listen", "unix:" + path],
                env=wenv, stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, preexec_fn=_die_with_parent)
        self.workers[i] = proc
        wait_until("drill worker %d to listen" % (i + 1),
                   lambda: proc.poll() is not None or os.path.exists(path),
                   timeout=30)
        assert proc.poll() is None, "drill worker %d exited: see %s" % (
            i + 1, log_path)

    def start(self):
        for i in range(2):
            self.start_worker(i)
        done = nginx_render(self.dir, BS_HTTP_PORT=str(self.port),
                            BS_WORKER_COUNT="2")
        assert done.returncode == 0, done.stderr
        with open(os.path.join(self.dir, "nginx.out"), "ab") as out:
            self.nginx = subprocess.Popen(
                [env("BS_NGINX"), "-c", os.path.join(self.dir, "nginx.conf"),
                 "-p", self.dir, "-e",
                 os.path.join(self.dir, "logs", "error.log"),
                 "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                preexec_fn=_die_with_parent)

        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return True
            except OSError:
                return self.nginx.poll() is not None
        wait_until("the drill's nginx", listening, timeout=30)
        assert self.nginx.poll() is None, "the drill's nginx exited"

    def access_log_offset(self):
        try:
            return os.path.getsize(os.path.join(self.dir, "logs",
                                                "access.log"))
        except FileNotFoundError:
            return 0

    def answered_by(self, i, offset):
        """Requests nginx passed to worker i after offset and it answered."""
        want = "unix:" + self.sock(i)
        n = 0
        with open(os.path.join(self.dir, "logs", "access.log"), "rb") as f:
            f.seek(offset)
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                addrs = [a.strip() for a in entry["upstream_addr"].split(",")]
                if addrs and addrs[-1] == want and 200 <= entry["status"] < 300:
                    n += 1
        return n

    def errors_tail(self, n=20):
        """The last errors and warnings of the drill's nginx."""
        try:
            with open(os.path.join(self.dir, "logs", "error.log"),
                      encoding="utf-8", errors="replace") as f:
                lines = [ln for ln in f if "[info]" not in ln]
        except FileNotFoundError:
            return "(no error log)"
        return "".join(lines[-n:])

    def stop(self):
        procs = [p for p in self.workers + [self.nginx] if p is not None]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def turn_rows(projects):
    """[turn id, status, error, assistant messages, item events, agent runs,
    engines that ran it, replies] of every turn of these projects."""
    return psql(
        "SELECT t.id, t.status, coalesce(t.error, ''), "
        "(SELECT count(*) FROM messages m WHERE m.turn_id = t.id "
        " AND m.role = 'assistant'), "
        "(SELECT count(*) FROM item_events e WHERE e.turn_id = t.id), "
        "(SELECT count(*) FROM agent_runs r WHERE r.turn_id = t.id), t.runs, "
        "(SELECT count(*) FROM messages m WHERE m.turn_id = t.id "
        " AND m.agent = 'conversation') "
        "FROM turns t WHERE t.project_id = ANY(:'projects'::uuid[])",
        projects="{%s}" % ",".join(projects))


def running(projects):
    """Turns of these projects queued or running."""
    return int(psql(
        "SELECT count(*) FROM turns WHERE status IN ('queued', 'running') "
        "AND project_id = ANY(:'projects'::uuid[])",
        projects="{%s}" % ",".join(projects))[0][0])


def test_drill_worker_killed_under_load():
    stack = MiniStack()
    pace = double("GET", "/_double/config")
    load = Load(port=stack.port)
    try:
        stack.start()
        # Turns slow enough to be caught in flight (the kill waits for it).
        double("POST", "/_double/config", {"latency_ms": 200,
                                           "token_delay_ms": 20})
        talkers = [TurnClient(load, pause=0.5) for _ in range(4)]
        boards = [BoardClient(load) for _ in range(2)]
        for c in talkers + boards:
            load.start(c.step)
        load.wait_for("before the kill", 20)
        wait_until("turns running", lambda: running(
            [t.project for t in talkers]) >= 3, timeout=WAIT)
        victim = stack.workers[0]
        killed_at = time.monotonic()
        victim.send_signal(signal.SIGKILL)
        victim.wait(60)
        dead_at = time.monotonic()      # its listening socket is closed
        load.wait_for("with one worker", 30, lambda r: r.started >= dead_at)

        stack.start_worker(0)           # a replacement on the same socket
        replaced_at = time.monotonic()
        offset = stack.access_log_offset()
        # nginx tries a failed server again after fail_timeout (10 s).
        wait_until("nginx to pass requests to the replacement",
                   lambda: stack.answered_by(0, offset) >= 3, timeout=WAIT)
        load.wait_for("after the replacement", 10,
                      lambda r: r.started >= replaced_at)
    finally:
        records = load.stop()
        double("POST", "/_double/config", {
            "latency_ms": pace["latency_ms"],
            "token_delay_ms": pace["token_delay_ms"]})
        stack.stop()

    at_kill = [r for r in records if phase(r, killed_at, dead_at) == "during"]
    kill_errors = failures(at_kill)
    later = [r for r in records if r.started >= dead_at]
    later_errors = failures(later)
    accepted = {}
    refused = []
    for b in boards:
        accepted.update(b.accepted)
        refused += b.refused
    lost = set(accepted) - items_stored(list(accepted))

    # Every client has stopped. Turns the killed worker's engine held go to
    # another engine once their leases expire (LEASE), and end there.
    projects = [t.project for t in talkers]
    wait_until("every turn to end", lambda: running(projects) == 0,
               timeout=WAIT)
    rows = turn_rows(projects)
    by_status = collections.Counter(r[1] for r in rows)
    taken_over = [r[0] for r in rows if int(r[6]) > 1]
    half = []
    for tid, status, _error, replies, events, _runs, _n, reply in rows:
        replies, events, reply = int(replies), int(events), int(reply)
        if status == "done" and reply != 1:
            half.append((tid, status, "%d replies" % reply))
        elif status == "failed" and (replies or events):
            half.append((tid, status, "%d messages, %d item events"
                         % (replies, events)))

    print("    drill worker: %d requests; SIGKILL with %d in flight: %d "
          "answered otherwise than 2xx/429 (%s); %d requests after it, %d "
          "errors; turns %s, %d of them taken over by another engine after "
          "the killed one's lease; %d half-applied or answered twice; the "
          "replacement answered %d requests through nginx; %d accepted "
          "writes lost (of %d), %d refused writes stored anyway"
          % (len(records), len(at_kill), len(kill_errors), tally(kill_errors),
             len(later), len(later_errors), dict(by_status), len(taken_over),
             len(half), stack.answered_by(0, offset), len(lost),
             len(accepted), texts_stored(refused)))
    assert not later_errors, "errors after the kill: %s\nnginx said:\n%s" % (
        describe(later_errors), stack.errors_tail())
    assert not [r for r in kill_errors if not r.route.startswith("POST ")], \
        "only POSTs (nginx never passes one it sent to another worker) may " \
        "fail at the kill: %s" % describe(kill_errors)
    assert not half, "half-applied turns: %s" % half
    assert not lost, "accepted items lost: %s" % sorted(lost)[:5]


# ---- the Claude API overloaded: a storm of 529 -----------------------------

def test_drill_claude_overloaded_storm():
    max_attempts = int(worker_env().get("CLAUDE_MAX_ATTEMPTS") or 3)
    double("POST", "/_double/reset")
    double("POST", "/_double/faults", {"faults": [
        {"kind": "overloaded", "count": 100000}]})
    load = Load()
    talkers = [TurnClient(load) for _ in range(2)]
    try:
        for t in talkers:
            load.start(t.step)
        load.wait_for("in the storm", 6,
                      lambda r: r.route.endswith("/messages"))
    finally:
        records = load.stop()
        stats = double("GET", "/_double/stats")
        double("POST", "/_double/reset")

    turns = [(status, body) for t in talkers for status, body in t.turns]
    bodies = [body for status, body in turns if body is not None]
    ended = [b for b in bodies if b["status"] in ("done", "failed")]
    failed_agents = collections.Counter(
        a["agent"] for b in bodies for a in b["agents"]
        if a["status"] == "error")
    # The longest run of attempts any call made, from the activity.
    attempts = []
    for t in talkers:
        r = request("GET", "/api/projects/%s/activity" % t.project,
                    headers=t.user.headers())
        assert r.status == 200, r
        attempts += [run["attempts"] for run in r.json()["runs"]]
    calls = sum(len(b["agents"]) for b in bodies)
    overloaded = stats["by_status"].get("529", 0)
    server_errors = [r for r in records if r.status >= 500 or r.status == 0]
    print("    drill claude 529 storm: %d turns (%s), %d ended, failed agents "
          "%s; the double answered %d requests, %d of them 529, for %d calls "
          "(at most %d attempts each: most attempts seen %d); %d API "
          "answers 5xx or none"
          % (len(turns), tally(records), len(ended), dict(failed_agents),
             stats["requests"], overloaded, calls, max_attempts,
             max(attempts, default=0), len(server_errors)))
    assert not server_errors, describe(server_errors)
    assert len(ended) == len(turns), \
        "turns that did not end: %s" % [s for s, _b in turns]
    assert failed_agents, "no agent failed in a 529 storm"
    assert attempts and max(attempts) <= max_attempts, attempts
    assert overloaded == stats["requests"] > 0, stats
    assert stats["requests"] <= calls * max_attempts, \
        "%d requests for %d calls of at most %d attempts" % (
            stats["requests"], calls, max_attempts)
