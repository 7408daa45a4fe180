#!/usr/bin/python3
"""Run the integration tests against a running stack (script/test starts
one and sets the environment described in helpers.py).

    run.py [SUBSTRING...]

Runs every function named test_* of every test_*.py module beside this
file, modules in name order (those that set RUN_LAST = True after the
others) and functions in the order they are written,
or only those whose "module.function" name contains one of the SUBSTRINGs.
Prints one line per test (and the traceback of a failure), then
"N passed, N failed"; exits 1 if any test failed or none ran.
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


def on_alarm(signum, frame):
    raise TestTimeout("test took longer than %ds" % TEST_TIMEOUT)


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
    passed = failed = 0
    for name, function, error in collect(argv[1:]):
        started = time.monotonic()
        if function is not None:
            signal.alarm(TEST_TIMEOUT)
            try:
                function()
            except BaseException as e:  # noqa: BLE001 - any failure counts
                if isinstance(e, KeyboardInterrupt):
                    raise
                error = traceback.format_exc()
            finally:
                signal.alarm(0)
        elapsed = time.monotonic() - started
        if error is None:
            passed += 1
            print("PASS %s (%.2fs)" % (name, elapsed), flush=True)
        else:
            failed += 1
            print("FAIL %s (%.2fs)" % (name, elapsed), flush=True)
            for line in error.rstrip().splitlines():
                print("    " + line)
            sys.stdout.flush()
    if passed + failed == 0:
        print("no test matched", file=sys.stderr)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
