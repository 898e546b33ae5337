"""vm_mirror works on a bounded window of VMs at once: never more clones in flight than the window, all built,
one failure reported by name without stopping the others."""
from __future__ import annotations

import datetime
import os
import time

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_PRIMARY
from ansible_collections.predictive.mirroring.plugins.module_utils import vsphere
from ansible_collections.predictive.mirroring.plugins.modules import vm_mirror

from common.utils import run_module
from rig.simulator import Simulator

CLONE_MS = 1500


def most_in_flight(calls):
    edges = []
    for c in calls:
        edges.append((datetime.datetime.fromisoformat(c["start"].replace("Z", "+00:00")), 1))
        edges.append((datetime.datetime.fromisoformat(c["end"].replace("Z", "+00:00")), -1))
    now = most = 0
    for _t, step in sorted(edges, key=lambda e: (e[0], e[1])):  # an end before a start at the same instant
        now += step
        most = max(most, now)
    return most


def vms_per_host(vs, datacenter):
    dc = next(d for d in vs.content.rootFolder.childEntity if d.name == datacenter)
    return {h.name: len(h.vm) for c in dc.hostFolder.childEntity for h in c.host}


def test_a_window_bounds_the_clones_in_flight_and_one_failure_stops_nothing(tmp_path):
    sim = Simulator(workdir=str(tmp_path / "sim"), hosts=4, vms=8, method_delay={"CloneVM_Task": CLONE_MS})
    os.makedirs(sim.workdir)
    sim.start()
    try:
        conn = {k: v for k, v in sim.connection().items() if k != "protocol"}
        with vsphere.VSphere(**conn) as vs:
            primaries = sorted((v for v in vs.virtual_machines() if v["datacenter"] == "DC0"), key=lambda v: v["name"])
            before = vms_per_host(vs, "DC1")
        broken = primaries[3]
        sim.fail_clones_of(broken["name"], "injected: the datastore went read-only during the clone")
        vms = [{"uuid": v["instance_uuid"], "name": v["name"], "level": "partial"} for v in primaries]
        started = time.monotonic()
        result, failed = run_module(vm_mirror, dict(conn, vms=vms, secondary_datacenter="DC1", window=3, per_host=3))
        took = time.monotonic() - started
        calls = sim.clone_calls()
        assert len(calls) == len(primaries)
        assert most_in_flight(calls) <= 3
        assert most_in_flight(calls) >= 2  # the window was used, not a serial loop
        # the failure is reported by name; every other VM got its mirror
        assert failed and [f["name"] for f in result["failed_vms"]] == [broken["name"]]
        assert "injected" in result["failed_vms"][0]["msg"]
        with vsphere.VSphere(**conn) as vs:
            rows = vs.virtual_machines()
        mirrored = {r["attributes"].get(ATTR_PRIMARY) for r in rows if r["datacenter"] == "DC1"}
        assert {v["instance_uuid"] for v in primaries if v is not broken} <= mirrored
        assert broken["instance_uuid"] not in mirrored
        # each mirror went to the secondary host with the fewest VMs, counted once and then as they were placed (the
        # simulator leaves a clone out of its host's list of VMs: the mirrors' own hosts are counted here)
        with vsphere.VSphere(**conn) as vs:
            placed = [r["_ref"].runtime.host.name for r in vs.virtual_machines() if r["datacenter"] == "DC1"
                      and r["attributes"].get(ATTR_PRIMARY)]
        after = {h: n + placed.count(h) for h, n in before.items()}
        assert len(placed) == len(primaries) - 1 and set(placed) <= set(before)
        assert max(after.values()) - min(after.values()) <= 1, (before, after)
        # 8 clones of 1.5 s, 3 at a time: about 3 rounds, far from the 12 s of one at a time
        assert took < len(primaries) * CLONE_MS / 1000.0, took
        sim.fail_clones_of(broken["name"], clear=True)
        result, failed = run_module(vm_mirror, dict(conn, vms=vms, secondary_datacenter="DC1", window=3))
        assert not failed and [v["name"] for v in result["vms"] if v["changed"]] == [broken["name"]]
    finally:
        sim.stop()
