"""Fleet-wide image RPO compliance: the share of VMs whose mirror image is within its RPO, per level, in one run.

    .venv/bin/python benchmarks/rpo_compliance.py [--vms 60] [--full-share 0.34] [--seed 7]

A fresh simulator with --vms primaries in DC0; vm_mirror (the module, in-process) mirrors every one into DC1, a
third of them at full, the rest at partial. Then each mirror's image is given an age drawn from what a fleet
mirrored over weeks looks like (mirroring.synced_at between 0 and 72 hours back: what the passing of time does).
Side by side in this one run:
  clone once   the mirrors as they are (what a mirror cloned once and never synchronised again gives, the
               collection's behaviour before image refresh): the share within RPO per level
  refresh      after one reconcile-equivalent vm_mirror batch with the default image RPOs (a day at partial and full)
Prints a Markdown table (share within RPO per level, the refreshes made, the batch's wall time) and the ratio.
"""
import argparse
import datetime
import os
import random
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "unit")]

from ansible_collections.predictive.mirroring.plugins.module_utils import constants, mirror, vsphere  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.predictive.mirroring.plugins.modules import vm_mirror  # noqa: E402  pylint: disable=wrong-import-position
from common.utils import run_module  # noqa: E402  pylint: disable=wrong-import-position
from rig.simulator import Simulator  # noqa: E402  pylint: disable=wrong-import-position


def compliance(conn, levels):
    """{level: (within RPO, VMs)} from what vCenter holds: each serving mirror's mirroring.synced_at."""
    now = vsphere.now()
    with vsphere.VSphere(**conn) as vs:
        serving = mirror.mirrors_by_primary(vs.virtual_machines())
    out = {}
    for uuid, level in levels.items():
        rows = serving.get(uuid) or []
        age = mirror.image_age(rows[0], now) if rows else None
        held = age is not None and age <= constants.DEFAULT_IMAGE_RPO[level]
        within, total = out.get(level, (0, 0))
        out[level] = (within + held, total + 1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--vms", type=int, default=60)
    ap.add_argument("--full-share", type=float, default=0.34)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    sim = Simulator(workdir=tempfile.mkdtemp(prefix="pm-bench-rpo-"), hosts=4, vms=args.vms)
    os.makedirs(sim.workdir, exist_ok=True)
    sim.start()
    try:
        conn = {k: v for k, v in sim.connection().items() if k != "protocol"}
        with vsphere.VSphere(**conn) as vs:
            primaries = sorted((v for v in vs.virtual_machines() if v["datacenter"] == "DC0"), key=lambda v: v["name"])
        levels = {p["instance_uuid"]: ("full" if i < len(primaries) * args.full_share else "partial")
                  for i, p in enumerate(primaries)}
        batch = dict(conn, secondary_datacenter="DC1", window=8, per_host=4,
                     vms=[{"uuid": p["instance_uuid"], "name": p["name"], "level": levels[p["instance_uuid"]]}
                          for p in primaries])
        result, failed = run_module(vm_mirror, batch)
        assert not failed, result.get("msg")
        # weeks of mirroring, compressed: every image given an age of 0-72 h
        now = vsphere.now()
        with vsphere.VSphere(**conn) as vs:
            for uuid, rows in mirror.mirrors_by_primary(vs.virtual_machines()).items():
                then = now - datetime.timedelta(hours=rng.uniform(0, 72))
                vs.set_attribute(rows[0]["_ref"], constants.ATTR_SYNCED_AT, then.replace(microsecond=0).isoformat())
        once = compliance(conn, levels)
        started = time.monotonic()
        result, failed = run_module(vm_mirror, batch)
        took = time.monotonic() - started
        assert not failed, result.get("msg")
        refreshes = sum(v["actions"].count("refresh") for v in result["vms"])
        fresh = compliance(conn, levels)
        again, _failed = run_module(vm_mirror, batch)
        unchanged = not again["changed"]
    finally:
        sim.stop()

    def share(table, level):
        within, total = table[level]
        return within / total

    print("| image RPO held (%d VMs, simulator) | partial (RPO 24 h) | full (RPO 24 h) | fleet |" % args.vms)
    print("|---|---|---|---|")
    for label, table in (("clone once (never synchronised again)", once), ("refresh within RPO (one vm_mirror batch)", fresh)):
        within = sum(w for w, _t in table.values())
        print("| %s | %.0f %% (%d/%d) | %.0f %% (%d/%d) | %.0f %% |" % (
            label, 100 * share(table, "partial"), *table["partial"], 100 * share(table, "full"), *table["full"],
            100.0 * within / len(levels)))
    fleet_once = sum(w for w, _t in once.values()) / len(levels)
    fleet_fresh = sum(w for w, _t in fresh.values()) / len(levels)
    print()
    print("refreshes made: %d (every stale mirror, none of the fresh ones); batch wall time %.1f s (window 8); "
          "a second batch changed nothing: %s" % (refreshes, took, unchanged))
    print("ratio, fleet within RPO, refresh / clone once: %.2fx" % (fleet_fresh / fleet_once if fleet_once else float("inf")))


if __name__ == "__main__":
    main()
