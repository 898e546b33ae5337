# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Cost Optimizer: each VM's mirroring level, chosen to balance cost and risk under a budget.

For VM v at level l:
    cost[v, l]  monthly cost of mirroring at l (catalogue below)
    risk[v, l]  expected monthly loss at l = p_v x (RTO_l x downtime cost per hour
                + RPO_l x cost of an hour of lost data), with p_v = FPS / 100,
                the probability that v fails within the model's horizon, taken
                as the chance of one failure in the month ahead.
The level the FPS asks for (its band, raised by dependency floors) is the
most a VM gets: with an unlimited budget every VM gets exactly that. Under a
monthly budget the optimizer lowers levels where that adds the least expected
loss -- the lowest-risk VMs first -- and never breaks a dependency floor (a
VM's dependencies stay at least at its level). The choice is exact: a mixed
integer program solved with HiGHS (scipy.optimize.milp), not a heuristic.
"""

from __future__ import annotations

import traceback

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import PolicyError, require
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import DEFAULT_FILES_RPO, FULL, LEVELS, MINIMAL, PARTIAL, RANK
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import app_floor, dependency_floor, image_rpos, policy_from_params

try:
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    HAS_SCIPY = True
    SCIPY_IMPORT_ERROR = None
except ImportError:
    HAS_SCIPY = False
    SCIPY_IMPORT_ERROR = traceback.format_exc()

HOURS_PER_MONTH = 730.0

DEFAULT_CATALOGUE = {
    "snapshot_gb_month": 0.05,        # snapshot storage, per GB-month
    "standby_vcpu_hour": 0.012,       # a running mirror's vCPU, per hour
    "standby_gb_ram_hour": 0.004,     # a running mirror's GB of RAM, per hour
    "replication_gb": 0.02,           # replication traffic, per GB shipped
    "refresh_gb": 0.02,               # an image refresh copies the VM's disks to the secondary, per GB
    "partial_size_ratio": 0.5,        # a partial (warm standby) mirror runs at this share of the primary's size
}
# Recovery time and data loss per level, hours: restore from a snapshot;
# start a warm standby; switch to a running synchronous mirror.
DEFAULT_RTO_HOURS = {MINIMAL: 4.0, PARTIAL: 0.5, FULL: 0.02}
DEFAULT_RPO_HOURS = {MINIMAL: 6.0, PARTIAL: 0.1, FULL: 0.0}


def level_costs(vm, catalogue, image_rpo=None):
    """Monthly cost of each level for one VM (dict with num_cpu, memory_mb, disk_gb, change_gb_day).

    At partial and full the mirror's image is re-cloned every image RPO (the
    VM's own image_rpo_seconds, else the level's): its whole disk copied.
    """
    c = catalogue
    disk = float(vm.get("disk_gb") or 40.0)
    change = float(vm.get("change_gb_day") or disk * 0.05)
    vcpu = float(vm.get("num_cpu") or 1)
    ram = float(vm.get("memory_mb") or 1024) / 1024.0
    running = vcpu * c["standby_vcpu_hour"] + ram * c["standby_gb_ram_hour"]
    snapshots = disk * 0.2 * c["snapshot_gb_month"] + change * 30 * c["snapshot_gb_month"]
    shipping = change * 30 * c["replication_gb"]
    rpo = image_rpos(image_rpo)
    if vm.get("image_rpo_seconds") is not None:  # the VM's own, checked as the levels' are
        rpo = image_rpos({lvl: vm["image_rpo_seconds"] for lvl in rpo})

    def refreshes(level):
        return disk * c["refresh_gb"] * HOURS_PER_MONTH * 3600.0 / rpo[level]

    return {
        MINIMAL: snapshots + shipping * 0.25,  # periodic critical-data shipping
        PARTIAL: snapshots + shipping + disk * c["snapshot_gb_month"] + running * c["partial_size_ratio"] * HOURS_PER_MONTH
        + refreshes(PARTIAL),
        FULL: snapshots + shipping * 1.5 + disk * c["snapshot_gb_month"] + running * HOURS_PER_MONTH + refreshes(FULL),
    }


def level_risks(vm, rto, rpo):
    """Expected monthly loss at each level."""
    p = float(vm["fps"]) / 100.0
    down = float(vm.get("downtime_cost_hour") or 0.0)
    lost = float(vm.get("data_loss_cost_hour") or 0.0)
    return {lvl: p * (rto[lvl] * down + rpo[lvl] * lost) for lvl in LEVELS}


def plan_key(vm):
    """A plan entry's identity: (vCenter, instance UUID) when known, else its name."""
    if vm.get("uuid"):
        return "%s/%s" % (vm.get("vcenter") or "", vm["uuid"])
    return vm["name"]


def plan(vms, policy, budget=None, catalogue=None, rto=None, rpo=None, image_rpo=None):
    """Choose every VM's level. vms: dicts with name, fps, depends_on, app (an application: its members are held at
    one level, the riskiest member's, and lowered for the budget together), sizes and impact.

    Returns {"vms": [per-VM plan], "totals": {...}}. Raises PolicyError when
    the dependency floors alone already cost more than the budget.
    """
    require("scipy", HAS_SCIPY, SCIPY_IMPORT_ERROR)
    catalogue = dict(DEFAULT_CATALOGUE, **(catalogue or {}))
    rto = dict(DEFAULT_RTO_HOURS, **(rto or {}))
    rpo = dict(DEFAULT_RPO_HOURS, **(rpo or {}))
    if budget is not None and budget < 0:
        raise PolicyError("budget must be >= 0, got %s" % budget)
    # a VM is (vCenter, instance UUID); its name is for display: two datacenters may each have a web01
    names = [plan_key(vm) for vm in vms]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise PolicyError("VMs appear twice in the plan: %s" % ", ".join(twice))
    index = {n: i for i, n in enumerate(names)}
    display = {key: vm["name"] for key, vm in zip(names, vms)}
    by_name = {}
    for key, vm in zip(names, vms):
        by_name.setdefault(vm["name"], []).append(key)
    # a VM's level from the policy (which holds hysteresis) when given, else its FPS band
    band = {key: vm.get("level") or policy.band(vm["fps"]) for key, vm in zip(names, vms)}
    for key, vm in zip(names, vms):
        policy.check_fps(vm["fps"])
        if band[key] not in RANK:
            raise PolicyError("%s: level must be one of %s, got %r" % (vm["name"], ", ".join(LEVELS), band[key]))
    # dependencies are named; a name that two VMs share holds both (the safe reading)
    deps = {key: [d for dep in vm.get("depends_on") or [] for d in by_name.get(dep, [])] for key, vm in zip(names, vms)}
    # an application's members at one level (its riskiest member's), then what each depends on at least as high;
    # until neither raises anything more (a dependency of one member may belong to another application)
    # an application is (vCenter, name), as the inventory decides it: two vCenters' "shop" are two applications
    apps = {key: (vm.get("vcenter") or "", vm["app"]) if vm.get("app") else None for key, vm in zip(names, vms)}
    cap, raised = dict(band), {}
    for _round in range(len(vms) + 1):
        cap, by_app = app_floor(cap, apps, {key: vm["fps"] for key, vm in zip(names, vms)}, display)
        cap, by_dep = dependency_floor(cap, deps, display)
        raised.update(by_app)
        raised.update(by_dep)
        if not by_app and not by_dep:
            break
    costs = [level_costs(vm, catalogue, image_rpo) for vm in vms]
    risks = [level_risks(vm, rto, rpo) for vm in vms]

    n, k = len(vms), len(LEVELS)
    if n == 0:
        return {"vms": [], "totals": {"cost_month": 0.0, "risk_month": 0.0, "budget": budget, "vms": 0}}
    # x[v * k + l] = 1 when VM v is held at level l
    c = np.array([risks[v][lvl] for v in range(n) for lvl in LEVELS])
    # a tiny cost term breaks ties between equal-risk choices towards the cheaper one
    c = c + 1e-6 * np.array([costs[v][lvl] for v in range(n) for lvl in LEVELS])
    upper = np.array([1.0 if RANK[lvl] <= RANK[cap[names[v]]] else 0.0 for v in range(n) for lvl in LEVELS])
    rows, lo, hi = [], [], []
    for v in range(n):  # one level per VM
        row = np.zeros(n * k)
        row[v * k:(v + 1) * k] = 1
        rows.append(row)
        lo.append(1)
        hi.append(1)
    for vm_name, ds in deps.items():  # rank(dependency) >= rank(dependent)
        a = index[vm_name]
        for d in ds:
            b = index[d]
            row = np.zeros(n * k)
            row[b * k:(b + 1) * k] += np.arange(k)
            row[a * k:(a + 1) * k] -= np.arange(k)
            rows.append(row)
            lo.append(0)
            hi.append(np.inf)
    members = {}
    for key, app in apps.items():
        if app:
            members.setdefault(app, []).append(index[key])
    for group in members.values():  # rank(member) == rank(the application's first member): lowered together
        for b in group[1:]:
            row = np.zeros(n * k)
            row[group[0] * k:(group[0] + 1) * k] += np.arange(k)
            row[b * k:(b + 1) * k] -= np.arange(k)
            rows.append(row)
            lo.append(0)
            hi.append(0)
    if budget is not None:
        # every VM at minimal satisfies every dependency, so a budget below that is the only way to have no plan
        all_minimal = sum(costs[v][MINIMAL] for v in range(n))
        if budget < all_minimal:
            raise PolicyError("No plan fits a monthly budget of %.2f: every one of the %d VMs at minimal (snapshots only, "
                              "no mirror) already costs %.2f a month. Raise the budget to at least that, or leave it "
                              "unset for the levels the FPS asks for" % (budget, n, all_minimal))
        rows.append(np.array([costs[v][lvl] for v in range(n) for lvl in LEVELS]))
        lo.append(-np.inf)
        hi.append(float(budget))
    res = milp(c, integrality=np.ones(n * k), bounds=Bounds(np.zeros(n * k), upper),
               constraints=LinearConstraint(np.array(rows), lo, hi))
    if res.status != 0 or res.x is None:
        raise PolicyError("The optimizer found no plan for %d VMs (budget %s): %s" % (
            n, "unset" if budget is None else "%.2f" % budget, res.message))
    x = np.round(res.x).reshape(n, k)
    out = []
    for v, vm in enumerate(vms):
        chosen = LEVELS[int(np.argmax(x[v]))]
        name = names[v]
        if chosen == band[name] == policy.band(vm["fps"]):
            why = "FPS %.1f asks for %s" % (vm["fps"], chosen)
        elif chosen == band[name]:
            why = "FPS %.1f, held at %s by the policy (hysteresis, a red alarm or its application's FPS)" % (
                vm["fps"], chosen)
        elif RANK[chosen] > RANK[band[name]]:
            why = raised.get(name, "raised to %s" % chosen)
        else:
            why = ("lowered from %s to %s to fit the budget: adds %.2f expected loss a month, saves %.2f"
                   % (cap[name], chosen, risks[v][chosen] - risks[v][cap[name]], costs[v][cap[name]] - costs[v][chosen]))
        out.append({"name": vm["name"], "uuid": vm.get("uuid"), "vcenter": vm.get("vcenter"), "fps": vm["fps"],
                    "level_from_fps": band[name], "level": chosen, "why": why,
                    "cost_month": round(costs[v][chosen], 2), "risk_month": round(risks[v][chosen], 2),
                    "cost_at_fps_level": round(costs[v][cap[name]], 2),
                    "risk_at_minimal": round(risks[v][MINIMAL], 2)})
    totals = {"vms": n, "budget": budget,
              "cost_month": round(sum(p["cost_month"] for p in out), 2),
              "risk_month": round(sum(p["risk_month"] for p in out), 2),
              "cost_at_fps_levels": round(sum(p["cost_at_fps_level"] for p in out), 2),
              # the expected loss with nothing mirrored beyond snapshots, and how much of it the plan covers
              "risk_at_minimal": round(sum(p["risk_at_minimal"] for p in out), 2),
              "risk_covered": round(sum(p["risk_at_minimal"] - p["risk_month"] for p in out), 2),
              "levels": {lvl: sum(1 for p in out if p["level"] == lvl) for lvl in LEVELS},
              "lowered": sum(1 for key, p in zip(names, out) if RANK[p["level"]] < RANK[cap[key]])}
    return {"vms": out, "totals": totals}


def plan_task(p, task):
    """The mirror_plan module: the budgeted plan for the VMs given (each with a name and an fps)."""
    vms = []
    for i, vm in enumerate(p["vms"]):
        if "name" not in vm or "fps" not in vm:
            raise PolicyError("vms[%d] needs a name and an fps" % i)
        vms.append(dict(vm, downtime_cost_hour=vm.get("downtime_cost_hour", p["downtime_cost_hour"]),
                        data_loss_cost_hour=vm.get("data_loss_cost_hour", p["data_loss_cost_hour"])))
    unknown = set(p["catalogue"]) - set(DEFAULT_CATALOGUE)
    if unknown:
        raise PolicyError("unknown catalogue keys: %s" % ", ".join(sorted(unknown)))
    files_rpo = dict(DEFAULT_FILES_RPO)
    for level, seconds in (p.get("files_rpo_seconds") or {}).items():
        if level not in files_rpo or isinstance(seconds, bool) or not str(seconds).isdigit() or int(seconds) < 60:
            raise PolicyError("files_rpo_seconds: %s=%r: partial and full each take a whole number of seconds, at least "
                              "60" % (level, seconds))
        files_rpo[level] = int(seconds)
    current = {plan_key(vm): vm.get("level_current") or MINIMAL for vm in vms}
    for vm in vms:
        if current[plan_key(vm)] not in RANK:
            raise PolicyError("%s: level_current must be one of %s, got %r"
                              % (vm["name"], ", ".join(LEVELS), vm["level_current"]))
    result = plan(vms, policy_from_params(p), budget=p["budget"], catalogue=p["catalogue"], rto=p["rto_hours"],
                  rpo=p["rpo_hours"], image_rpo=p["image_rpo_seconds"])
    for entry in result["vms"]:
        # what reconcile steps down before the mirrors go (pools, replication, file sync), and the file data's RPO
        entry["lowering"] = RANK[entry["level"]] < RANK[current[plan_key(entry)]]
        entry["files_rpo_seconds"] = files_rpo.get(entry["level"])
    return dict(result, changed=False)
