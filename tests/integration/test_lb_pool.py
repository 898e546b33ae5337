"""lb_pool against a real HAProxy and real HTTP backends: states read back from HAProxy, traffic observed."""
from __future__ import annotations

import time
import urllib.request

import pytest

from ansible_collections.predictive.mirroring.plugins.modules import lb_pool
from ansible_collections.predictive.mirroring.plugins.module_utils.traffic.haproxy import HAProxy as Provider

from common.utils import run_module


def hits(ha, n=40):
    got = {}
    for _i in range(n):
        with urllib.request.urlopen("http://127.0.0.1:%d/" % ha.frontends["app"], timeout=5) as r:
            body = r.read().decode()
        got[body] = got.get(body, 0) + 1
    return got


def wait_up(ha, server):
    deadline = time.monotonic() + 10
    while not Provider(ha.socket).servers("app")[server]["up"] and time.monotonic() < deadline:
        time.sleep(0.1)


def setp(ha, servers, check=False, **extra):
    return run_module(lb_pool, dict({"socket": ha.socket, "backend": "app", "servers": servers}, **extra), check_mode=check)


def test_levels_through_the_pool(pool):
    ha, _primary, mirror = pool
    # partial: the mirror is added, ready, weight 0 -- in the pool, no traffic
    partial = [{"name": "primary", "state": "ready", "weight": 100},
               {"name": "mirror", "state": "ready", "weight": 0, "address": mirror.address}]
    result, failed = setp(ha, partial, check=True)
    assert not failed and result["changed"] and "mirror" not in Provider(ha.socket).servers("app")
    result, failed = setp(ha, partial)
    assert not failed and result["changed"]
    wait_up(ha, "mirror")
    state = Provider(ha.socket).servers("app")
    assert state["mirror"]["state"] == "ready" and state["mirror"]["weight"] == 0
    assert hits(ha) == {"primary": 40}
    result, failed = setp(ha, partial)
    assert not failed and not result["changed"]
    # full: active/active
    result, failed = setp(ha, [{"name": "mirror", "state": "ready", "weight": 100}])
    assert not failed and result["changed"]
    assert set(hits(ha)) == {"primary", "mirror"}
    # failed over: the mirror serves, the primary drained then in maintenance
    result, failed = setp(ha, [{"name": "mirror", "state": "ready", "weight": 100}, {"name": "primary", "state": "maint"}])
    assert not failed and result["drained"] == {"primary": True}
    assert Provider(ha.socket).servers("app")["primary"]["state"] == "maint"
    assert hits(ha) == {"mirror": 40}


def test_a_change_that_leaves_no_serving_server_is_refused(pool):
    ha = pool[0]
    before = Provider(ha.socket).servers("app")
    result, failed = setp(ha, [{"name": "primary", "state": "maint"}])
    assert failed and "no serving server" in result["msg"]
    result, failed = setp(ha, [{"name": "primary", "state": "ready", "weight": 0}])
    assert failed and "no serving server" in result["msg"]
    assert Provider(ha.socket).servers("app") == before
    assert hits(ha, 5) == {"primary": 5}


@pytest.mark.parametrize("change, words", [
    ({"backend": "nope"}, "backend 'nope'"),
    ({"socket": "/nonexistent/admin.sock"}, "Cannot reach the HAProxy runtime API"),
    ({"socket": "127.0.0.1:1"}, "Cannot reach the HAProxy runtime API"),
    ({"servers": [{"name": "ghost", "state": "ready"}]}, "no address was given"),
])
def test_bad_input_is_a_clear_error_and_changes_nothing(pool, change, words):
    ha = pool[0]
    before = Provider(ha.socket).servers("app")
    args = dict({"socket": ha.socket, "backend": "app", "servers": [{"name": "primary", "state": "ready"}]}, **change)
    result, failed = run_module(lb_pool, args)
    assert failed and words in result["msg"]
    assert Provider(ha.socket).servers("app") == before


def test_absent_removes_the_mirror_and_is_idempotent(pool):
    ha, _primary, mirror = pool
    setp(ha, [{"name": "mirror", "state": "ready", "weight": 0, "address": mirror.address}])
    assert "mirror" in Provider(ha.socket).servers("app")
    result, failed = setp(ha, [{"name": "mirror", "state": "absent"}])
    assert not failed and result["changed"]
    assert "mirror" not in Provider(ha.socket).servers("app")
    result, failed = setp(ha, [{"name": "mirror", "state": "absent"}])
    assert not failed and not result["changed"]
