"""The prediction engine against the simulator: scores, reasons, harvested history."""
from __future__ import annotations

import datetime

import pytest

from ansible_collections.predictive.mirroring.plugins.modules import fps_history, fps_info
from ansible_collections.predictive.mirroring.plugins.module_utils import analysis, fleet, history, pipeline, telemetry, vsphere

from common.utils import run_module

NEIGHBOURS = ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM2", "DC0_C0_RP0_VM3"]


def healthy_fleet(sim):
    for i, vm in enumerate(v["name"] for v in sim.vms()):
        sim.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))


def test_degrading_disk_scores_above_its_neighbours_with_disk_latency_first(simulator, default_model):
    healthy_fleet(simulator)
    # a failing disk departs from the VM's normal and logs the warnings the failure process has it log
    simulator.set_perf("DC0_C0_RP0_VM1", fleet.scenario_series("degrading_disk", 0.8, seed=3))
    for event_type in fleet.scenario_events("degrading_disk", 0.8, seed=3)["vm"]:
        simulator.post_event("DC0_C0_RP0_VM1", event_type)
    args = dict(simulator.connection(), model_path=default_model, names=["DC0_*"])
    args.pop("protocol")
    result, failed = run_module(fps_info, args)
    assert not failed, result.get("msg")
    by = {v["name"]: v for v in result["vms"]}
    assert sorted(by) == sorted(NEIGHBOURS + ["DC0_C0_RP0_VM1"])
    sick = by["DC0_C0_RP0_VM1"]
    assert sick["fps"] > max(by[n]["fps"] for n in NEIGHBOURS) + 20
    assert any(r["feature"].startswith("disk_latency") for r in sick["reasons"]), sick["reasons"]
    assert sick["level"] in ("partial", "full")
    assert all(by[n]["level"] == "minimal" for n in NEIGHBOURS)
    assert "pass" not in str(result)  # the password never comes back


def test_vm_with_no_perf_data_is_scored_and_flagged_not_dropped(simulator, default_model):
    healthy_fleet(simulator)
    simulator.fail("DC0_C0_RP0_VM3")  # powered off: no realtime samples
    args = dict(simulator.connection(), model_path=default_model, names=["DC0_C0_RP0_VM3"])
    args.pop("protocol")
    result, failed = run_module(fps_info, args)
    assert not failed
    (vm,) = result["vms"]
    assert set(telemetry.COUNTERS) <= set(vm["missing"])
    assert 0 <= vm["fps"] <= 100


@pytest.mark.parametrize("change, words", [
    ({"password": "wrong"}, "wrong username or password"),
    ({"port": 1}, "Cannot reach vCenter 127.0.0.1:1"),
    ({"ca_path": None}, "Cannot verify the certificate"),
])
def test_bad_connection_is_one_clear_message(simulator, default_model, change, words):
    args = dict(simulator.connection(), model_path=default_model)
    args.pop("protocol")
    args.update(change)
    result, failed = run_module(fps_info, args)
    assert failed and words in result["msg"]
    assert "Traceback" not in result["msg"]


def test_history_harvest_labels_windows_before_a_failure(simulator):
    healthy_fleet(simulator)
    simulator.set_perf("DC0_C0_RP0_VM1", fleet.scenario_series("memory_leak", 0.9, samples=120, seed=4))
    simulator.fail("DC0_C0_RP0_VM1")  # posts VmGuestOSCrashedEvent now
    conn = {k: v for k, v in simulator.connection().items() if k != "protocol"}
    with vsphere.VSphere(**conn) as vs:
        vms = pipeline.select_vms(vs.virtual_machines(), datacenters=["DC0"])
        # read as if 10 minutes from now, with a 12-minute horizon: windows ending in the 12 minutes
        # before the failure are positives, earlier ones negatives
        later = vsphere.now() + datetime.timedelta(minutes=10)
        rows = analysis.harvest_windows(vs, vms, hours=1, window_samples=3, interval=20, horizon_hours=0.2, now=later)
    sick = [r for r in rows if r["vm_name"] == "DC0_C0_RP0_VM1"]
    others = [r for r in rows if r["vm_name"] != "DC0_C0_RP0_VM1"]
    assert any(r["label"] == 1 for r in sick) and any(r["label"] == 0 for r in sick)
    assert all(r["failure_event"] == "VmGuestOSCrashedEvent" for r in sick if r["label"])
    assert all(0 < r["time_to_failure_h"] <= 0.2 for r in sick if r["label"])
    assert not any(r["label"] for r in others)
    assert all(len(r["features"]) == len(telemetry.FEATURE_NAMES) for r in rows)


def test_fps_history_module_stores_windows_once(simulator, tmp_path):
    healthy_fleet(simulator)
    store = str(tmp_path / "history.sqlite")
    args = dict({k: v for k, v in simulator.connection().items() if k != "protocol"}, history_path=store, hours=3, horizon_hours=0.5,
                names=["DC0_*"])
    result, failed = run_module(fps_history, args, check_mode=True)
    assert not failed and result["changed"] and result["added"] == 0
    result, failed = run_module(fps_history, args)
    assert not failed and result["changed"] and result["added"] == result["windows"] > 0
    first = result["windows"]
    result, failed = run_module(fps_history, args)
    assert not failed
    # samples sit on 5-minute boundaries: a re-run adds only windows that closed in between
    assert result["added"] <= 4 and result["changed"] == (result["added"] > 0)
    with history.History(store) as h:
        assert h.count_windows()["windows"] == first + result["added"]
