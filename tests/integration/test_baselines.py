"""Each VM's normal, through ansible-inventory against the simulator (issue 14's acceptance).

The simulator serves every VM's past as vCenter's 300 s and 1800 s rollups (set through its control API, read by
the inventory through pyVmomi's QueryPerf) and its present as realtime samples.
"""
from __future__ import annotations

import json

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet
from rig.estate import healthy_estate
from rig.inventory import hosts, inventory, write_config

BUSY = {"disk": 15.0, "balloon": 1024.0}           # a SAN-backed, overcommitted estate's normal
TOP = {"disk": 18.0, "balloon": 3072.0, "ready": 4.5, "cpu": 90.0, "mem": 85.0}  # the top of the normal ranges


@pytest.fixture
def estate(tmp_path):
    """One datacenter's cluster of two hosts with four VMs each (and DC1 for the mirrors), all healthy."""
    with healthy_estate(str(tmp_path / "sim"), hosts=2, vms=8) as sim:
        yield sim


def dc0(sim):
    return [v for v in sim.vms() if v["name"].startswith("DC0_")]


def by_host(sim):
    out = {}
    for v in dc0(sim):
        out.setdefault(v["host"], []).append(v["name"])
    return out


def hv(inv, name):
    return inv["_meta"]["hostvars"][name]


def test_a_busy_vm_at_its_own_normal_stays_minimal_and_climbs_when_it_departs(estate, tmp_path):
    config = write_config(tmp_path)
    vm = dc0(estate)[0]["name"]
    # a week at 15 ms and 1 GB ballooned, and now the same
    estate.clear_perf(vm)
    estate.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=3, normal=BUSY), normal=BUSY)
    inv = inventory(estate, config)
    v = hv(inv, vm)
    assert vm in hosts(inv, "fps_minimal"), v
    assert v["fps"] <= 30 and v["fps_confidence"] == 1.0
    # the same VM now departs from its normal: its memory climbs, it balloons and swaps, it logs warnings
    estate.set_perf(vm, fleet.scenario_series("memory_leak", 0.6, seed=3, normal=BUSY))
    for event_type in fleet.scenario_events("memory_leak", 0.6, seed=3)["vm"]:
        estate.post_event(vm, event_type)
    inv = inventory(estate, config)
    v = hv(inv, vm)
    assert v["mirroring_level"] == "full", v
    assert v["fps"] > 70
    # the reasons say how far from its own normal
    assert any("this VM's normal" in r["text"] for r in v["fps_reasons"]), v["fps_reasons"]


def test_a_vm_seen_for_the_first_time_at_the_top_of_the_ranges_is_not_full_and_says_it_knows_less(estate, tmp_path):
    config = write_config(tmp_path, expose_features=True)
    vm = dc0(estate)[1]["name"]
    estate.clear_perf(vm)
    estate.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=4, normal=TOP), normal=None)  # no history at all
    inv = inventory(estate, config)
    v = hv(inv, vm)
    assert v["fps_features"]["baseline_days"] == 0.0
    assert v["mirroring_level"] != "full" and v["fps"] <= 70, v
    assert v["fps_confidence"] < 1.0 and vm not in hosts(inv, "telemetry_gap")
    others = [hv(inv, n) for n in hosts(inv, "fps_minimal") if n != vm]
    assert others and all(o["fps_confidence"] == 1.0 for o in others)


def test_a_vm_whose_disk_counter_disappears_is_a_gap_not_a_failover(estate, tmp_path):
    config = write_config(tmp_path)
    vm = dc0(estate)[2]["name"]
    estate.set_perf(vm, fleet.scenario_series("memory_leak", 0.9, seed=5))
    for event_type in fleet.scenario_events("memory_leak", 0.9, seed=5)["vm"]:
        estate.post_event(vm, event_type)
    inv = inventory(estate, config)
    assert vm in hosts(inv, "failover_now"), hv(inv, vm)
    estate.set_perf(vm, {}, missing=["disk.maxTotalLatency.latest"])
    inv = inventory(estate, config)
    assert hosts(inv, "telemetry_gap") == [vm] and vm not in hosts(inv, "failover_now")
    assert "no samples for disk.maxTotalLatency.latest" in hv(inv, vm)["telemetry_gap_why"]


def test_every_vm_of_a_host_drifting_together_is_the_hosts_problem(estate, tmp_path):
    config = write_config(tmp_path)
    placement = by_host(estate)
    host, members = max(placement.items(), key=lambda kv: len(kv[1]))
    assert len(members) >= 3, placement
    for i, vm in enumerate(members):  # CPU ready of every VM on the host climbs together
        estate.set_perf(vm, fleet.scenario_series("host_fault", 0.6, seed=20 + i))
    inv = inventory(estate, config)
    for vm in members:
        assert vm in hosts(inv, "host_at_risk"), hv(inv, vm)
        assert "drifts together" in hv(inv, vm)["host_at_risk_why"]
        assert vm not in hosts(inv, "failover_now")
    for vm in (n for h, names in placement.items() if h != host for n in names):
        assert vm not in hosts(inv, "host_at_risk")


def test_a_red_host_with_errors_and_climbing_ready_takes_its_vms_to_full_and_no_one_else(estate, tmp_path):
    config = write_config(tmp_path)
    placement = by_host(estate)
    host, members = max(placement.items(), key=lambda kv: len(kv[1]))
    before = inventory(estate, config)
    others = [n for h, names in placement.items() if h != host for n in names]
    estate.set_host(host, overall_status="red")
    for _i in range(6):
        estate.post_event(host, "GeneralHostErrorEvent", "hardware sensor: memory ECC errors")
    for i, vm in enumerate(members):
        estate.set_perf(vm, fleet.scenario_series("host_fault", 0.8, seed=30 + i))
    inv = inventory(estate, config)
    for vm in members:
        v = hv(inv, vm)
        assert v["fps"] > 70 and v["mirroring_level"] == "full", v
        assert vm in hosts(inv, "host_at_risk") and vm not in hosts(inv, "failover_now")
        assert "health is red" in v["host_at_risk_why"]
    for vm in others:
        assert hv(inv, vm)["mirroring_level"] == hv(before, vm)["mirroring_level"] == "minimal", hv(inv, vm)
        assert vm not in hosts(inv, "host_at_risk")


def test_baselines_are_cached_and_refreshed_on_schedule(estate, tmp_path):
    config = write_config(tmp_path)
    on = [v for v in dc0(estate) if v["power_state"] == "poweredOn"]
    first = inventory(estate, config, "-vvv", check=False)
    assert first.returncode == 0 and "learned %d baselines" % len(on) in first.stdout + first.stderr
    cache = json.loads(open(estate.env()["PM_BASELINE_CACHE"], encoding="utf-8").read())
    assert cache["format"] == 1 and len(cache["vms"]) == len(on)
    assert all(e["baseline"]["days"] > 6 for e in cache["vms"].values()), cache
    learned = {k: v["learned"] for k, v in cache["vms"].items()}
    second = inventory(estate, config, "-vvv", check=False)
    assert second.returncode == 0 and "learned" not in second.stdout + second.stderr  # within the hour: not re-read
    again = json.loads(open(estate.env()["PM_BASELINE_CACHE"], encoding="utf-8").read())
    assert {k: v["learned"] for k, v in again["vms"].items()} == learned
    bad = inventory(estate, write_config(tmp_path, baseline_refresh_minutes=0), check=False)
    assert bad.returncode != 0 and "baseline_refresh_minutes must be >= 1" in bad.stderr
