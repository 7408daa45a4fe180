"""Liveness and request ids, through nginx."""

import collections
import os
import re
import tempfile

from helpers import (Worker, env, expect_error, nginx_render, proc_stat,
                     request, worker_env, worker_pids)

NGINX_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def test_health_ok():
    resp = request("GET", "/api/health")
    assert resp.status == 200, resp
    assert (resp.header("Content-Type") or "").startswith("application/json")
    assert resp.header("Cache-Control") == "no-store", resp.header("Cache-Control")
    assert len(resp.header_all("X-Request-Id")) == 1, resp.header_all("X-Request-Id")
    doc = resp.json()
    assert doc.get("status") == "ok", doc
    assert isinstance(doc.get("version"), str) and doc["version"], doc


def test_request_id_is_nginx_s_and_echoed():
    # A client cannot choose the id: nginx passes its own $request_id, and
    # the worker's error body names the same id as the header.
    resp = request("GET", "/api/nope", headers={"X-Request-Id": "client-chosen"})
    err = expect_error(resp, 404, "not_found")
    assert err["request_id"] != "client-chosen", err
    assert NGINX_REQUEST_ID.match(err["request_id"]), err["request_id"]


def test_request_ids_differ():
    ids = {request("GET", "/api/health").header("X-Request-Id") for _ in range(5)}
    assert len(ids) == 5, ids


def _threads(pid):
    """[(thread id, name)] of process pid."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid), encoding="utf-8") as f:
            out.append((int(tid), f.read().strip()))
    return out


def test_worker_threads_are_named():
    """top -H, ps -L and perf tell a worker's threads apart by name: its
    request threads, its event sender and, with an engine, the engine's
    loop and IO threads."""
    cfg = worker_env()
    for pid in worker_pids():
        names = collections.Counter(name for _, name in _threads(pid))
        assert names["bs-request"] == int(cfg.get("WORKER_THREADS") or 8), names
        assert names["bs-events"] == 1, names
        if names["bs-engine"]:
            assert names["bs-engine"] == 1, names
            assert names["bs-engine-io"] == \
                int(cfg.get("ENGINE_IO_THREADS") or 4), names


def _thread_policies(pid):
    """{thread name: set of scheduling policies} of process pid."""
    out = collections.defaultdict(set)
    for tid, name in _threads(pid):
        out[name].add(os.sched_getscheduler(tid))
    return out


def test_request_threads_run_as_batch():
    """WORKER_SCHED_BATCH (on by default): the request threads, and only
    they, run as SCHED_BATCH; a woken request thread then does not preempt
    nginx on a busy core."""
    for pid in worker_pids():
        policies = _thread_policies(pid)
        assert policies.pop("bs-request") == {os.SCHED_BATCH}, (pid, policies)
        assert policies, pid
        for name, seen in policies.items():
            assert seen == {os.SCHED_OTHER}, (pid, name, seen)


def test_request_threads_keep_the_normal_policy_when_told():
    worker = Worker("sched-normal", {"WORKER_SCHED_BATCH": "false",
                                     "WORKER_THREADS": "2"})
    try:
        policies = _thread_policies(worker.proc.pid)
        assert policies["bs-request"] == {os.SCHED_OTHER}, policies
        assert all(seen == {os.SCHED_OTHER} for seen in policies.values()), \
            policies
        assert worker.call("GET", "/api/health")[0] == 200
    finally:
        worker.stop()
    assert "SCHED_BATCH" not in worker.log()


def _children(parent):
    """The processes whose parent is parent."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = proc_stat(int(name))
            if fields is not None and int(fields[1]) == parent:
                out.append(int(name))
    return out


def test_nginx_runs_ahead_of_the_workers():
    """nginx's one event loop carries every connection: its workers run at
    the worker_priority script/lib.sh renders, -5 when nginx starts as root
    (it sets the priority before it drops to the user), so that they do not
    wait for a core behind request threads and database backends."""
    run = env("BS_RUN_DIR")
    with open(os.path.join(run, "nginx.pid"), encoding="ascii") as f:
        master = int(f.read())
    with open(os.path.join(run, "nginx.conf"), encoding="utf-8") as f:
        want = int(re.search(r"^worker_priority (-?[0-9]+);$", f.read(),
                             re.M).group(1))
    if os.geteuid() == 0:
        assert want == -5, want
    nginx = _children(master)
    assert nginx, master
    for pid in nginx:
        assert os.getpriority(os.PRIO_PROCESS, pid) == want, (pid, want)
    for pid in worker_pids():
        assert os.getpriority(os.PRIO_PROCESS, pid) == 0, pid


def _render_nginx(priority="0", **settings):
    """script/lib.sh's bs_nginx_render with BS_NGINX_PRIORITY=priority (and
    other BS_* settings), in a directory of its own: (exit status, stderr,
    the config or None)."""
    with tempfile.TemporaryDirectory() as run:
        done = nginx_render(run, BS_NGINX_PRIORITY=priority, **settings)
        try:
            with open(os.path.join(run, "nginx.conf"), encoding="utf-8") as f:
                conf = f.read()
        except FileNotFoundError:
            conf = None
    return done.returncode, done.stderr, conf


def test_nginx_priority_is_a_nice_value():
    """BS_NGINX_PRIORITY goes into worker_priority as given; anything but a
    nice value (-20 to 19) stops the script before nginx sees it."""
    for good in ("3", "0", "-20", "19"):
        rc, err, conf = _render_nginx(good)
        assert rc == 0, (good, err)
        assert "\nworker_priority %s;\n" % good in conf, good
    for bad in ("-21", "20", "-5; user root", "05", "x"):
        rc, err, conf = _render_nginx(bad)
        assert rc != 0 and conf is None, bad
        assert "BS_NGINX_PRIORITY" in err and "nice value" in err, (bad, err)


def test_streams_per_address_is_a_count():
    """BS_STREAMS_PER_ADDRESS goes into both stream locations' limit_conn
    (64 unless set); anything but a count nginx takes stops the script."""
    for unset in ({}, {"BS_STREAMS_PER_ADDRESS": ""}):
        rc, err, conf = _render_nginx(**unset)
        assert rc == 0, err
        assert conf.count("limit_conn bs_streams 64;") == 2, conf
    for good in ("1", "500", "65535"):
        rc, err, conf = _render_nginx(BS_STREAMS_PER_ADDRESS=good)
        assert rc == 0, (good, err)
        assert conf.count("limit_conn bs_streams %s;" % good) == 2, good
    for bad in ("0", "65536", "064", "x", "64; user root"):
        rc, err, conf = _render_nginx(BS_STREAMS_PER_ADDRESS=bad)
        assert rc != 0 and conf is None, bad
        assert "BS_STREAMS_PER_ADDRESS" in err and "count" in err, (bad, err)

