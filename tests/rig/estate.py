"""The estate of the safety tests: the story the simulator tells, what vCenter shows, and playbooks run as processes."""
from __future__ import annotations

import contextlib
import os
import subprocess

from pyVmomi import vim

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_LEVEL, ATTR_PRIMARY
from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, mirror, vsphere
from rig.play import BIN, ROOT
from rig.simulator import Simulator

DEMO = "inventories/demo/demo.vsphere_fps.yml"
SICK = "DC0_C0_RP0_VM1"


def conn(sim):
    return {k: v for k, v in sim.connection().items() if k != "protocol"}


def observe(sim):
    """Every VM as vCenter reports it, with its snapshots (a list: names are not unique here)."""
    with vsphere.VSphere(**conn(sim)) as vs:
        trees = {row["moid"]: row.get("snapshot") for row in vs.retrieve(vim.VirtualMachine, ["snapshot"])}
        out = []
        for vm in vs.virtual_machines():
            tree = trees.get(vm["moid"])
            snaps = [s.name for s in tree.rootSnapshotList] if tree else []
            out.append({k: vm[k] for k in ("name", "moid", "instance_uuid", "datacenter", "power_state", "attributes",
                                           "num_cpu", "memory_mb")} | {"snapshots": snaps,
                                                                       "marker": mirror.marker_of(vm["_ref"])})
        return sorted(out, key=lambda v: v["moid"])


def mirrors_of(seen, uuid):
    return [v for v in seen if v["attributes"].get(ATTR_PRIMARY) == uuid or v["marker"] == uuid]


@contextlib.contextmanager
def healthy_estate(workdir, **layout):
    """A simulator in `workdir` (Simulator's layout arguments: hosts, vms, ...) with every VM healthy, each with a week
    of its own history; stopped when the block ends."""
    sim = Simulator(workdir=workdir, **layout)
    os.makedirs(sim.workdir)
    sim.start()
    try:
        for i, vm in enumerate(v["name"] for v in sim.vms()):
            sim.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
        yield sim
    finally:
        sim.stop()


def story(sim):
    for i, vm in enumerate(v["name"] for v in sim.vms()):
        sim.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    sim.set_scenario(SICK, "degrading_disk", 0.5, seed=7)
    sim.set_perf("DC0_C0_RP0_VM2", fleet.scenario_series("memory_leak", 0.9, seed=7))
    return sim


def playbook_env(sim, **extra):
    env = dict(os.environ, **sim.env())
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + os.pathsep + os.environ["PATH"])
    env.update(extra)
    return env


def start_playbook(sim, name, *extra, log):
    out = open(log, "w", encoding="utf-8")  # pylint: disable=consider-using-with
    return subprocess.Popen([os.path.join(BIN, "ansible-playbook"), "playbooks/%s.yml" % name, "-i", DEMO] + list(extra),
                            cwd=ROOT, env=playbook_env(sim), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def one_mirror_each(sim):
    seen = observe(sim)
    counts = {}
    for vm in seen:
        if vm["datacenter"] == "DC0" and vm["attributes"].get(ATTR_LEVEL) in ("partial", "full"):
            counts[vm["name"]] = len(mirrors_of(seen, vm["instance_uuid"]))
    return counts
