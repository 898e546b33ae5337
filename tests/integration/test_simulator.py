"""The vCenter simulator and its control API, seen from pyVmomi."""
from __future__ import annotations

import os
import ssl
import subprocess

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, vsphere

from rig.procs import free_port
from rig.simulator import DEFAULT_BINARY, ControlError


@pytest.fixture
def si(simulator):
    host, port = simulator.hostport()
    conn = SmartConnect(host=host, port=port, user="user", pwd="pass",
                        sslContext=ssl.create_default_context(cafile=simulator.cert))
    yield conn
    Disconnect(conn)


def find_vm(si, name):
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return next(v for v in view.view if v.name == name)
    finally:
        view.Destroy()


def counter_key(si, name):
    for c in si.RetrieveContent().perfManager.perfCounter:
        if "%s.%s.%s" % (c.groupInfo.key, c.nameInfo.key, c.rollupType) == name:
            return c.key
    raise AssertionError(name)


def test_two_datacenters_with_vms(simulator):
    vms = simulator.vms()
    assert {v["name"].split("_")[0] for v in vms} == {"DC0", "DC1"}
    assert len(vms) == 8
    assert all(v["power_state"] == "poweredOn" for v in vms)


def test_perf_series_set_through_control_api_reads_back_through_queryperf(simulator, si):
    series = [1200, 2500, 3100, 4000, 5200, 6100]
    simulator.set_perf("DC0_C0_RP0_VM1", {"cpu.usage.average": series})
    vm = find_vm(si, "DC0_C0_RP0_VM1")
    key = counter_key(si, "cpu.usage.average")
    spec = vim.PerformanceManager.QuerySpec(entity=vm, intervalId=20, maxSample=len(series),
                                            metricId=[vim.PerformanceManager.MetricId(counterId=key, instance="")])
    result = si.RetrieveContent().perfManager.QueryPerf([spec])
    assert list(result[0].value[0].value) == series
    stamps = [s.timestamp for s in result[0].sampleInfo]
    assert stamps == sorted(stamps), "samples come oldest first, as from vCenter"
    # a neighbour without a series keeps the simulator's canned data
    other = find_vm(si, "DC0_C0_RP0_VM2")
    spec.entity = other
    assert list(si.RetrieveContent().perfManager.QueryPerf([spec])[0].value[0].value) != series


def test_posted_event_is_found_by_query_events(simulator, si):
    simulator.post_event("DC0_C0_RP0_VM2", "VmFailedToPowerOnEvent", "disk controller timeout")
    vm = find_vm(si, "DC0_C0_RP0_VM2")
    spec = vim.event.EventFilterSpec(entity=vim.event.EventFilterSpec.ByEntity(entity=vm, recursion="self"),
                                     eventTypeId=["VmFailedToPowerOnEvent"])
    events = si.RetrieveContent().eventManager.QueryEvents(spec)
    assert [e.fullFormattedMessage for e in events] == ["disk controller timeout"]
    assert events[0].datacenter.name == "DC0" and events[0].host is not None


def test_failed_vm_powers_off(simulator, si):
    vm = find_vm(si, "DC0_C0_RP0_VM3")
    assert vm.runtime.powerState == "poweredOn"
    simulator.fail("DC0_C0_RP0_VM3")
    assert vm.runtime.powerState == "poweredOff"
    simulator.recover("DC0_C0_RP0_VM3")
    assert vm.runtime.powerState == "poweredOn"


def test_failed_host_stops_responding(simulator, si):
    simulator.fail("DC0_C0_H0")
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
    host = next(h for h in view.view if h.name == "DC0_C0_H0")
    assert host.runtime.connectionState == "notResponding"
    assert all(v.runtime.connectionState == "disconnected" for v in host.vm)


@pytest.mark.parametrize("call, status, words", [
    (lambda s: s.set_perf("no_such_vm", {"cpu.usage.average": [1]}), 404, "no_such_vm"),
    (lambda s: s.set_perf("DC0_C0_RP0_VM0", {"cpu.bogus.average": [1]}), 400, "cpu.bogus.average"),
    (lambda s: s.set_perf("DC0_C0_RP0_VM0", {"cpu.usage.average": []}), 400, "empty series"),
    (lambda s: s.post_event("DC0_C0_RP0_VM0", "NoSuchEvent"), 400, "unknown event type"),
    (lambda s: s.post_event("ghost", "GeneralVmErrorEvent"), 404, "ghost"),
    (lambda s: s.fail("ghost"), 404, "ghost"),
    (lambda s: s.control("POST", "/fail", {"entity": "DC0_C0_RP0_VM0", "action": "explode"}), 400, "explode"),
    (lambda s: s.control("GET", "/perf"), 405, "PUT"),
    (lambda s: s.set_perf("DC0_C0_RP0_VM0", {"cpu.usage.average": [1]}, interval=45), 400, "interval 45"),
    (lambda s: s.set_host("DC0_C0_H0", overall_status="purple"), 400, "purple"),
    (lambda s: s.set_host("DC0_C0_H0", connection_state="asleep"), 400, "asleep"),
    (lambda s: s.set_host("DC0_C0_H0"), 400, "nothing to set"),
    (lambda s: s.set_host("DC0_C0_RP0_VM0", overall_status="red"), 404, "DC0_C0_RP0_VM0"),
])
def test_control_api_rejects_bad_input_with_4xx_and_a_message(simulator, call, status, words):
    with pytest.raises(ControlError) as err:
        call(simulator)
    assert err.value.status == status
    assert words in err.value.message


def test_simulator_on_a_taken_port_says_so_and_exits_nonzero(simulator):
    port = simulator.hostport()[1]
    proc = subprocess.run([DEFAULT_BINARY, "-listen", "127.0.0.1:%d" % port], capture_output=True, text=True, timeout=30,
                          check=False)
    assert proc.returncode != 0
    assert "cannot listen" in proc.stderr and str(port) in proc.stderr


def test_plain_http_endpoint_serves_the_same_inventory(simulator):
    host, port = simulator.hostport("http")
    conn = SmartConnect(protocol="http", host=host, port=port, user="user", pwd="pass")
    try:
        assert conn.RetrieveContent().about.apiType == "VirtualCenter"
    finally:
        Disconnect(conn)


def test_wrong_password_is_refused(simulator):
    host, port = simulator.hostport()
    with pytest.raises(vim.fault.InvalidLogin):
        SmartConnect(host=host, port=port, user="user", pwd="nope",
                     sslContext=ssl.create_default_context(cafile=simulator.cert))


def test_certificate_is_verified_against_the_written_cert(simulator, tmp_path):
    host, port = simulator.hostport()
    assert os.path.exists(simulator.cert)
    with pytest.raises(ssl.SSLCertVerificationError):
        SmartConnect(host=host, port=port, user="user", pwd="pass", sslContext=ssl.create_default_context())
    assert free_port() != port


def session(simulator):
    return vsphere.VSphere(**{k: v for k, v in simulator.connection().items() if k != "protocol"})


def test_historical_rollups_are_served_per_interval(simulator):
    five_min = list(range(100, 1300, 100))  # 12 samples: the last hour at 5 minutes
    half_hour = [7, 8, 9]
    simulator.set_perf("DC0_C0_RP0_VM0", {"disk.maxTotalLatency.latest": five_min}, interval=300)
    simulator.set_perf("DC0_C0_RP0_VM0", {"disk.maxTotalLatency.latest": half_hour}, interval=1800)
    with session(simulator) as vs:
        ref = next(v["_ref"] for v in vs.virtual_machines() if v["name"] == "DC0_C0_RP0_VM0")
        got = vs.query_perf([ref], ["disk.maxTotalLatency.latest", "cpu.usage.average"], max_sample=288, interval_id=300)
        row = got[ref._moId]  # pylint: disable=protected-access
        assert row["disk.maxTotalLatency.latest"] == five_min
        assert "cpu.usage.average" not in row  # no rollup set for it: left out, as vCenter does, not zero
        stamps = row["timestamps"]
        assert len(stamps) == 12 and all((b - a).total_seconds() == 300 for a, b in zip(stamps, stamps[1:]))
        assert stamps[-1].timestamp() % 300 == 0 and (vsphere.now() - stamps[-1]).total_seconds() < 300
        # only the samples after a start time: what a refresh of a cached baseline asks for
        since = vs.query_perf([ref], ["disk.maxTotalLatency.latest"], max_sample=288, interval_id=300,
                              start_time=stamps[-4])[ref._moId]  # pylint: disable=protected-access
        assert since["disk.maxTotalLatency.latest"] == five_min[-3:] and since["timestamps"] == stamps[-3:]
        slow = vs.query_perf([ref], ["disk.maxTotalLatency.latest"], max_sample=336,
                             interval_id=1800)[ref._moId]  # pylint: disable=protected-access
        assert slow["disk.maxTotalLatency.latest"] == half_hour
        assert all((b - a).total_seconds() == 1800 for a, b in zip(slow["timestamps"], slow["timestamps"][1:]))


def test_a_week_of_rollups_comes_back_whole_and_a_vm_without_any_has_no_history(simulator):
    simulator.set_history("DC0_C0_RP0_VM0")
    simulator.set_perf("DC0_C0_RP0_VM1", fleet.scenario_series("healthy", 0.0), normal=None)  # a new VM
    with session(simulator) as vs:
        refs = {v["name"]: v["_ref"] for v in vs.virtual_machines() if v["datacenter"] == "DC0"}
        week = vs.query_perf(list(refs.values()), ["disk.maxTotalLatency.latest"], max_sample=336, interval_id=1800)
        realtime = vs.query_perf([refs["DC0_C0_RP0_VM1"]], ["disk.maxTotalLatency.latest"], max_sample=30)
    assert len(week[refs["DC0_C0_RP0_VM0"]._moId]["disk.maxTotalLatency.latest"]) == 336  # pylint: disable=protected-access
    # no rollup set: vCenter keeps no history for it - nothing, not canned samples
    assert not week.get(refs["DC0_C0_RP0_VM1"]._moId, {}).get("disk.maxTotalLatency.latest")  # pylint: disable=protected-access
    assert len(realtime[refs["DC0_C0_RP0_VM1"]._moId]["disk.maxTotalLatency.latest"]) == 30  # pylint: disable=protected-access


def test_zero_samples_come_back_as_zeros(simulator):
    simulator.set_perf("DC0_C0_RP0_VM2", {"mem.vmmemctl.average": [0] * 30, "cpu.ready.summation": [0, 5, 0, 7] * 5})
    with session(simulator) as vs:
        ref = next(v["_ref"] for v in vs.virtual_machines() if v["name"] == "DC0_C0_RP0_VM2")
        row = vs.query_perf([ref], ["mem.vmmemctl.average", "cpu.ready.summation"], max_sample=20)[ref._moId]  # pylint: disable=protected-access
    assert row["mem.vmmemctl.average"] == [0] * len(row["timestamps"])  # all zero is data, not a gap
    assert row["cpu.ready.summation"][-4:] == [0, 5, 0, 7] and len(row["cpu.ready.summation"]) == len(row["timestamps"])


def test_host_status_and_connection_are_set_as_vcenter_reports_them(simulator):
    simulator.set_host("DC0_C0_H1", overall_status="red")
    simulator.set_host("DC0_C0_H2", connection_state="notResponding", maintenance=True)
    with session(simulator) as vs:
        hosts = {v["host"]: v for v in vs.virtual_machines() if v["datacenter"] == "DC0"}
    assert hosts["DC0_C0_H1"]["host_overall_status"] == "red"
    assert hosts["DC0_C0_H2"]["host_connection_state"] == "notResponding" and hosts["DC0_C0_H2"]["host_in_maintenance"]
    assert {h["host_overall_status"] for name, h in hosts.items() if name not in ("DC0_C0_H1", "DC0_C0_H2")} <= {"green", "gray"}
    simulator.set_host("DC0_C0_H1", overall_status="green")
    with session(simulator) as vs:
        assert all(v["host_overall_status"] != "red" for v in vs.virtual_machines())
