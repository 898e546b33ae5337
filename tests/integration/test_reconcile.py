"""playbooks/reconcile.yml end to end: inventory -> plan -> vm_mirror, idempotent, and its --check --diff plan."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, vsphere

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


@pytest.fixture
def story(simulator):
    for i, vm in enumerate(v["name"] for v in simulator.vms()):
        simulator.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    simulator.set_perf("DC0_C0_RP0_VM1", fleet.scenario_series("degrading_disk", 0.5, seed=7))
    simulator.set_perf("DC0_C0_RP0_VM2", fleet.scenario_series("memory_leak", 0.9, seed=7))
    return simulator


def playbook(sim, *extra):
    record = os.path.join(sim.workdir, "results.json")
    env = dict(os.environ, **sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), RECORD_RESULTS=record,
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "tests", "integration", "callback"),
               ANSIBLE_CALLBACKS_ENABLED="record_results", PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/reconcile.yml", "-i",
                           "inventories/demo/demo.vsphere_fps.yml"] + list(extra), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(record, encoding="utf-8") as f:
        out = json.load(f)
    tasks = {name: hosts["localhost"] for name, hosts in out["tasks"].items() if "localhost" in hosts}
    return out["stats"]["localhost"], tasks


def observe(sim):
    conn = {k: v for k, v in sim.connection().items() if k != "protocol"}
    with vsphere.VSphere(**conn) as vs:
        return {vm["name"]: vm for vm in vs.virtual_machines()}


def test_reconcile_holds_every_tier_and_a_second_run_changes_nothing(story):
    stats, tasks = playbook(story)
    assert stats["changed"] == 1 and stats["failures"] == 0
    plan = {p["name"]: p["level"] for p in tasks["Plan each VM's level (cost optimizer, exact)"]["vms"]}
    seen = observe(story)
    for name, level in plan.items():
        assert seen[name]["attributes"][vsphere.ATTR_LEVEL] == level
        mirror = seen.get(name + "-mirror")
        if level == "minimal":
            assert mirror is None
        else:
            assert mirror["datacenter"] == "DC1" and mirror["power_state"] == "poweredOn"
            assert mirror["attributes"][vsphere.ATTR_PRIMARY] == seen[name]["instance_uuid"]
    assert {"minimal", "full"} <= set(plan.values())
    stats, _tasks = playbook(story)
    assert stats["changed"] == 0 and stats["failures"] == 0


def test_check_diff_shows_exactly_the_degraded_vm(story):
    playbook(story)
    story.set_perf("DC0_C0_RP0_VM3", fleet.scenario_series("degrading_disk", 0.5, seed=7))
    before = observe(story)
    stats, tasks = playbook(story, "--check", "--diff")
    mirror_task = tasks["Hold every VM at its level in vSphere"]
    assert stats["changed"] == 1
    assert [v["name"] for v in mirror_task["vms"] if v["changed"]] == ["DC0_C0_RP0_VM3"]
    assert list(mirror_task["diff"]["after"]) == ["DC0_C0_RP0_VM3"]
    assert mirror_task["diff"]["after"]["DC0_C0_RP0_VM3"]["level"] != mirror_task["diff"]["before"]["DC0_C0_RP0_VM3"]["level"]
    assert {k: (v["attributes"], v["power_state"]) for k, v in observe(story).items()} == \
        {k: (v["attributes"], v["power_state"]) for k, v in before.items()}
