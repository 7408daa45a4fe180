#!/usr/bin/python3
"""Run the integration tests against a running stack (script/test starts
one and sets the environment described in helpers.py).

    run.py [SUBSTRING...]

Runs every function named test_* of every test_*.py module beside this
file, modules in name order (those that set RUN_LAST = True after the
others) and functions in the order they are written,
or only those whose "module.function" name contains one of the SUBSTRINGs.
Prints one line per test (and the traceback of a failure), then
"N passed, N failed", also to the file BS_TEST_OUT names when set; exits 1
if any test failed or none ran.

SIGTERM stops the run: the test under way unwinds (its finally blocks stop
the workers, servers and clients it started), and run.py exits 143.
script/test starts it in a process group of its own and signals the group,
so that what a test started goes too even if the test cannot unwind.
"""

import importlib
import inspect
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TEST_TIMEOUT = 300      # seconds; a hung test fails instead of hanging CI


class TestTimeout(Exception):
    pass


class Stopped(KeyboardInterrupt):
    """SIGTERM: not a failure of the test, the end of the run."""


def on_alarm(signum, frame):
    raise TestTimeout("test took longer than %ds" % TEST_TIMEOUT)


def on_term(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # let the test unwind
    raise Stopped()


class Output:
    """Lines to stdout and, when BS_TEST_OUT names one, to that file."""

    def __init__(self):
        path = os.environ.get("BS_TEST_OUT")
        self.file = open(path, "a", encoding="utf-8") if path else None

    def say(self, line):
        print(line, flush=True)
        if self.file is not None:
            self.file.write(line + "\n")
            self.file.flush()


def collect(patterns):
    """[(name, function or None, import error or None)]"""
    tests = []
    modules = []
    for filename in sorted(os.listdir(HERE)):
        if not (filename.startswith("test_") and filename.endswith(".py")):
            continue
        modname = filename[:-3]
        try:
            modules.append(importlib.import_module(modname))
        except Exception:       # noqa: BLE001 - reported as a failure
            tests.append((modname, None, traceback.format_exc()))
    modules.sort(key=lambda m: (bool(getattr(m, "RUN_LAST", False)),
                                m.__name__))
    for module in modules:
        modname = module.__name__
        functions = [f for name, f in inspect.getmembers(module,
                                                         inspect.isfunction)
                     if name.startswith("test_") and f.__module__ == modname]
        functions.sort(key=lambda f: f.__code__.co_firstlineno)
        for f in functions:
            tests.append(("%s.%s" % (modname, f.__name__), f, None))
    if patterns:
        tests = [t for t in tests if any(p in t[0] for p in patterns)]
    return tests


def main(argv):
    sys.dont_write_bytecode = True      # no __pycache__ in the source tree
    sys.path.insert(0, HERE)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    out = Output()
    passed = failed = 0
    for name, function, error in collect(argv[1:]):
        started = time.monotonic()
        if function is not None:
            signal.alarm(TEST_TIMEOUT)
            try:
                function()
            except Stopped:
                out.say("STOPPED %s (%.2fs): SIGTERM" % (
                    name, time.monotonic() - started))
                return 143
            except BaseException as e:  # noqa: BLE001 - any failure counts
                if isinstance(e, KeyboardInterrupt):
                    raise
                error = traceback.format_exc()
            finally:
                signal.alarm(0)
        elapsed = time.monotonic() - started
        if error is None:
            passed += 1
            out.say("PASS %s (%.2fs)" % (name, elapsed))
        else:
            failed += 1
            out.say("FAIL %s (%.2fs)" % (name, elapsed))
            for line in error.rstrip().splitlines():
                out.say("    " + line)
    if passed + failed == 0:
        print("no test matched", file=sys.stderr)
    out.say("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Stopped:
        sys.exit(143)
