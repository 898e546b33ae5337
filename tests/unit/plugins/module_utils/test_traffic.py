"""The Traffic Director's decisions without a load balancer: the plan that turns a pool into the desired one, and
ensure_pool's check mode, change and read-back, on a pool held in memory (the real HAProxy is in
tests/integration/test_traffic.py and the molecule scenario)."""
from __future__ import annotations

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import TrafficError
from ansible_collections.predictive.mirroring.plugins.module_utils.traffic import Provider, ensure_pool, plan_pool


def entry(state="ready", weight=1, up=True, address="10.0.0.1:80", sessions=0):
    return {"address": address, "state": state, "weight": weight, "up": up, "sessions": sessions}


class Pool(Provider):
    """A backend held in a dict, doing what it is told, recording every call; `stuck` servers ignore state changes."""

    name = "memory"

    def __init__(self, pool, stuck=()):
        self.pool = {n: dict(s) for n, s in pool.items()}
        self.calls = []
        self.stuck = set(stuck)

    def servers(self, backend):
        return {n: dict(s) for n, s in self.pool.items()}

    def set_state(self, backend, server, state):
        self.calls.append(("state", server, state))
        if server not in self.stuck:
            self.pool[server]["state"] = state
            if state == "drain":
                self.pool[server]["sessions"] = 0  # the clients went away

    def set_weight(self, backend, server, weight):
        self.calls.append(("weight", server, weight))
        self.pool[server]["weight"] = weight

    def add_server(self, backend, server, address, weight):
        self.calls.append(("add", server, address, weight))
        self.pool[server] = entry("maint", weight, address=address)

    def del_server(self, backend, server):
        self.calls.append(("del", server))
        del self.pool[server]


def test_a_swap_makes_the_mirror_ready_before_the_primary_is_drained():
    steps, after = plan_pool({"web01": entry(), "web01-mirror": entry("maint", address="10.0.1.1:80")},
                             {"web01": {"state": "maint"}, "web01-mirror": {"state": "ready"}})
    assert steps == [("state", "web01-mirror", "ready"), ("state", "web01", "maint")]
    assert after["web01"]["state"] == "maint" and after["web01-mirror"]["state"] == "ready"


def test_a_new_server_is_added_in_maint_then_raised_and_absent_ones_leave_through_maint():
    steps, after = plan_pool({"web01": entry(), "old": entry(address="10.0.9.9:80")},
                             {"web01-mirror": {"state": "ready", "address": "10.0.1.1:80", "weight": 5},
                              "old": {"state": "absent"}})
    assert steps == [("add", "web01-mirror", "10.0.1.1:80", 5), ("state", "web01-mirror", "ready"),
                     ("state", "old", "maint"), ("del", "old")]
    assert sorted(after) == ["web01", "web01-mirror"]


@pytest.mark.parametrize("desired, words", [
    ({"web01": {"state": "maint"}}, "would have no serving server"),
    ({"web02": {"state": "ready"}}, "no address was given"),
    ({"web01": {"state": "up"}}, "state must be one of"),
])
def test_a_plan_that_leaves_no_server_or_cannot_be_carried_out_is_refused(desired, words):
    with pytest.raises(TrafficError, match=words):
        plan_pool({"web01": entry()}, desired)


def test_allow_empty_lets_the_last_server_go():
    steps, after = plan_pool({"web01": entry()}, {"web01": {"state": "maint"}}, allow_empty=True)
    assert steps == [("state", "web01", "maint")] and after["web01"]["state"] == "maint"


def test_ensure_pool_in_check_mode_plans_and_sends_nothing():
    lb = Pool({"web01": entry(), "web01-mirror": entry("maint")})
    changed, before, after, steps, drained = ensure_pool(
        lb, "app", [{"name": "web01-mirror", "state": "ready"}, {"name": "web01", "state": "maint"}], check_mode=True)
    assert changed and lb.calls == [] and drained == {}
    assert before["web01"]["state"] == "ready" and after["web01"]["state"] == "maint"
    assert steps == [("state", "web01-mirror", "ready"), ("state", "web01", "maint")]


def test_ensure_pool_drains_then_maints_reads_back_and_a_second_call_changes_nothing():
    lb = Pool({"web01": entry(sessions=3), "web01-mirror": entry("maint")})
    want = [{"name": "web01-mirror", "state": "ready"}, {"name": "web01", "state": "maint"}]
    changed, _before, after, _steps, drained = ensure_pool(lb, "app", want, drain_timeout=1.0)
    assert changed and drained == {"web01": True}
    assert lb.calls == [("state", "web01-mirror", "ready"), ("state", "web01", "drain"), ("state", "web01", "maint")]
    assert after["web01"]["state"] == "maint" and after["web01-mirror"]["state"] == "ready"
    lb.calls.clear()
    assert ensure_pool(lb, "app", want)[0] is False and lb.calls == []


@pytest.mark.parametrize("servers, words", [
    ([{"name": "web01", "state": "maint"}, {"name": "web01", "state": "ready"}], "names a server twice"),
    ([{"name": "web01; disable frontend", "state": "maint"}], "is refused"),
    ([{"name": "web02", "state": "ready", "address": "10.0.0.2:80 ; shutdown"}], "want host:port"),
    ([{"name": "web01", "state": "ready", "weight": 999}], "want a whole number 0-256"),
])
def test_ensure_pool_refuses_bad_input_before_the_load_balancer_hears_of_it(servers, words):
    lb = Pool({"web01": entry()})
    with pytest.raises(TrafficError, match=words):
        ensure_pool(lb, "app", servers)
    assert lb.calls == [] and lb.pool == {"web01": entry()}


def test_a_load_balancer_that_does_not_do_as_asked_is_an_error():
    lb = Pool({"web01": entry(), "web01-mirror": entry("maint")}, stuck=["web01"])
    with pytest.raises(TrafficError, match="reports web01 not as asked"):
        ensure_pool(lb, "app", [{"name": "web01-mirror", "state": "ready"}, {"name": "web01", "state": "maint"}],
                    drain_timeout=0.1)
