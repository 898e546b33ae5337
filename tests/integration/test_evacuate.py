"""Mitigation by cause: a host turned red with error events has its VMs moved within its cluster, none failed over."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_LEVEL, ATTR_QUARANTINED
from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, history, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import placement

from rig.inventory import plain
from rig.play import run_playbook

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
DEMO = "inventories/demo/demo.vsphere_fps.yml"


def where(sim):
    """VM name -> (ESXi host, cluster, attributes) for the primary datacenter, and host name -> its mark."""
    with vsphere.VSphere(**{k: v for k, v in sim.connection().items() if k != "protocol"}) as vs:
        vms = {v["name"]: (v["host"], v["cluster"], v["attributes"]) for v in vs.virtual_machines() if v["datacenter"] == "DC0"}
        fields = vs.field_names()
        marks = {}
        from pyVmomi import vim  # pylint: disable=import-outside-toplevel
        for h in vs.retrieve(vim.HostSystem, ["name"]):
            marks[h["name"]] = placement.marked_at_risk(vs, h["_ref"], fields)
    return vms, marks


def inventory(sim):
    env = dict(os.environ, **sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    out = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", DEMO, "--list"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True, timeout=300).stdout
    return plain(json.loads(out))


def test_a_red_host_with_errors_is_emptied_within_its_cluster_and_nothing_fails_over(simulator, tmp_path):
    for i, vm in enumerate(v["name"] for v in simulator.vms()):
        simulator.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    before, _marks = where(simulator)
    counts = {}
    for host, _cluster, _attrs in before.values():
        counts[host] = counts.get(host, 0) + 1
    sick_host = max(counts, key=lambda h: (counts[h], h))  # the host with the most VMs
    on_it = sorted(n for n, (h, _c, _a) in before.items() if h == sick_host)
    elsewhere = {n: v for n, v in before.items() if v[0] != sick_host}
    simulator.set_host(sick_host, overall_status="red")
    for _i in range(3):
        simulator.post_event(sick_host, "GeneralHostErrorEvent", "ECC memory errors on DIMM 3")

    inv = inventory(simulator)
    at_risk = sorted(inv.get("host_at_risk", {}).get("hosts", []))
    assert at_risk == on_it
    assert not set(at_risk) & set(inv.get("failover_now", {}).get("hosts", []))
    hv = inv["_meta"]["hostvars"][on_it[0]]
    assert "its health is red" in hv["host_at_risk_why"] and "raised 3 error events" in hv["host_at_risk_why"]

    store = tmp_path / "history.sqlite"
    stats, tasks = run_playbook(simulator, "evacuate", DEMO, "-e", "mirroring_history_path=%s" % store, workdir=str(tmp_path))
    assert stats["failures"] == 0 and stats["changed"] >= 1
    moved = tasks["Move every VM off the hosts at risk, within their cluster"]["moved"]
    assert sorted(m["vm"] for m in moved) == on_it

    after, marks = where(simulator)
    cluster = before[on_it[0]][1]
    for name in on_it:  # off the sick host, still in the same cluster, not quarantined, no mirror made
        host, vm_cluster, attrs = after[name]
        assert host != sick_host and vm_cluster == cluster
        assert not attrs.get(ATTR_QUARANTINED) and not attrs.get(ATTR_LEVEL)
    assert {n: after[n][0] for n in elsewhere} == {n: v[0] for n, v in elsewhere.items()}  # the others did not move
    assert not any(n.endswith("-mirror") for n in after)
    assert "its health is red" in marks[sick_host] and all(not m for h, m in marks.items() if h != sick_host)
    with history.History(str(store)) as h:
        rows = h.actions(action="relocate")
    assert sorted((r["vm"], r["status"]) for r in rows) == [(n, "done") for n in on_it]
    assert all(r["detail"]["from"] == sick_host for r in rows)

    # a second run finds nothing on the host: no change
    stats, _tasks = run_playbook(simulator, "evacuate", DEMO, "-e", "mirroring_history_path=%s" % store,
                                 workdir=str(tmp_path))
    assert stats["changed"] == 0 and stats["failures"] == 0
