"""Issue 33: a vCenter that answers one byte at a time holds no call past the session's timeout - the login and
every call after it, the batched QueryPerf too. The simulator behind a proxy that turns slow on command."""
from __future__ import annotations

import re
import time

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import VSphereError

from rig.proxy import DrippingProxy


@pytest.fixture
def proxy(simulator):
    host, port = simulator.hostport()
    p = DrippingProxy(host, port)
    try:
        yield p
    finally:
        p.stop()


def connection(simulator, proxy, timeout):
    conn = {k: v for k, v in simulator.connection().items() if k != "protocol"}
    return dict(conn, hostname="127.0.0.1", port=proxy.port, validate_certs=False, ca_path=None, timeout=timeout)


def timed(fn):
    started = time.monotonic()
    with pytest.raises(VSphereError) as e:
        fn()
    return time.monotonic() - started, str(e.value)


def test_a_dripping_vcenter_holds_no_call_past_the_timeout(simulator, proxy):
    # the proxy passes the simulator through: a session works as it does directly
    with vsphere.VSphere(**connection(simulator, proxy, 3)) as vs:
        names = sorted(vm["name"] for vm in vs.virtual_machines())
        assert len(names) == 8
        moids = [vm["moid"] for vm in vs.virtual_machines()][:2]
        assert vs.counter_keys(["cpu.ready.summation"])
        assert set(vs.query_perf(moids, ["cpu.ready.summation"])) == set(moids)
        # then it slows to a byte every 0.5 s: a property read, the perf query, each gives up at 3 s with a clear error
        proxy.drip(0.5)
        seconds, message = timed(vs.virtual_machines)
        assert 2.9 <= seconds <= 4.5, seconds
        assert re.fullmatch(r"vCenter 127\.0\.0\.1:\d+ gave no complete answer to \w+ within 3 s \(timeout\)", message)
        seconds, message = timed(lambda: vs.query_perf(moids, ["cpu.ready.summation"]))
        assert 2.9 <= seconds <= 4.5, seconds
        assert re.fullmatch(r"QueryPerf on vCenter 127\.0\.0\.1:\d+ gave no complete answer within 3 s \(timeout\)", message)
    # a new session through the dripping link: the login gives up at the timeout too
    seconds, message = timed(lambda: vsphere.VSphere(**connection(simulator, proxy, 2)).connect())
    assert 1.9 <= seconds <= 3.5, seconds
    assert "did not answer within 2 s (timeout)" in message and simulator.password not in message
