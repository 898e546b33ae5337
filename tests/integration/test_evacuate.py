"""Mitigation by cause: a host turned red with error events has its VMs moved within its cluster, a datastore with a
red alarm has its VMs' files moved to another datastore; none is failed over."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ATTR_DATASTORE_AT_RISK, ATTR_LEVEL, ATTR_QUARANTINED)
from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, history, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import placement

from rig.inventory import plain
from rig.play import run_playbook
from rig.simulator import Simulator

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


def stores_of(sim):
    """DC0's VMs -> the moids of the datastores their files are on, and each datastore DC0's hosts see: moid ->
    (name, its at-risk mark)."""
    with vsphere.VSphere(**{k: v for k, v in sim.connection().items() if k != "protocol"}) as vs:
        rows = [v for v in vs.virtual_machines() if v["datacenter"] == "DC0"]
        vms = {v["name"]: [d["moid"] for d in v["datastores"]] for v in rows}
        hosts = {v["host"] for v in rows}
        seen = {d._moId for h in vs.retrieve("HostSystem", ["name", "datastore"]) if h["name"] in hosts  # pylint: disable=protected-access
                for d in h["datastore"]}
        fields = vs.field_names()
        stores = {d["moid"]: (d["name"], placement.marked_at_risk(vs, d["_ref"], fields, ATTR_DATASTORE_AT_RISK))
                  for d in vs.retrieve("Datastore", ["name"]) if d["moid"] in seen}
    return vms, stores


def test_a_datastore_with_a_red_alarm_has_its_vms_files_moved_and_nothing_fails_over(tmp_path):
    """Issue 32: the cause on a datastore. Two datastores in each datacenter (each named LocalDS_0 and LocalDS_1 in
    both): a red alarm on DC0's LocalDS_0 sends its VMs to datastore_at_risk; evacuate.yml moves their files to DC0's
    LocalDS_1 (check mode first: nothing moves), marks the datastore, records each move, a second run changes
    nothing. A name two datacenters share is refused with one line, nothing moved."""
    sim = Simulator(workdir=str(tmp_path / "sim"), datastores=2)
    os.makedirs(sim.workdir)
    sim.start()
    try:
        for i, vm in enumerate(v["name"] for v in sim.vms()):
            sim.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
        before, stores = stores_of(sim)
        sick = sorted(m for m in stores if stores[m][0] == "LocalDS_0")
        assert len(sick) == 1, (before, stores)
        sick = sick[0]
        other = [m for m in stores if stores[m][0] == "LocalDS_1"]
        on_it = sorted(n for n, ms in before.items() if sick in ms)
        assert on_it and len(other) == 1, before
        sim.set_alarm(sick, "Datastore usage on disk", "red")

        inv = inventory(sim)
        assert sorted(inv.get("datastore_at_risk", {}).get("hosts", [])) == on_it
        assert not set(on_it) & set(inv.get("failover_now", {}).get("hosts", []))
        hv = inv["_meta"]["hostvars"][on_it[0]]
        assert hv["datastores_at_risk"] == [{"name": "LocalDS_0", "moid": sick, "why": hv["datastore_at_risk_why"]}]

        store = tmp_path / "history.sqlite"
        stats, tasks = run_playbook(sim, "evacuate", DEMO, "--check", "-e", "mirroring_history_path=%s" % store,
                                    workdir=str(tmp_path))
        would = tasks["Move the files and disks of every VM off the datastores at risk"]["moved"]
        assert sorted(m["vm"] for m in would) == on_it and {m["to"] for m in would} == {"LocalDS_1"}
        assert stores_of(sim) == (before, stores)  # check mode: nothing moved, nothing marked

        stats, tasks = run_playbook(sim, "evacuate", DEMO, "-e", "mirroring_history_path=%s" % store,
                                    workdir=str(tmp_path))
        assert stats["failures"] == 0 and stats["changed"] >= 1
        after, marks = stores_of(sim)
        assert all(after[n] == other for n in on_it), after  # every file on DC0's other datastore
        assert {n: v for n, v in after.items() if n not in on_it} == {n: v for n, v in before.items() if n not in on_it}
        assert "vCenter alarm 'Datastore usage on disk' is red on it" in marks[sick][1]
        assert all(not mark for m, (_name, mark) in marks.items() if m != sick)
        with history.History(str(store)) as h:
            rows = h.actions(action="relocate_storage")
        assert sorted((r["vm"], r["status"]) for r in rows) == [(n, "done") for n in on_it]
        assert all(r["detail"] == {"from": "LocalDS_0", "to": "LocalDS_1"} for r in rows)

        inv = inventory(sim)  # the alarm is still red, but no VM is on the datastore any more
        assert inv.get("datastore_at_risk", {}).get("hosts", []) == []
        stats, _tasks = run_playbook(sim, "evacuate", DEMO, "-e", "mirroring_history_path=%s" % store,
                                     workdir=str(tmp_path))
        assert stats["changed"] == 0 and stats["failures"] == 0

        # a name both datacenters carry is refused before anything moves
        play = tmp_path / "ambiguous.yml"
        play.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        "    - predictive.mirroring.datastore_evacuate:\n        datastores: [LocalDS_1]\n"
                        "        history_path: %s\n" % store)
        env = dict(os.environ, **sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(play), "-i", "localhost,", "-c", "local",
                               "-e", "ansible_python_interpreter=" + sys.executable], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode != 0 and "2 datastores are named 'LocalDS_1'" in proc.stdout, proc.stdout[-2000:]
        assert stores_of(sim)[0] == after
    finally:
        sim.stop()
