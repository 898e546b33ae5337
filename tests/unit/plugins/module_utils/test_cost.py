from __future__ import annotations

import itertools

import numpy as np
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import cost
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import PolicyError
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import LEVELS, RANK
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import Policy

POLICY = Policy()


def vm(name, fps, deps=(), cpu=4, mem=8192, down=500.0, lost=2000.0):
    return {"name": name, "fps": fps, "depends_on": list(deps), "num_cpu": cpu, "memory_mb": mem, "disk_gb": 100,
            "downtime_cost_hour": down, "data_loss_cost_hour": lost}


def levels(result):
    return {p["name"]: p["level"] for p in result["vms"]}


def test_unlimited_budget_follows_the_fps_bands():
    vms = [vm("a", 5), vm("b", 45), vm("c", 90), vm("d", 30.0), vm("e", 30.1)]
    got = levels(cost.plan(vms, POLICY))
    assert got == {"a": "minimal", "b": "partial", "c": "full", "d": "minimal", "e": "partial"}


def test_tight_budget_lowers_the_lowest_risk_vms_first():
    vms = [vm("low", 72), vm("mid", 85), vm("high", 99)]
    full = cost.level_costs(vms[0], cost.DEFAULT_CATALOGUE)["full"]
    partial = cost.level_costs(vms[0], cost.DEFAULT_CATALOGUE)["partial"]
    result = cost.plan(vms, POLICY, budget=2 * full + partial + 0.01)
    assert levels(result) == {"low": "partial", "mid": "full", "high": "full"}
    assert result["totals"]["cost_month"] <= 2 * full + partial + 0.01
    assert "budget" in next(p for p in result["vms"] if p["name"] == "low")["why"]


def test_dependency_floor_is_never_broken():
    # web depends on db; db's own FPS is low, but it must stay at web's level
    vms = [vm("web", 90, deps=["db"]), vm("db", 5), vm("batch", 80)]
    result = cost.plan(vms, POLICY)
    assert levels(result)["db"] == "full" and "web depends on it" in result["vms"][1]["why"]
    full = cost.level_costs(vms[0], cost.DEFAULT_CATALOGUE)["full"]
    minimal = cost.level_costs(vms[0], cost.DEFAULT_CATALOGUE)["minimal"]
    squeezed = levels(cost.plan(vms, POLICY, budget=2 * full + minimal + 1))
    assert RANK[squeezed["db"]] >= RANK[squeezed["web"]]


def test_namesakes_are_planned_apart_and_a_vm_twice_is_refused():
    # issue 33: web01 in two datacenters is two VMs (vCenter, instance UUID); one name stopped the whole plan
    sick = dict(vm("web01", 80.0), uuid="u-dc0", vcenter="vc:443")
    well = dict(vm("web01", 2.0), uuid="u-dc2", vcenter="vc:443")
    app = vm("app01", 5.0, deps=["web01"])
    out = {(p["name"], p["uuid"]): p["level"] for p in cost.plan([sick, well, app], POLICY)["vms"]}
    assert out == {("web01", "u-dc0"): "full", ("web01", "u-dc2"): "minimal", ("app01", None): "minimal"}
    with pytest.raises(PolicyError, match="twice in the plan: vc:443/u-dc0"):
        cost.plan([sick, dict(sick)], POLICY)
    # the same UUID in another vCenter is another VM
    assert len(cost.plan([sick, dict(sick, vcenter="other:443")], POLICY)["vms"]) == 2


def test_impossible_budget_is_refused_clearly():
    with pytest.raises(PolicyError, match="No plan fits a monthly budget"):
        cost.plan([vm("a", 90)], POLICY, budget=0.0)
    with pytest.raises(PolicyError, match="FPS must be within"):
        cost.plan([vm("a", 120)], POLICY)


def brute_force(vms, budget):
    band = {v["name"]: POLICY.band(v["fps"]) for v in vms}
    from ansible_collections.predictive.mirroring.plugins.module_utils.policy import dependency_floor  # pylint: disable=import-outside-toplevel
    cap, _raised = dependency_floor(band, {v["name"]: v["depends_on"] for v in vms})
    costs = [cost.level_costs(v, cost.DEFAULT_CATALOGUE) for v in vms]
    risks = [cost.level_risks(v, cost.DEFAULT_RTO_HOURS, cost.DEFAULT_RPO_HOURS) for v in vms]
    best = None
    for combo in itertools.product(LEVELS, repeat=len(vms)):
        pick = dict(zip((v["name"] for v in vms), combo))
        if any(RANK[pick[v["name"]]] > RANK[cap[v["name"]]] for v in vms):
            continue
        if any(RANK[pick[d]] < RANK[pick[v["name"]]] for v in vms for d in v["depends_on"]):
            continue
        spend = sum(costs[i][pick[v["name"]]] for i, v in enumerate(vms))
        if budget is not None and spend > budget + 1e-9:
            continue
        obj = sum(risks[i][pick[v["name"]]] + 1e-6 * costs[i][pick[v["name"]]] for i, v in enumerate(vms))
        if best is None or obj < best[0] - 1e-9:
            best = (obj, pick)
    return best


@pytest.mark.parametrize("seed", range(25))
def test_matches_brute_force_on_small_random_fleets(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    names = ["vm%d" % i for i in range(n)]
    vms = []
    for i, name in enumerate(names):
        deps = [names[j] for j in range(i + 1, n) if rng.random() < 0.3]  # acyclic
        vms.append(vm(name, float(np.round(rng.uniform(0, 100), 1)), deps, cpu=int(rng.integers(1, 9)),
                      mem=int(rng.integers(1, 33)) * 1024, down=float(rng.uniform(10, 2000)), lost=float(rng.uniform(0, 5000))))
    full_spend = sum(max(cost.level_costs(v, cost.DEFAULT_CATALOGUE).values()) for v in vms)
    budget = None if seed % 5 == 0 else float(rng.uniform(0.2, 1.0) * full_spend)
    expected = brute_force(vms, budget)
    if expected is None:
        with pytest.raises(PolicyError):
            cost.plan(vms, POLICY, budget=budget)
        return
    got = cost.plan(vms, POLICY, budget=budget)
    risks = [cost.level_risks(v, cost.DEFAULT_RTO_HOURS, cost.DEFAULT_RPO_HOURS) for v in vms]
    costs = [cost.level_costs(v, cost.DEFAULT_CATALOGUE) for v in vms]
    obj = sum(risks[i][p["level"]] + 1e-6 * costs[i][p["level"]] for i, p in enumerate(got["vms"]))
    assert obj == pytest.approx(expected[0], rel=1e-6, abs=1e-6)


def test_image_refreshes_are_priced_by_the_disk_copied():
    base = {"name": "a", "fps": 50.0, "disk_gb": 40.0, "num_cpu": 2, "memory_mb": 4096}
    daily = cost.level_costs(base, cost.DEFAULT_CATALOGUE)
    hourly = cost.level_costs(base, cost.DEFAULT_CATALOGUE, {"partial": 3600})
    # 730 h a month: 30.4 refreshes a day apart, 730 an hour apart, 40 GB at 0.02 each
    assert hourly["partial"] - daily["partial"] == pytest.approx(40 * 0.02 * (730 - 730 / 24.0))
    assert hourly["full"] == pytest.approx(daily["full"]) and hourly["minimal"] == pytest.approx(daily["minimal"])
    own = cost.level_costs(dict(base, image_rpo_seconds=3600), cost.DEFAULT_CATALOGUE)
    assert own["partial"] == pytest.approx(hourly["partial"])
    with pytest.raises(PolicyError, match="at least 60"):
        cost.level_costs(dict(base, image_rpo_seconds=5), cost.DEFAULT_CATALOGUE)


def test_the_plan_says_which_vms_are_lowered_and_their_file_data_rpo():
    # policy out of reconcile.yml's Jinja: the rank comparison and the file data's RPO per level
    params = {"vms": [dict(vm("db01", 80.0), level_current="partial"), dict(vm("web01", 2.0), level_current="full"),
                      vm("batch07", 2.0)],
              "downtime_cost_hour": 100.0, "data_loss_cost_hour": 200.0, "budget": None, "catalogue": {},
              "rto_hours": {}, "rpo_hours": {}, "image_rpo_seconds": {}, "files_rpo_seconds": {"partial": "3600"},
              "partial_above": 30.0, "full_above": 70.0, "failover_threshold": 85.0, "hysteresis_margin": 5.0,
              "min_dwell_minutes": 60, "max_failovers": 2, "max_failover_cluster_pct": 25.0}
    out = {p["name"]: (p["level"], p["lowering"], p["files_rpo_seconds"]) for p in cost.plan_task(params, None)["vms"]}
    assert out == {"db01": ("full", False, 300), "web01": ("minimal", True, None), "batch07": ("minimal", False, None)}
    params["vms"][0] = dict(vm("db01", 50.0), level_current="full")
    assert {p["name"]: (p["lowering"], p["files_rpo_seconds"]) for p in cost.plan_task(params, None)["vms"]}["db01"] \
        == (True, 3600)
    for bad in ({"minimal": 3600}, {"partial": 30}, {"full": "soon"}):
        with pytest.raises(PolicyError, match="files_rpo_seconds"):
            cost.plan_task(dict(params, files_rpo_seconds=bad), None)
    with pytest.raises(PolicyError, match="level_current"):
        cost.plan_task(dict(params, vms=[dict(vm("x", 1.0), level_current="fulll")]), None)


def app(name, fps, application, deps=()):
    return dict(vm(name, fps, deps), app=application)


def test_an_application_is_held_at_its_riskiest_members_level_and_says_so():
    vms = [app("db01", 80, "shop"), app("app01", 10, "shop"), app("web01", 40, "shop"), vm("lone", 10),
           app("crm01", 50, "crm"), app("crm02", 5, "crm")]
    result = cost.plan(vms, POLICY)
    assert levels(result) == {"db01": "full", "app01": "full", "web01": "full", "lone": "minimal",
                              "crm01": "partial", "crm02": "partial"}
    why = {p["name"]: p["why"] for p in result["vms"]}
    assert why["app01"] == "held at full with application shop: its member db01 asks for full"
    assert why["db01"] == "FPS 80.0 asks for full"


def test_an_application_is_lowered_for_the_budget_whole_never_split():
    vms = [app("db01", 80, "shop"), app("web01", 10, "shop"), vm("other", 90)]
    costs = [cost.level_costs(v, cost.DEFAULT_CATALOGUE) for v in vms]
    # room for the other VM at full and the shop at partial, not for the shop at full
    budget = costs[2]["full"] + costs[0]["partial"] + costs[1]["partial"] + 0.01
    got = levels(cost.plan(vms, POLICY, budget=budget))
    assert got["db01"] == got["web01"] and RANK[got["db01"]] < RANK["full"], got


def test_an_applications_dependency_outside_it_is_raised_with_it():
    # the shop's web tier depends on a shared DNS VM outside the application; its db sets the shop at full
    vms = [app("db01", 80, "shop"), app("web01", 10, "shop", deps=["dns01"]), vm("dns01", 5)]
    assert levels(cost.plan(vms, POLICY)) == {"db01": "full", "web01": "full", "dns01": "full"}


def test_an_application_is_one_per_vcenter_two_vcenters_shops_are_two_applications():
    """An application is (vCenter, name), as the inventory decides it: vc2's shop is not held by vc1's failing db."""
    vms = [dict(app("db01", 80, "shop"), vcenter="vc1:443", uuid="u1"),
           dict(app("web01", 10, "shop"), vcenter="vc1:443", uuid="u2"),
           dict(app("db01", 5, "shop"), vcenter="vc2:443", uuid="u3"),
           dict(app("web01", 5, "shop"), vcenter="vc2:443", uuid="u4")]
    result = cost.plan(vms, POLICY)
    got = {(p["vcenter"], p["name"]): p["level"] for p in result["vms"]}
    assert got == {("vc1:443", "db01"): "full", ("vc1:443", "web01"): "full",
                   ("vc2:443", "db01"): "minimal", ("vc2:443", "web01"): "minimal"}
    why = {(p["vcenter"], p["name"]): p["why"] for p in result["vms"]}
    assert why[("vc1:443", "web01")] == "held at full with application shop: its member db01 asks for full"
