"""Issue 32's symptom ladder, through ansible-inventory on the simulator.

Two VMs of one datacenter climb the same ladder of one failing part, from none to far past the vendor's critical line:
one with a week of its own history in vCenter's rollups, one new (no history at all), on different hosts among
healthy VMs. Each rung is one ansible-inventory run. The FPS never falls up the ladder, the last three rungs are at
least full for both; with the warning events the failing part logs, the top rung reaches the failover threshold.
"""
from __future__ import annotations

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ALARM_LINES, DEFAULT_FAILOVER_THRESHOLD
from rig.estate import healthy_estate
from rig.inventory import hosts, inventory, write_config

# scenario, the symptom's feature, severities whose last three rungs are past the critical line
LADDERS = [("degrading_disk", "disk_latency_ms_mean", [0.0, 0.3, 0.5, 0.9, 0.95, 1.0]),
           ("memory_leak", "mem_swapin_kbps_mean", [0.0, 0.3, 0.5, 0.8, 0.9, 1.0]),
           ("cpu_starved", "cpu_ready_pct_mean", [0.0, 0.1, 0.2, 0.4, 0.7, 1.0])]
# cpu_starved: one VM's vCPUs wait for a physical CPU (a limit, co-stop) while its host's other VMs do not - fleet.py
# has no such mode (its CPU ready rises with the host's contention), so the ladder lays CPU ready on a healthy series:
# up to this share of each vCPU's time at severity 1 (VMware KB 2002181: 10 % per vCPU is bad), rising over the window
CPU_READY_TOP = 0.5


def series(scenario, severity, num_cpu):
    """The VM's realtime series on a rung; the same draw of noise on every rung: only the symptom changes."""
    if scenario != "cpu_starved":
        return fleet.scenario_series(scenario, severity, seed=11)
    out = fleet.scenario_series("healthy", 0.0, seed=11)
    ready = out["cpu.ready.summation"]
    interval_ms = 20 * 1000
    out["cpu.ready.summation"] = [int(v + severity * CPU_READY_TOP * (0.92 + 0.08 * i / (len(ready) - 1))
                                      * interval_ms * num_cpu) for i, v in enumerate(ready)]
    return out


def warnings(scenario, severity):
    """The warning and error events the failing part logs on the VM while it climbs."""
    if scenario == "cpu_starved":
        return ["GeneralVmWarningEvent"] * 4
    return fleet.scenario_events(scenario, severity, seed=5)["vm"]


@pytest.fixture
def estate(tmp_path):
    """DC0: two hosts with four VMs each, every VM healthy with a week of history (DC1 holds the mirrors). Each ladder
    has its own: the events a ladder posts stay in vCenter."""
    with healthy_estate(str(tmp_path / "sim"), hosts=2, vms=8) as sim:
        yield sim


def climbers(sim):
    """One VM on each DC0 host: the first keeps its week of history, the second is new (none)."""
    first = {}
    for v in sim.vms():
        if v["name"].startswith("DC0_"):
            first.setdefault(v["host"], v["name"])
    old, new = sorted(first.values())[:2]
    return old, new


@pytest.mark.parametrize("scenario,feature,severities", LADDERS, ids=[s for s, _f, _v in LADDERS])
def test_the_fps_climbs_a_symptom_ladder_with_and_without_history(estate, tmp_path, scenario, feature, severities):
    config = write_config(tmp_path, expose_features=True, failover_threshold=DEFAULT_FAILOVER_THRESHOLD)
    old, new = climbers(estate)
    estate.clear_perf(new)  # a VM created this week: no rollups at all
    seen = {old: [], new: []}
    num_cpu = {old: 1, new: 1}  # what vCenter says, read on the first rung (severity 0: no CPU ready laid on)
    for severity in severities:
        for vm, normal in ((old, "standard"), (new, None)):
            estate.set_perf(vm, series(scenario, severity, num_cpu[vm]), normal=normal)
        inv = inventory(estate, config)
        for vm in (old, new):
            v = inv["_meta"]["hostvars"][vm]
            num_cpu[vm] = v["num_cpu"]
            seen[vm].append((v["fps_features"][feature], v["fps"], v["mirroring_level"], v["fps_reasons"]))
            days = v["fps_features"]["baseline_days"]
            assert days == 0.0 if vm == new else days > 0, (vm, days)
    for vm, rungs in seen.items():
        values = [r[0] for r in rungs]
        fps = [r[1] for r in rungs]
        print(scenario, vm, [round(x, 1) for x in values], fps)
        assert values == sorted(values) and values[-3] >= ALARM_LINES[feature][1], (vm, values)
        assert all(b >= a for a, b in zip(fps, fps[1:])), (vm, fps)  # 0 decreases up the ladder
        assert all(level == "full" for _v, _f, level, _r in rungs[-3:]), (vm, rungs[-3:])
        # the reasons say which line it is past (with history, a deviation from the VM's normal may come first)
        assert any(r["feature"] == feature and "past the critical line" in r["text"] for r in rungs[-1][3]), \
            (vm, rungs[-1][3])
    # the warning events of the failing part corroborate it: the top rung reaches the failover threshold
    for vm in (old, new):
        for event_type in warnings(scenario, severities[-1]):
            estate.post_event(vm, event_type, "%s on %s" % (scenario.replace("_", " "), vm))
    inv = inventory(estate, config)
    for vm in (old, new):
        assert inv["_meta"]["hostvars"][vm]["fps"] >= DEFAULT_FAILOVER_THRESHOLD, inv["_meta"]["hostvars"][vm]
    assert {old, new} <= set(hosts(inv, "failover_now")) | set(hosts(inv, "failover_refused")), \
        {g: hosts(inv, g) for g in ("failover_now", "failover_refused")}
