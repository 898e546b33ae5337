"""Failover order, labels, metrics and threshold tuning (pure functions)."""
from __future__ import annotations

import datetime

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import analysis, failover
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import PolicyError
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import Policy

T0 = datetime.datetime(2026, 11, 1, 12, 0, tzinfo=datetime.timezone.utc)
VM = {"moid": "vm-1", "host_moid": "host-1", "power_state": "poweredOn"}


def event(kind, hours, vm="vm-1", host=None):
    return {"type": kind, "created": T0 + datetime.timedelta(hours=hours), "vm": vm, "host": host}


def record(kind="predictive", **kw):
    return dict({"at": T0.isoformat(), "kind": kind, "label_evidence": {"powered_off_by_failover": False}}, **kw)


def test_dependencies_fail_over_first_and_cycles_are_refused():
    order = failover.dependency_order(["web", "app", "db"], {"web": ["app"], "app": ["db"], "db": []})
    assert order == ["db", "app", "web"]
    # a dependency outside the batch does not hold anything up
    assert failover.dependency_order(["web"], {"web": ["db"]}) == ["web"]
    with pytest.raises(PolicyError, match="cycle"):
        failover.dependency_order(["a", "b"], {"a": ["b"], "b": ["a"]})


def test_blast_radius_counts_the_batch_whatever_its_fps():
    p = Policy(max_failovers=2, max_failover_cluster_pct=50)
    fleet = [{"name": "vm%d" % i, "cluster": "c1"} for i in range(10)]
    assert p.blast_radius(fleet[:2], fleet) is None
    assert "blast-radius limit of 2" in p.blast_radius(fleet[:3], fleet)
    small = [{"name": "a", "cluster": "c2"}, {"name": "b", "cluster": "c2"}, {"name": "c", "cluster": "c2"}]
    assert "of 3 VMs in cluster c2" in p.blast_radius(small[:2], small)


@pytest.mark.parametrize("events,state,hours_later,outcome", [
    ([event("VmGuestOSCrashedEvent", 2)], VM, 3, "confirmed"),
    ([event("HostConnectionLostEvent", 1, vm=None, host="host-1")], VM, 3, "confirmed"),
    ([event("HostConnectionLostEvent", 1, vm=None, host="host-9")], VM, 13, "unconfirmed"),
    ([event("VmGuestOSCrashedEvent", 20)], VM, 21, "unconfirmed"),  # after the horizon: not this prediction's
    ([event("VmGuestOSCrashedEvent", -1)], VM, 13, "unconfirmed"),  # before the failover
    ([], dict(VM, power_state="poweredOff"), 1, "confirmed"),
    ([], VM, 3, None),  # the horizon is still open
    ([], None, 1, "confirmed"),
])
def test_labels(events, state, hours_later, outcome):
    got, evidence = analysis.label(record(), state, events, 12.0, T0 + datetime.timedelta(hours=hours_later))
    assert got == outcome, evidence


def test_power_off_by_the_failover_is_not_evidence():
    rec = record(label_evidence={"powered_off_by_failover": True})
    got = analysis.label(rec, dict(VM, power_state="poweredOff"), [], 12.0, T0 + datetime.timedelta(hours=13))
    assert got[0] == "unconfirmed"


def test_reactive_is_missed_and_drill_is_not_labelled():
    assert analysis.label(record("reactive"), VM, [], 12.0, T0)[0] == "missed"
    assert analysis.label(record("drill"), VM, [], 12.0, T0)[0] is None


def test_metrics_and_tuning_within_bounds():
    rows = [dict(record(), outcome=o, at=at) for o, at in (("confirmed", "2026-10-03"), ("unconfirmed", "2026-10-09"),
                                                           ("unconfirmed", "2026-11-02"), ("missed", "2026-11-05"),
                                                           ("unconfirmed", "2026-11-07"))]
    overall, months = analysis.metrics(rows)
    assert (overall["confirmed"], overall["unconfirmed"], overall["missed"]) == (1, 3, 1)
    assert overall["precision"] == 0.25 and overall["recall"] == 0.5
    assert [m["month"] for m in months] == ["2026-10", "2026-11"] and months[0]["precision"] == 0.5
    new, why = analysis.tune_threshold(85.0, overall)
    assert new == 87.5 and "raised" in why
    assert analysis.tune_threshold(95.0, overall)[0] == 95.0  # at the upper bound
    assert analysis.tune_threshold(85.0, overall, min_labels=10)[0] == 85.0  # too few labels
    good = {"confirmed": 4, "unconfirmed": 1, "missed": 6, "precision": 0.8, "recall": 0.4}
    assert analysis.tune_threshold(76.0, good)[0] == 75.0  # lowered, but not below the bound
    # an application's members that failed over with the VM the plan was made for count neither way: one prediction
    followers = [dict(record(), outcome=None, label_evidence={"follows": "db01"}) for _i in range(2)]
    assert analysis.metrics(rows + followers)[0] == overall


def test_downtime_as_vcenter_saw_it():
    assert analysis.downtime(record(), "confirmed", VM, [], 12.0) == 0.0
    crash = [event("VmGuestOSCrashedEvent", -0.01)]  # 36 s before the reactive failover
    assert analysis.downtime(record("reactive"), "missed", VM, crash, 12.0) == 36.0
    assert analysis.downtime(record("reactive"), "missed", VM, [], 12.0) is None
    assert analysis.downtime(record(), "unconfirmed", VM, [], 12.0) is None


def test_an_application_fails_over_whole_in_dependency_order():
    def view(name, app=None, deps=(), vcenter="vc1", quarantined=None):
        return {"inventory_hostname": name, "vm_name": name, "cluster": "c1", "depends_on": list(deps),
                "mirroring_app": app, "vcenter": vcenter, "mirroring_quarantined": quarantined}
    fleet = [view("db01", "shop"), view("app01", "shop", ["db01"]), view("web01", "shop", ["app01"]),
             view("web02", "shop", ["app01"], quarantined="failed over at 09:12"),  # already on its mirror
             view("shop-copy", "shop", vcenter="vc2"),  # another vCenter's namesake application
             view("crm01", "crm")] + [view("vm%d" % i) for i in range(10)]
    p = dict(vms=[fleet[0]], fleet=fleet, partial_above=30.0, full_above=70.0, failover_threshold=85.0,
             hysteresis_margin=5.0, min_dwell_minutes=60, max_failovers=1, max_failover_cluster_pct=25.0)
    out = failover.order_task(p, None)
    # three VMs with a limit of one: the limit counts the database the risk asked for, the tiers follow it
    assert out["order"] == ["db01", "app01", "web01"]
    assert out["added"] == [{"name": "app01", "why": "application shop fails over with db01", "follows": "db01"},
                            {"name": "web01", "why": "application shop fails over with db01", "follows": "db01"}]
    # two VMs asked for at once are still refused by a limit of one, their applications or not
    with pytest.raises(PolicyError, match="blast"):
        failover.order_task(dict(p, vms=[fleet[0], fleet[5]]), None)
    # a member that depends on a VM the inventory does not have (a typo): the whole plan refused, naming both
    typo = fleet[:2] + [view("web01", "shop", ["app1"])] + fleet[3:]
    with pytest.raises(PolicyError, match="^web01 depends on 'app1', which the inventory does not have"):
        failover.order_task(dict(p, fleet=typo), None)
