"""ansible-inventory with the vsphere_fps plugin against the simulator."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
from pyVmomi import vim

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ATTR_BELOW_SINCE, ATTR_LEVEL, ATTR_SINCE)
from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, vsphere
from rig.inventory import BIN, ROOT, hosts, inventory, plain, write_config
from rig.procs import free_port
from rig.simulator import ControlError, Simulator

SICK = "DC0_C0_RP0_VM1"


def set_attributes(sim, vm_name, attrs):
    conn = {k: v for k, v in sim.connection().items() if k != "protocol"}
    with vsphere.VSphere(**conn) as vs:
        ref = next(v["_ref"] for v in vs.virtual_machines() if v["name"] == vm_name)
        for name, value in attrs.items():
            vs.set_attribute(ref, name, value)


def degrade(sim, scenario, severity, vm=SICK):
    sim.set_perf(vm, fleet.scenario_series(scenario, severity, seed=5))


@pytest.fixture
def fleet_sim(simulator):
    for i, vm in enumerate(v["name"] for v in simulator.vms()):
        simulator.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    return simulator


def test_graph_shows_level_groups(fleet_sim, tmp_path):
    env = dict(os.environ, **fleet_sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    out = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", write_config(tmp_path), "--graph"], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True, timeout=300).stdout
    for group in ("@fps_minimal", "@fps_partial", "@fps_full", "@failover_now", "@dc_DC0", "@cluster_DC0_C0"):
        assert group in out
    assert "DC1_" not in out  # filtered to DC0


def test_degrading_vm_climbs_the_tiers_to_failover_now(fleet_sim, tmp_path):
    config = write_config(tmp_path)
    inv = inventory(fleet_sim, config)
    assert SICK in hosts(inv, "fps_minimal")
    seen = []
    for severity in (0.5, 0.8, 0.95):
        degrade(fleet_sim, "memory_leak", severity)
        for event_type in fleet.scenario_events("memory_leak", severity, seed=5)["vm"][:4]:
            fleet_sim.post_event(SICK, event_type)
        inv = inventory(fleet_sim, config)
        hv = inv["_meta"]["hostvars"][SICK]
        seen.append((hv["fps"], hv["mirroring_level"], SICK in hosts(inv, "failover_now")))
    fps = [s[0] for s in seen]
    assert fps == sorted(fps) and fps[-1] >= 85, seen
    assert seen[-1][1] == "full" and seen[-1][2], seen
    assert any(step[1] in ("partial", "full") for step in seen[:-1])
    hv = inv["_meta"]["hostvars"][SICK]
    assert hv["fps_reasons"] and hv["fps_reasons"][0]["feature"].startswith("mem_")
    assert hv["vm_moid"] and hv["vm_instance_uuid"] and hv["datacenter"] == "DC0" and hv["cluster"] == "DC0_C0"
    assert "fps_features" not in hv
    # the model is named once, on the all group, which every host inherits
    env = dict(os.environ, **fleet_sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    one = json.loads(subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", config, "--host", SICK], cwd=ROOT,
                                    env=env, capture_output=True, text=True, check=True, timeout=300).stdout)
    assert plain(one)["fps_model_path"].endswith("models/default/model.joblib")
    # neighbours stay where they were
    assert all(h in hosts(inv, "fps_minimal") for h in ("DC0_C0_RP0_VM0", "DC0_C0_RP0_VM2", "DC0_C0_RP0_VM3"))


def test_hysteresis_holds_a_vm_wobbling_under_its_band(fleet_sim, tmp_path):
    degrade(fleet_sim, "degrading_disk", 0.2)
    fps = inventory(fleet_sim, write_config(tmp_path))["_meta"]["hostvars"][SICK]["fps"]
    assert fps < 80

    def bands(gap):
        # the partial band starts `gap` points above this VM's FPS
        return write_config(tmp_path, partial_above=fps + gap, full_above=fps + gap + 5, failover_threshold=99)

    hv = inventory(fleet_sim, bands(2))["_meta"]["hostvars"][SICK]
    assert hv["mirroring_level"] == "minimal"  # no current level: no hysteresis
    set_attributes(fleet_sim, SICK, {ATTR_LEVEL: "partial", ATTR_SINCE: "2026-11-26T00:00:00+00:00"})
    inv = inventory(fleet_sim, bands(2))  # within the 5-point margin: held
    hv = inv["_meta"]["hostvars"][SICK]
    assert hv["mirroring_level_current"] == "partial" and hv["mirroring_level"] == "partial"
    assert "hysteresis" in hv["mirroring_level_why"]
    assert SICK in hosts(inv, "fps_partial") and hv["mirroring_since"].startswith("2026-11-26")
    hv = inventory(fleet_sim, bands(10))["_meta"]["hostvars"][SICK]  # past the margin, dwell not served: held
    assert hv["mirroring_level"] == "partial" and hv["mirroring_below_since"]
    # below the band since long before the dwell: it steps down
    set_attributes(fleet_sim, SICK, {ATTR_BELOW_SINCE: "2026-11-26T00:00:00+00:00"})
    assert inventory(fleet_sim, bands(10))["_meta"]["hostvars"][SICK]["mirroring_level"] == "minimal"


def test_blast_radius_refuses_a_fleet_wide_spike(fleet_sim, tmp_path):
    for vm in ("DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2"):
        degrade(fleet_sim, "memory_leak", 0.95, vm=vm)
        for event_type in fleet.scenario_events("memory_leak", 0.95, seed=5)["vm"][:4]:
            fleet_sim.post_event(vm, event_type)
    inv = inventory(fleet_sim, write_config(tmp_path))
    assert hosts(inv, "failover_now") == []
    refused = hosts(inv, "failover_refused")
    assert len(refused) == 3
    assert "blast-radius" in inv["_meta"]["hostvars"][refused[0]]["failover_refused_why"]


def test_keyed_groups_and_compose(fleet_sim, tmp_path):
    config = write_config(tmp_path, keyed_groups=[{"key": "mirroring_level", "prefix": "level"}],
                          compose={"risky": "fps > 50"}, groups={"watch": "fps > 50"})
    degrade(fleet_sim, "memory_leak", 0.9)
    inv = inventory(fleet_sim, config)
    assert SICK in hosts(inv, "level_full")
    assert hosts(inv, "watch") == [SICK]
    assert inv["_meta"]["hostvars"][SICK]["risky"] is True


@pytest.mark.parametrize("env, words", [
    ({"VMWARE_PASSWORD": "wrong"}, "wrong username or password"),
    ({"VMWARE_PORT": "1"}, "Cannot reach vCenter 127.0.0.1:1"),
    ({"VMWARE_CA_PATH": ""}, "Cannot verify the certificate of vCenter"),
])
def test_bad_vcenter_fails_with_one_clear_line(fleet_sim, tmp_path, env, words):
    proc = inventory(fleet_sim, write_config(tmp_path), env=env, check=False)
    assert proc.returncode != 0
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr and "pass'" not in proc.stderr


def test_bad_option_fails_clearly(fleet_sim, tmp_path):
    proc = inventory(fleet_sim, write_config(tmp_path, samples=1), check=False)
    assert proc.returncode != 0 and "samples must be >= 3" in proc.stderr
    proc = inventory(fleet_sim, write_config(tmp_path, failover_threshold=50), check=False)
    assert proc.returncode != 0 and "failover_threshold" in proc.stderr
    proc = inventory(fleet_sim, write_config(tmp_path, vcenters=[{"hostname": "x", "token": "y"}]), check=False)
    assert proc.returncode != 0 and "unknown keys token" in proc.stderr


def test_cache_serves_the_inventory_when_vcenter_is_gone(fleet_sim, tmp_path):
    cache_dir = tmp_path / "cache"
    config = write_config(tmp_path, cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(cache_dir),
                          cache_timeout=600)
    degrade(fleet_sim, "memory_leak", 0.9)
    first = inventory(fleet_sim, config)
    assert os.listdir(cache_dir)
    fleet_sim.stop()
    second = inventory(fleet_sim, config)
    assert second["_meta"]["hostvars"][SICK]["fps"] == first["_meta"]["hostvars"][SICK]["fps"]
    assert hosts(second, "fps_full") == hosts(first, "fps_full")
    # a refresh must go to vCenter, which is gone: that fails loudly
    proc = inventory(fleet_sim, config, "--flush-cache", check=False)
    assert proc.returncode != 0 and "Cannot reach vCenter" in proc.stderr


def test_refresh_fetches_only_samples_since_the_cached_window(fleet_sim, tmp_path, monkeypatch):
    from ansible_collections.predictive.mirroring.plugins.module_utils import pipeline  # pylint: disable=import-outside-toplevel
    conn = {k: v for k, v in fleet_sim.connection().items() if k != "protocol"}
    calls = []
    real = vsphere.VSphere.query_perf

    def spy(self, refs, counters, **kw):
        calls.append(kw.get("start_time"))
        return real(self, refs, counters, **kw)

    monkeypatch.setattr(vsphere.VSphere, "query_perf", spy)
    with vsphere.VSphere(**conn) as vs:
        vms = pipeline.select_vms(vs.virtual_machines(), datacenters=["DC0"])
        perf, _events = pipeline.collect(vs, vms, samples=30)
        again, _events = pipeline.collect(vs, vms, samples=30, cache=json.loads(json.dumps(perf)))
    assert calls[0] is None and calls[1] is not None
    for moid, row in perf.items():
        assert again[moid]["mem.usage.average"] == row["mem.usage.average"]  # same window, nothing lost
        assert len(again[moid]["mem.usage.average"]) == 30
    assert isinstance(vim.VirtualMachine, type)


def test_two_vcenters_are_read_at_once_and_one_that_is_down_is_named(tmp_path):
    """Issue 15: the vCenters of one inventory are read in parallel processes - each simulator answers every
    RetrievePropertiesEx 0.7 s late (7 calls a run), so one after the other costs twice the delays; a vCenter that is
    down fails the run with its name, or is left out with a warning when the user says so."""
    sims = []
    try:
        for i, (user, password) in enumerate((("user", "pass"), ("admin", "other-secret"))):
            sims.append(Simulator(workdir=str(tmp_path / ("vc%d" % i)), username=user, password=password,
                                  method_delay={"RetrievePropertiesEx": 700}))
            os.makedirs(sims[-1].workdir)
            sims[-1].start()
        first, other = sims
        for i, vm in enumerate(v["name"] for v in first.vms()):
            first.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
        degrade(other, "memory_leak", 0.95, vm="DC0_C0_RP0_VM3")
        host2, port2 = other.hostport()
        second = {"hostname": host2, "port": port2, "username": "admin", "password": "other-secret", "ca_path": other.cert}
        down = {"hostname": "127.0.0.1", "port": free_port(), "username": "u", "password": "p"}
        labels = ["%s:%s" % first.hostport(), "%s:%s" % (host2, port2), "127.0.0.1:%d" % down["port"]]

        def timed(**options):  # baselines kept by nobody ("" keeps nothing): every run reads the same
            config = write_config(tmp_path, baseline_cache="", **options)
            started = time.monotonic()
            inv = inventory(first, config)
            return inv, time.monotonic() - started

        serial_inv, serial = timed(vcenter_workers=1, vcenters=[{}, second])
        inv, parallel = timed(vcenters=[{}, second])  # the first from VMWARE_* (top-level options)
        print("two vCenters: %.1f s one after the other, %.1f s at once" % (serial, parallel))
        assert parallel < serial - 3.0, (serial, parallel)
        hv = inv["_meta"]["hostvars"]
        assert {h["vcenter"] for h in hv.values()} == set(labels[:2])
        assert len(hv) == 8  # 4 VMs of DC0 in each; the same names in the second get the moid appended
        twin = [h for h in hv if h.startswith("DC0_C0_RP0_VM3_")]
        assert len(twin) == 1 and hv[twin[0]]["vm_name"] == "DC0_C0_RP0_VM3"
        assert hv[twin[0]]["fps"] > hv["DC0_C0_RP0_VM3"]["fps"]
        assert set(hv) == set(serial_inv["_meta"]["hostvars"])
        # the first vCenter's VMs scored alike both ways (the two simulators give their VMs the same instance UUIDs, so
        # read one after the other the second would find the first's baselines: a simulator's artefact)
        firsts = sorted(h for h, v in hv.items() if v["vcenter"] == labels[0])
        assert [hv[h]["fps"] for h in firsts] == [serial_inv["_meta"]["hostvars"][h]["fps"] for h in firsts]
        assert "other-secret" not in json.dumps(inv)

        # a vCenter that does not answer: the run fails and names it - with the others read to their end
        config = write_config(tmp_path, vcenters=[{}, second, down])
        proc = inventory(first, config, check=False)
        assert proc.returncode != 0 and "Cannot reach vCenter %s" % labels[2] in proc.stderr, proc.stderr
        assert "1 of 3 vCenters could not be read" in proc.stderr
        # a typo in the switch is refused before any vCenter is read - Ansible's own bool would take it for false
        config = write_config(tmp_path, vcenters=[{}, second, down], skip_unreachable_vcenters="ture")
        proc = inventory(first, config, check=False)
        assert proc.returncode != 0 and "skip_unreachable_vcenters must be true or false" in proc.stderr, proc.stderr
        assert "Cannot reach" not in proc.stderr
        # ... or, when the user says so, is left out with a warning that names it, and every host says it was
        config = write_config(tmp_path, vcenters=[{}, second, down], skip_unreachable_vcenters=True)
        proc = inventory(first, config, check=False)
        assert proc.returncode == 0, proc.stderr
        assert re.search(r"vCenter %s skipped \(skip_unreachable_vcenters\)" % re.escape(labels[2]), " ".join(proc.stderr.split()))
        hv = plain(json.loads(proc.stdout))["_meta"]["hostvars"]
        assert len(hv) == 8 and all(v["mirroring_vcenters_skipped"] == [labels[2]] for v in hv.values())
        # a wrong password is not a vCenter that is down: never skipped
        config = write_config(tmp_path, vcenters=[{}, dict(second, password="wrong-one")], skip_unreachable_vcenters=True)
        proc = inventory(first, config, check=False)
        assert proc.returncode != 0 and "Cannot log in to vCenter %s" % labels[1] in proc.stderr, proc.stderr
        assert "wrong-one" not in proc.stdout + proc.stderr
    finally:
        for sim in sims:
            sim.stop()


def test_a_vm_whose_disk_counter_disappears_lands_in_telemetry_gap_not_failover_now(fleet_sim, tmp_path):
    config = write_config(tmp_path)
    degrade(fleet_sim, "memory_leak", 0.95)
    for event_type in fleet.scenario_events("memory_leak", 0.95, seed=5)["vm"][:4]:
        fleet_sim.post_event(SICK, event_type)
    inv = inventory(fleet_sim, config)
    assert SICK in hosts(inv, "failover_now") and not hosts(inv, "telemetry_gap")
    assert all(inv["_meta"]["hostvars"][h]["fps_confidence"] == 1.0 for h in hosts(inv, "fps_minimal"))
    # vCenter stops returning the VM's disk latency: its FPS now leans on an imputed value
    fleet_sim.set_perf(SICK, {}, missing=["disk.maxTotalLatency.latest"])
    inv = inventory(fleet_sim, config)
    hv = inv["_meta"]["hostvars"][SICK]
    assert hosts(inv, "telemetry_gap") == [SICK]
    assert SICK not in hosts(inv, "failover_now") and SICK in hosts(inv, "failover_refused")
    assert "no samples for disk.maxTotalLatency.latest" in hv["telemetry_gap_why"]
    assert "not failed over on imputed data" in hv["failover_refused_why"]
    assert hv["fps_confidence"] < 0.9 and "disk.maxTotalLatency.latest" in hv["fps_missing"]
    # the data comes back: so does the VM
    degrade(fleet_sim, "memory_leak", 0.95)
    inv = inventory(fleet_sim, config)
    assert not hosts(inv, "telemetry_gap") and SICK in hosts(inv, "failover_now")


def test_data_providers_lag_as_the_last_run_recorded_it(fleet_sim, tmp_path):
    # issue 16: each primary's data providers, from the history store's VM states (what the metrics role writes)
    from ansible_collections.predictive.mirroring.plugins.module_utils.history import History  # pylint: disable=import-outside-toplevel
    store = str(tmp_path / "history.sqlite")
    conn = {k: v for k, v in fleet_sim.connection().items() if k != "protocol"}
    with vsphere.VSphere(**conn) as vs:
        uuid = next(v["instance_uuid"] for v in vs.virtual_machines() if v["name"] == SICK)
    vcenter = "%s:%s" % fleet_sim.hostport()
    with History(store) as h:
        h.put_vm_status([{"vcenter": vcenter, "vm_uuid": uuid, "vm": SICK, "level": "full",
                          "data": {"postgresql": {"lag_seconds": 1.5, "rpo_seconds": 60.0},
                                   "files": {"lag_seconds": 420.0, "rpo_seconds": 300.0}}}])
    hostvars = plain(inventory(fleet_sim, write_config(tmp_path, history_path=store))["_meta"]["hostvars"])
    assert hostvars[SICK]["data_lag_seconds"] == {"postgresql": 1.5, "files": 420.0}
    assert hostvars[SICK]["data_rpo_seconds"] == {"postgresql": 60.0, "files": 300.0}
    assert hostvars["DC0_C0_RP0_VM0"]["data_lag_seconds"] is None  # no data provider recorded for it


def test_a_red_vcenter_alarm_raises_a_vm_one_level_with_the_alarm_in_its_reasons(fleet_sim, tmp_path):
    """Issue 32: what vCenter itself raises. A red alarm on a VM holds it a level above its FPS band on the next run,
    named in its reasons and its level's why; a yellow one is a reason only; the FPS is the model's either way; a
    cleared alarm is gone from the next run."""
    config = write_config(tmp_path)
    before = inventory(fleet_sim, config)["_meta"]["hostvars"]
    assert before[SICK]["mirroring_level"] == "minimal" and before[SICK]["vcenter_alarms"] == []
    fleet_sim.set_alarm(SICK, "Virtual machine disk latency", "red")
    fleet_sim.set_alarm("DC0_C0_RP0_VM2", "Virtual machine memory usage", "yellow")
    inv = inventory(fleet_sim, config)
    hv = inv["_meta"]["hostvars"][SICK]
    assert hv["mirroring_level"] == "partial" and SICK in hosts(inv, "fps_partial"), hv["mirroring_level_why"]
    assert "raised to partial: vCenter alarm 'Virtual machine disk latency' is red" in hv["mirroring_level_why"]
    assert re.fullmatch(r"vCenter alarm 'Virtual machine disk latency' red on this VM since \d{4}-\d\d-\d\d \d\d:\d\d UTC",
                        hv["fps_reasons"][0]["text"])
    assert [(a["name"], a["status"], a["acknowledged"]) for a in hv["vcenter_alarms"]] == [
        ("Virtual machine disk latency", "red", False)]
    assert abs(hv["fps"] - before[SICK]["fps"]) < 1.0 and hv["fps"] <= 30  # the FPS stays the model's
    yellow = inv["_meta"]["hostvars"]["DC0_C0_RP0_VM2"]
    assert yellow["mirroring_level"] == "minimal" and yellow["fps_reasons"][0]["value"] == "yellow"
    # a VM whose FPS is in the partial band is held at full by a red alarm
    fps = hv["fps"]
    banded = write_config(tmp_path, partial_above=max(fps - 1, 0), full_above=fps + 5, failover_threshold=99)
    assert inventory(fleet_sim, banded)["_meta"]["hostvars"][SICK]["mirroring_level"] == "full"
    # cleared, as vCenter does when the condition ends: gone from the next run
    fleet_sim.set_alarm(SICK, "Virtual machine disk latency", "green")
    hv = inventory(fleet_sim, write_config(tmp_path))["_meta"]["hostvars"][SICK]  # (the same file, default bands)
    assert hv["vcenter_alarms"] == [] and hv["mirroring_level"] == "minimal"
    # the control API refuses what vCenter could not report
    with pytest.raises(ControlError, match="want red, yellow or green"):
        fleet_sim.set_alarm(SICK, "Virtual machine disk latency", "purple")


def test_red_alarms_on_a_host_or_a_datastore_put_the_cause_there_not_on_the_vms(fleet_sim, tmp_path):
    """Issue 32: the signals vSphere Proactive HA acts on. A red alarm on an ESXi host sends its VMs to host_at_risk,
    one on a datastore sends the VMs with disks on it to datastore_at_risk; neither is failed over for it, even a VM
    past the failover threshold; cleared, both are gone from the next run."""
    config = write_config(tmp_path)
    degrade(fleet_sim, "memory_leak", 0.95)
    for event_type in fleet.scenario_events("memory_leak", 0.95, seed=5)["vm"][:4]:
        fleet_sim.post_event(SICK, event_type)
    inv = inventory(fleet_sim, config)
    hv = inv["_meta"]["hostvars"][SICK]
    assert SICK in hosts(inv, "failover_now") and hv["datastores"], hv["fps"]
    store, host = hv["datastores"][0], hv["esxi_host"]
    on_store = sorted(h for h, v in inv["_meta"]["hostvars"].items() if store in v.get("datastores", []))
    # each datacenter has a datastore of that name: the simulator refuses to guess, the moid says which
    with pytest.raises(ControlError, match="2 objects are named"):
        fleet_sim.set_alarm(store, "Datastore usage on disk", "red")
    conn = {k: v for k, v in fleet_sim.connection().items() if k != "protocol"}
    with vsphere.VSphere(**conn) as vs:
        row = next(r for r in vs.retrieve("VirtualMachine", ["name", "datastore"]) if r["name"] == SICK)
        store_moid = row["datastore"][0]._moId  # pylint: disable=protected-access
    fleet_sim.set_alarm(store_moid, "Datastore usage on disk", "red")
    inv = inventory(fleet_sim, config)
    assert sorted(hosts(inv, "datastore_at_risk")) == on_store and hosts(inv, "failover_now") == []
    assert inv["_meta"]["hostvars"][SICK]["datastore_at_risk_why"] == (
        "datastore %s: vCenter alarm 'Datastore usage on disk' is red on it" % store)
    fleet_sim.set_alarm(store_moid, "Datastore usage on disk", "green")
    fleet_sim.set_alarm(host, "Host hardware fan status", "red")
    inv = inventory(fleet_sim, config)
    assert SICK in hosts(inv, "host_at_risk") and hosts(inv, "datastore_at_risk") == []
    assert "vCenter alarm 'Host hardware fan status' is red on it" in inv["_meta"]["hostvars"][SICK]["host_at_risk_why"]
    assert hosts(inv, "failover_now") == []
    fleet_sim.set_alarm(host, "Host hardware fan status", "green")
    # the host's hardware sensors (healthSystemRuntime, in the same property call): yellow is said, red moves the VMs
    fleet_sim.set_host(host, sensors=[{"name": "Power Supply 1", "health": "yellow", "type": "power"},
                                      {"name": "System Board 1 Ambient Temp", "health": "green", "type": "temperature"}])
    inv = inventory(fleet_sim, config)
    assert SICK in hosts(inv, "failover_now") and hosts(inv, "host_at_risk") == []
    assert inv["_meta"]["hostvars"][SICK]["esxi_host_sensors"] == [
        {"name": "Power Supply 1", "health": "yellow", "type": "power"}]
    with pytest.raises(ControlError, match="want green, yellow, red or unknown"):
        fleet_sim.set_host(host, sensors=[{"name": "Fan Device 2", "health": "purple"}])
    fleet_sim.set_host(host, sensors=[{"name": "Fan Device 2", "health": "red", "type": "fan"},
                                      {"name": "Power Supply 1", "health": "yellow", "type": "power"}])
    inv = inventory(fleet_sim, config)
    assert SICK in hosts(inv, "host_at_risk") and hosts(inv, "failover_now") == []
    assert inv["_meta"]["hostvars"][SICK]["host_at_risk_why"] == "host %s: its hardware sensor 'Fan Device 2' is red" % host
    fleet_sim.set_host(host, sensors=[])
    inv = inventory(fleet_sim, config)
    assert SICK in hosts(inv, "failover_now") and hosts(inv, "host_at_risk") == []
    assert inv["_meta"]["hostvars"][SICK]["esxi_host_sensors"] == []
