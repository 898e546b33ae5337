"""Issue 33: a vCenter that answers one byte at a time holds no call past the session's timeout - the login and
every call after it, the batched QueryPerf too. The simulator behind a proxy that turns slow on command."""
from __future__ import annotations

import re
import time

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import VSphereError
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.perf import PerfClient

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
    # and says where it was waiting (reading the dripping reply), which tells a silent network from a local stall
    assert re.search(r"; the login was waiting in \w+\.py:\d+ \w+( <- \w+\.py:\d+ \w+)*$", message), message


def test_a_socket_that_times_out_before_the_deadline_gives_the_same_clear_error(simulator, proxy):
    """The session's sockets time out after the same seconds as the deadline, so under load either can fire first
    (a clean-clone run saw a bare TimeoutError). With the sockets made at 2 s and the deadline then raised to 5 s,
    the socket's timeout is the one that fires: the property read and the perf query each give the clear error.
    On a loaded machine the simulator has twice dropped the session's connection instead (the next test's path,
    "dropped the connection"); the scenario is then run again on a new session, at most three times."""
    dropped = []
    for attempt in range(3):
        with vsphere.VSphere(**connection(simulator, proxy, 2)) as vs:
            assert len(vs.virtual_machines()) == 8
            perf = PerfClient(vs)
            with pytest.raises(VSphereError, match="HTTP 500"):  # an empty body is a fault; the connection stays open
                perf.post(b"")  # made now (this thread's), with the 2 s socket timeout
            vs.timeout = 5
            proxy.drip(3600)
            # a new connection for the next call (made with the session's 2 s socket timeout): the pooled one was
            # dropped under load in clean-clone runs before the drip could hold it
            vs.si._stub.DropConnections()  # pylint: disable=protected-access
            try:
                seconds, message = timed(vs.virtual_machines)
                if "dropped the connection" in message:
                    dropped.append(message)
                    continue
                assert seconds < 4.5, seconds
                assert re.fullmatch(r"vCenter 127\.0\.0\.1:\d+ gave no complete answer to \w+ within 5 s \(timeout\)",
                                    message)
                seconds, message = timed(lambda: perf.post(b""))
                assert seconds < 4.5, seconds
                assert re.fullmatch(r"QueryPerf on vCenter 127\.0\.0\.1:\d+ gave no complete answer within 5 s \(timeout\)",
                                    message)
                return
            finally:
                proxy.drip(None)
    pytest.fail("the connection was dropped in every attempt (%d): %s" % (attempt + 1, dropped))


def test_a_connection_dropped_under_a_session_is_one_clear_error(simulator, proxy):
    """A load balancer's idle timeout or a restart drops the session's pooled connection: the next call fails with one
    line naming the call (not retried: a dropped call may have been carried out), and a new session works."""
    with vsphere.VSphere(**connection(simulator, proxy, 5)) as vs:
        assert len(vs.virtual_machines()) == 8
        proxy.cut()
        with pytest.raises(VSphereError, match=r"vCenter 127\.0\.0\.1:\d+ dropped the connection during \w+: "):
            vs.virtual_machines()
    with vsphere.VSphere(**connection(simulator, proxy, 5)) as vs:
        assert len(vs.virtual_machines()) == 8
