"""Issue 33: namesakes in two datacenters - a VM is (vCenter, instance UUID) end to end; names are for display.

Two VMs named web01, one in DC0 (failing disk) and one in DC2 (healthy), mirrored into DC1: reconcile plans both,
mirrors the right one by UUID, a second run changes nothing; the report and the metrics show both.
"""
from __future__ import annotations

import os

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_LEVEL, ATTR_PRIMARY
from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, history, metrics, mirror, vsphere
from rig.play import run_playbook
from rig.simulator import Simulator

NAME = "web01"


def conn(sim):
    return {k: v for k, v in sim.connection().items() if k != "protocol"}


def test_namesakes_in_two_datacenters_are_planned_and_mirrored_apart(tmp_path):
    sim = Simulator(workdir=str(tmp_path / "sim"), datacenters=3)
    os.makedirs(sim.workdir)
    sim.start()
    try:
        with vsphere.VSphere(**conn(sim)) as vs:
            rows = {vm["name"]: vm for vm in vs.virtual_machines()}
            sick, twin = rows["DC0_C0_RP0_VM1"], rows["DC2_C0_RP0_VM1"]
            for vm in (sick, twin):
                vs.wait_task(vm["_ref"].Rename_Task(newName=NAME), "rename")
        for i, vm in enumerate(sorted(rows.values(), key=lambda v: v["moid"])):
            sim.set_perf(vm["moid"], fleet.scenario_series("healthy", 0.0, seed=i))
        sim.set_scenario(sick["moid"], "degrading_disk", 0.5, seed=7)
        inventory = tmp_path / "namesakes.vsphere_fps.yml"
        inventory.write_text("plugin: predictive.mirroring.vsphere_fps\ndatacenters: [DC0, DC2]\n")
        store = str(tmp_path / "history.sqlite")
        extra = ("-e", "mirroring_secondary_datacenter=DC1", "-e", "mirroring_history_path=%s" % store,
                 "-e", "mirroring_report_dir=%s" % (tmp_path / "report"))

        stats, tasks = run_playbook(sim, "reconcile", str(inventory), *extra, workdir=str(tmp_path))
        assert stats["failures"] == 0
        plan = [p for p in tasks["Plan each VM's level (cost optimizer, exact)"]["vms"] if p["name"] == NAME]
        assert sorted(p["uuid"] for p in plan) == sorted([sick["instance_uuid"], twin["instance_uuid"]])
        level = {p["uuid"]: p["level"] for p in plan}
        assert level[sick["instance_uuid"]] in ("partial", "full") and level[twin["instance_uuid"]] == "minimal"
        with vsphere.VSphere(**conn(sim)) as vs:
            seen = vs.virtual_machines()
            mirrors = [vm for vm in seen if vm["attributes"].get(ATTR_PRIMARY)]
            assert [(m["name"], m["datacenter"], m["attributes"][ATTR_PRIMARY], mirror.marker_of(m["_ref"]))
                    for m in mirrors] == [("web01-DC0-mirror", "DC1", sick["instance_uuid"], sick["instance_uuid"])]
            attrs = {vm["instance_uuid"]: vm["attributes"] for vm in seen}
        assert attrs[sick["instance_uuid"]][ATTR_LEVEL] == level[sick["instance_uuid"]]
        assert attrs[twin["instance_uuid"]].get(ATTR_LEVEL) in (None, "", "minimal")

        stats, _tasks = run_playbook(sim, "reconcile", str(inventory), *extra, workdir=str(tmp_path))
        assert stats["changed"] == 0 and stats["failures"] == 0

        # the metrics keep the two apart, each with its datacenter
        with history.History(store) as h:
            text = metrics.render(metrics.families(h)).decode()
        fps_lines = [ln for ln in text.splitlines() if ln.startswith("predictive_mirroring_fps{") and 'vm="web01"' in ln]
        assert len(fps_lines) == 2, fps_lines
        assert any('datacenter="DC0"' in ln and sick["instance_uuid"] in ln for ln in fps_lines)
        assert any('datacenter="DC2"' in ln and twin["instance_uuid"] in ln for ln in fps_lines)

        # and so does the report, side by side with their datacenters
        run_playbook(sim, "report", str(inventory), *extra, workdir=str(tmp_path))
        page = (tmp_path / "report" / "index.html").read_text()
        assert "<td>web01</td><td>DC0</td>" in page and "<td>web01</td><td>DC2</td>" in page
    finally:
        sim.stop()
