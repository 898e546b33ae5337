"""The vCenter simulator and its control API, seen from pyVmomi."""
from __future__ import annotations

import os
import ssl
import subprocess

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

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
