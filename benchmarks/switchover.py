"""Reactive vs predictive switch-over under a steady HTTP load through HAProxy, in one run.

    .venv/bin/python benchmarks/switchover.py [--seconds 6] [--clients 8]

Two real HTTP backends (primary, mirror; 5 ms per answer) behind Debian's
HAProxy (health checks every 500 ms, down after 2 failures; server timeout 3 s).
Clients send keep-alive GETs for the whole run. A VM that dies goes silent, so
the primary "dies" by accepting requests and never answering.
  (a) reactive   the mirror is a backup server; at t=2 s the primary dies;
                 HAProxy's health checks notice and move traffic to the backup.
  (b) predictive the mirror is in the pool at weight 0 (partial level); at
                 t=2 s the Traffic Director decides (lb_pool's plan: mirror to
                 weight 100, primary drained, then maintenance); at t=3 s the
                 primary dies.
Reports failed requests and the switch time: for (a), from the failure to the
first answer from the mirror; for (b), from the decision to the moment the
primary is out of the rotation (the last request it answers).
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from ansible_collections.predictive.mirroring.plugins.module_utils.traffic import plan_pool  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.predictive.mirroring.plugins.module_utils.traffic.haproxy import HAProxy as Provider  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.predictive.mirroring.plugins.modules.lb_pool import drain_then_maint  # noqa: E402  pylint: disable=wrong-import-position
from rig.haproxy import HAProxy  # noqa: E402  pylint: disable=wrong-import-position
from rig.load import HttpLoad  # noqa: E402  pylint: disable=wrong-import-position
from rig.web import Web  # noqa: E402  pylint: disable=wrong-import-position


def scenario(kind, seconds, clients):
    primary, mirror = Web("primary", delay=0.005).start(), Web("mirror", delay=0.005).start()
    opts = "backup" if kind == "reactive" else "weight 0"
    ha = HAProxy({"app": [("primary", primary.address, "weight 100"), ("mirror", mirror.address, opts)]})
    ha.config_extra = ["    timeout server 3s"]
    ha.start()
    marks = {}
    try:
        provider = Provider(ha.socket)
        deadline = time.monotonic() + 10
        while not all(s["up"] for s in provider.servers("app").values()) and time.monotonic() < deadline:
            time.sleep(0.05)

        def fail():
            marks["failure"] = time.monotonic()
            primary.hang()

        def decide():
            marks["decision"] = time.monotonic()
            steps, _after = plan_pool(provider.servers("app"), {"mirror": {"state": "ready", "weight": 100},
                                                                "primary": {"state": "maint"}})
            drain_then_maint(provider, "app", steps, timeout=5)
            marks["switched"] = time.monotonic()

        events = [(2.0, fail)] if kind == "reactive" else [(2.0, decide), (3.0, fail)]
        log = HttpLoad(ha.frontends["app"], clients, interval=0).run(seconds, events)
    finally:
        ha.stop()
        primary.stop()
        mirror.stop()
    failed = sum(1 for r in log if r[2] is None)
    if kind == "reactive":
        first_mirror = min((r[1] for r in log if r[2] == "mirror" and r[0] >= marks["failure"]), default=None)
        switch = (first_mirror - marks["failure"]) if first_mirror else float("nan")
    else:
        last_primary = max((r[1] for r in log if r[2] == "primary"), default=marks["decision"])
        switch = max(0.0, last_primary - marks["decision"])
    return {"requests": len(log), "failed": failed, "switch_ms": 1000 * switch,
            "director_ms": 1000 * (marks.get("switched", 0.0) - marks.get("decision", 0.0))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    a = scenario("reactive", args.seconds, args.clients)
    b = scenario("predictive", args.seconds, args.clients)
    print("| %d clients, %.0f s, keep-alive GETs through HAProxy | requests | failed | switch |" % (args.clients, args.seconds))
    print("|---|---|---|---|")
    print("| (a) reactive: primary dies, health checks fail over to a backup | %d | %d | %.0f ms after the failure |"
          % (a["requests"], a["failed"], a["switch_ms"]))
    print("| (b) predictive: Traffic Director drains and switches, primary dies 1 s later | %d | %d | %.0f ms after the decision "
          "(pool change acknowledged in %.0f ms) |" % (b["requests"], b["failed"], b["switch_ms"], b["director_ms"]))


if __name__ == "__main__":
    main()
