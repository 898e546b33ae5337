"""Start (detached) or stop HAProxy with two HTTP backends for the traffic scenario.

    lb.py start STATE_FILE   # writes {"pid", "socket", "frontend", "primary", "mirror"} once serving
    lb.py stop STATE_FILE    # stops it by its PID
The backend "app" starts with the primary server "web01" only.
"""
import json
import os
import signal
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from rig.haproxy import HAProxy  # noqa: E402  pylint: disable=wrong-import-position
from rig.web import Web  # noqa: E402  pylint: disable=wrong-import-position


def serve(state_file):
    primary, mirror = Web("web01").start(), Web("web01-mirror").start()
    ha = HAProxy({"app": [("web01", primary.address, "weight 100")]}).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    tmp = state_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"pid": os.getpid(), "socket": ha.socket, "frontend": ha.frontends["app"],
                   "primary": primary.address, "mirror": mirror.address}, f)
    os.replace(tmp, state_file)
    done.wait()
    ha.stop()
    primary.stop()
    mirror.stop()


def main():
    action, state_file = sys.argv[1], sys.argv[2]
    if action == "stop":
        with open(state_file, encoding="utf-8") as f:
            pid = json.load(f)["pid"]
        try:  # only while that PID is still this script (a PID from a stale state file may be reused)
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                ours = b"lb.py" in f.read()
        except OSError:
            ours = False
        if ours:
            os.kill(pid, signal.SIGTERM)
        os.unlink(state_file)
        return
    if os.fork() == 0:
        os.setsid()
        with open(os.devnull, "rb") as dn:
            os.dup2(dn.fileno(), 0)
        serve(state_file)
        os._exit(0)  # pylint: disable=protected-access
    deadline = time.monotonic() + 30
    while not os.path.exists(state_file):
        if time.monotonic() > deadline:
            sys.exit("lb.py: HAProxy did not come up")
        time.sleep(0.05)


if __name__ == "__main__":
    main()
