"""SIGTERM: a worker stops accepting, finishes what is in flight, exits 0.
Talks FastCGI to a worker of its own, started on a free TCP port."""

import json
import os
import signal
import socket
import subprocess
import threading
import time

import fcgi_client
from helpers import env, free_port, wait_until, worker_env

SLEEP_MS = 1500


def _accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_sigterm_drains_in_flight_request():
    port = free_port()
    log_path = os.path.join(env("BS_RUN_DIR"), "worker-drain.log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [env("BS_WORKER_BIN"), "--listen", "127.0.0.1:%d" % port],
            env=worker_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        wait_until("the worker to listen on port %d" % port,
                   lambda: proc.poll() is not None or _accepts(port), timeout=15)
        assert proc.poll() is None, "worker exited with %r (see %s)" % (
            proc.returncode, log_path)

        sent = threading.Event()
        result = {}

        def slow_request():
            try:
                result["resp"] = fcgi_client.request(
                    ("127.0.0.1", port), "GET", "/api/debug/sleep",
                    "ms=%d" % SLEEP_MS, on_sent=sent.set, timeout=30)
            except Exception as e:  # noqa: BLE001 - reported below
                result["error"] = repr(e)

        client = threading.Thread(target=slow_request, daemon=True)
        client.start()
        assert sent.wait(10), "the request was never sent"
        # The worker reads a request as soon as it arrives; this is only a
        # margin for it to have done so (the sleep lasts 1.5 s).
        time.sleep(0.3)
        assert client.is_alive(), "the request finished before SIGTERM: %r" % result
        os.kill(proc.pid, signal.SIGTERM)

        client.join(timeout=30)
        assert not client.is_alive(), "the in-flight request never finished"
        assert "error" not in result, result["error"]
        status, _headers, body = result["resp"]
        assert status == 200, (status, body)
        assert json.loads(body) == {"slept_ms": SLEEP_MS}, body

        returncode = proc.wait(timeout=30)
        assert returncode == 0, "worker exited with %d" % returncode
        assert not _accepts(port), "port %d still accepts after exit" % port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
