# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failover: the order VMs go in, the primary's quarantine in vSphere, drills.

- `dependency_order`, `stale_image`: pure decisions (what goes first; whether a mirror is too old to fail over to).
- `Quarantine`, `Drill`: the vSphere acts.
- `failover_step(params, task)`, `drill(params, task)`: the cores of vm_failover and vm_drill. Every act that cannot
  be undone by re-running writes its intent to the history store before it and its outcome after.

What a failover's outcome teaches (labels, threshold tuning) is analysis.py.
"""

from __future__ import annotations

import contextlib

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ATTR_DRILL_OF, ATTR_LEVEL, ATTR_PRIMARY, ATTR_QUARANTINED, ATTR_SYNCED_AT, FULL, PARTIAL)
from ansible_collections.predictive.mirroring.plugins.module_utils import pipeline, telemetry, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError, PolicyError, VSphereError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store, store_configured
from ansible_collections.predictive.mirroring.plugins.module_utils.lease import Writer
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import image_rpos, policy_from_params
from ansible_collections.predictive.mirroring.plugins.module_utils.mirror import (
    Options, image_age, keep_order, mirrors_by_primary)
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.faults import translated
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.placement import Placement, clone_spec

try:
    import graphlib
except ImportError:  # pragma: no cover - Python < 3.9 is not a controller this collection supports
    graphlib = None


def dependency_order(names, depends_on):
    """`names` ordered so that what others depend on goes first (only dependencies among `names` count)."""
    inside = set(names)
    sorter = graphlib.TopologicalSorter()
    for name in names:
        sorter.add(name, *[d for d in depends_on.get(name) or [] if d in inside and d != name])
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as e:
        raise PolicyError("The VMs to fail over depend on each other in a cycle (%s): fix mirroring.depends_on"
                          % " -> ".join(e.args[1])) from None


def stale_image(primary, mirror, rpo, now):
    """Why a mirror's image is too old to fail over to (None when it is within `rpo` seconds)."""
    age = image_age(mirror, now)
    if age is not None and age <= rpo:
        return None
    synced = mirror["attributes"].get(ATTR_SYNCED_AT)
    if age is not None:
        old = "%d s old (synced at %s)" % (age, synced)
    elif synced:
        old = "of unknown age (its mirroring.synced_at %s lies in the future or cannot be read)" % synced
    else:
        old = "of unknown age (it carries no mirroring.synced_at)"
    return ("Failover of %s refused: the image of its mirror %s is %s, older than its RPO of %d s. Nothing was changed. "
            "Let reconcile refresh the mirror, or set mirroring_failover_force=true to fail over to it anyway"
            % (primary["name"], mirror["name"], old, rpo))


class Quarantine:
    """A primary's failover state in vSphere: the quarantine attribute and its power."""

    def __init__(self, vs):
        self.vs = vs
        self.all_vms = vs.virtual_machines()
        self.mirrors = mirrors_by_primary(self.all_vms)

    def primary(self, uuid=None, name=None):
        """The primary by instance UUID (by name only when it is unique); never a namesake."""
        vm = vsphere.resolve_vm(self.all_vms, uuid=uuid, name=name, where="vCenter %s" % self.vs.name)
        if vm["attributes"].get(ATTR_PRIMARY):
            raise VSphereError("VM '%s' (%s) is a mirror, not a primary" % (vm["name"], vm["instance_uuid"]))
        return vm

    def mirror(self, primary):
        found = sorted(self.mirrors.get(primary["instance_uuid"]) or [], key=keep_order)
        return found[0] if found else None

    @staticmethod
    def state(vm):
        if vm is None:
            return None
        return {"name": vm["name"], "power_state": vm["power_state"], "host": vm["host"], "cluster": vm["cluster"],
                "datacenter": vm["datacenter"], "num_cpu": vm["num_cpu"], "memory_mb": vm["memory_mb"],
                "quarantined": vm["attributes"].get(ATTR_QUARANTINED) or None,
                "level": vm["attributes"].get(ATTR_LEVEL) or None,
                "synced_at": vm["attributes"].get(ATTR_SYNCED_AT) or None,
                "image_age_seconds": image_age(vm, vsphere.now())}

    def set_quarantine(self, vm, value):
        self.vs.set_attribute(vm["_ref"], ATTR_QUARANTINED, value)

    def power(self, vm, on):
        want = "poweredOn" if on else "poweredOff"
        if vm["power_state"] == want:
            return False
        what = "power %s %s" % ("on" if on else "off", vm["name"])
        with translated(what):  # faults raised at call time
            task = vm["_ref"].PowerOnVM_Task() if on else vm["_ref"].PowerOffVM_Task()
        self.vs.wait_task(task, what)
        vm["power_state"] = want
        return True

    def features(self, vm, samples=30):
        """The primary's feature vector now ({name: value}), as the model saw it; None when it is powered off."""
        if vm["power_state"] != "poweredOn":
            return None
        perf, events = pipeline.collect(self.vs, [vm], samples=samples)
        raw = telemetry.raw_from_vsphere([vm], perf, events, samples)
        X, _missing = telemetry.features(raw)
        return dict(zip(telemetry.FEATURE_NAMES, (round(float(v), 4) for v in X[0])))


class Drill:
    """A drill's isolated copy of a primary's mirror: cloned from the mirror, on its own network, powered on; removed
    after. Marked mirroring.drill_of so nothing scores, mirrors or fails it over."""

    def __init__(self, quarantine, suffix="-drill"):
        self.q = quarantine
        self.vs = quarantine.vs
        self.suffix = suffix

    def copy_of(self, primary):
        for vm in self.q.all_vms:
            if vm["attributes"].get(ATTR_DRILL_OF) == primary["instance_uuid"]:
                return vm
        return None

    def up(self, primary, mirror, network=None):
        name = mirror["name"] + self.suffix
        strangers = [vm for vm in self.q.all_vms if vm["name"] == name and vm["datacenter_moid"] == mirror["datacenter_moid"]
                     and vm["attributes"].get(ATTR_DRILL_OF) != primary["instance_uuid"]]
        if strangers:
            raise VSphereError("A VM named '%s' exists in datacenter '%s' and is not this drill's copy: rename it"
                               % (name, mirror["datacenter"]))
        place = Placement(self.vs, Options(mirror["datacenter"], secondary_cluster=mirror["cluster"],
                                           secondary_network=network))
        spec = clone_spec(place, mirror["_ref"], mirror["_ref"].runtime.host)
        copy = self.vs.wait_task(mirror["_ref"].CloneVM_Task(folder=place.folder, name=name, spec=spec),
                                 "clone %s for a drill" % mirror["name"])
        try:
            self.vs.set_attribute(copy, ATTR_DRILL_OF, primary["instance_uuid"])
            self.vs.wait_task(copy.PowerOnVM_Task(), "power on %s" % name)
        except VSphereError:
            self.down_ref(copy, name)
            raise
        return name

    def down_ref(self, ref, name):
        if ref.runtime.powerState == "poweredOn":
            self.vs.wait_task(ref.PowerOffVM_Task(), "power off %s" % name)
        self.vs.wait_task(ref.Destroy_Task(), "remove %s" % name)

    def down(self, primary):
        copy = self.copy_of(primary)
        if copy is None:
            return None
        self.down_ref(copy["_ref"], copy["name"])
        return copy["name"]


def recorded(h, primary, action, act, vcenter, detail=None):
    """act() inside the store's intent recorder (History.recorded); its result, recorded too when it is a dict."""
    with h.recorded(primary["name"], action, vm_uuid=primary["instance_uuid"], vcenter=vcenter, detail=detail) as out:
        result = act()
        out["detail"] = result if isinstance(result, dict) else None
    return result


def _quarantine(q, h, primary, mirror, before, p, task):
    """Power off (optional), mark quarantined and record the failover, intent first; re-running completes a half-done one."""
    recorded_ones = h.failovers(vm_uuid=primary["instance_uuid"], open_only=True) if h is not None else []
    if before["quarantined"] and recorded_ones:
        return {}  # failed over and recorded: nothing left to do
    if task.check_mode:
        task.changed = True
        return {}
    detail = {"kind": p["kind"], "power_off": p["power_off"], "fps": p["fps"], "mirror": mirror["name"]}

    def act():
        features = q.features(primary)
        stamp = before["quarantined"] or vsphere.now().replace(microsecond=0).isoformat()
        if p["power_off"] and q.power(primary, on=False):
            task.changed = True
        if not before["quarantined"]:
            q.set_quarantine(primary, stamp)
            primary["attributes"][ATTR_QUARANTINED] = stamp
            task.changed = True
        failover_id = h.add_failover(
            primary["name"], p["kind"], fps=p["fps"], reasons=p["reasons"], features=features, vcenter=q.vs.name,
            downtime_s=p["downtime_s"], data_lag_bytes=p["data_lag_bytes"], data_lag_s=p["data_lag_s"], at=stamp,
            vm_uuid=primary["instance_uuid"])
        evidence = {"powered_off_by_failover": p["power_off"]}
        if p.get("follows"):  # not a prediction of its own: its application's plan is labelled once, by the VM it follows
            evidence["follows"] = p["follows"]
        h.update_failover(failover_id, label_evidence=evidence)
        task.changed = True
        return dict(detail, failover_id=failover_id)

    return {"failover_id": recorded(h, primary, "quarantine", act, q.vs.name, detail)["failover_id"]}


def _power_on(q, h, primary, before, task):
    if not before["quarantined"]:
        raise MirroringError("%s is not quarantined: power it on in vSphere, not through failback" % primary["name"])
    if primary["power_state"] == "poweredOn":
        return {}
    task.changed = True
    if not task.check_mode:
        recorded(h, primary, "power_on", lambda: q.power(primary, on=True) and None, q.vs.name)
    return {}


def _release(q, h, primary, before, task):
    if not before["quarantined"]:
        return {}
    task.changed = True
    if task.check_mode:
        return {}

    def act():
        q.set_quarantine(primary, "")
        primary["attributes"][ATTR_QUARANTINED] = ""
        # records from before schema v3 carry no UUID: only those are matched by name
        open_ones = h.failovers(vm_uuid=primary["instance_uuid"], open_only=True) or [
            f for f in h.failovers(vm=primary["name"], open_only=True) if not f.get("vm_uuid")]
        for f in open_ones:
            h.update_failover(f["id"], failback_at=vsphere.now().replace(microsecond=0).isoformat())
        return open_ones[-1]["id"] if open_ones else None

    return {"failover_id": recorded(h, primary, "release", act, q.vs.name)}


def predicted_after(after, state, power_off, task):
    """What check mode says the primary would look like."""
    if not (task.check_mode and task.changed):
        return after
    after = dict(after, quarantined="(now)" if state == "quarantined" else
                 (None if state == "released" else after["quarantined"]))
    if state == "powered_on" or (state == "quarantined" and power_off):
        after["power_state"] = "poweredOn" if state == "powered_on" else "poweredOff"
    return after


def failover_step(p, task):
    """The vm_failover module: one step of a failover or failback on the vSphere side (see its documentation)."""
    state = p["state"]
    if state == "aborted":
        if not task.check_mode:
            with open_store(p) as h:
                h.end_action(p["action_id"], "failed", error=p["error"] or "a step of the failover failed")
        return {"changed": False, "action_id": p["action_id"]}
    acting = state not in ("preflight", "intent") or (state == "intent" and not task.check_mode)
    # the store is opened before anything changes: no irreversible act without a place to record it. A dry run
    # reads it when it exists and never creates it.
    h = open_store(p) if acting and (not task.check_mode or store_configured(p)) else None
    out = {}
    with (h or contextlib.nullcontext()), vsphere.VSphere(**vsphere.connection_params(p)) as vs, \
            Writer(vs, p["lease_owner"], p["lease_ttl"], p["lease_wait"], task.check_mode or not acting):
        q = Quarantine(vs)
        primary = q.primary(uuid=p["uuid"], name=p["name"])
        mirror = q.mirror(primary)
        before = Quarantine.state(primary)
        mirror_state = Quarantine.state(mirror)
        if state in ("preflight", "quarantined") and mirror is None:
            raise MirroringError("%s has no mirror to fail over to (its level is %s): failover refused"
                                 % (primary["name"], before["level"] or "not set"))
        if state == "preflight" and (p["image_rpo_seconds"] is not None or p["image_rpo_per_level"] is not None):
            rpo = p["image_rpo_seconds"]
            if rpo is None:  # the VM's level's, as reconcile holds it
                rpo = image_rpos(p["image_rpo_per_level"])[before["level"] if before["level"] in (PARTIAL, FULL)
                                                           else FULL]
            refusal = stale_image(primary, mirror, rpo, vsphere.now())
            if refusal:
                raise MirroringError(refusal)
        if state == "intent" and h is not None:
            out["action_id"] = h.begin_action(primary["name"], "failover", vm_uuid=primary["instance_uuid"],
                                              vcenter=vs.name, detail={"kind": p["kind"], "fps": p["fps"],
                                                                       "mirror": mirror["name"],
                                                                       "mirror_image_age_s": mirror_state[
                                                                           "image_age_seconds"]})
        elif state == "quarantined":
            out = _quarantine(q, h, primary, mirror, before, p, task)
            if p["action_id"] and h is not None and not task.check_mode:
                h.end_action(p["action_id"], "done", detail={"failover_id": out.get("failover_id")})
        elif state == "powered_on":
            out = _power_on(q, h, primary, before, task)
        elif state == "released":
            out = _release(q, h, primary, before, task)
        after = predicted_after(Quarantine.state(primary), state, p["power_off"], task)
    return dict(out, primary=after, mirror=mirror_state, diff={"before": before, "after": after})


def drill(p, task):
    """The vm_drill module: an isolated, recorded copy of the mirror up (present), or down (absent)."""
    h = None if task.check_mode else open_store(p)
    with (h or contextlib.nullcontext()), vsphere.VSphere(**vsphere.connection_params(p)) as vs, \
            Writer(vs, p["lease_owner"], p["lease_ttl"], p["lease_wait"], task.check_mode):
        q = Quarantine(vs)
        primary = q.primary(uuid=p["uuid"], name=p["name"])
        copies = Drill(q, p["suffix"])
        existing = copies.copy_of(primary)
        if p["state"] == "present":
            mirror = q.mirror(primary)
            if mirror is None:
                raise MirroringError("%s has no mirror to drill" % primary["name"])
            if existing is not None:
                return {"changed": False, "copy": existing["name"]}
            name = mirror["name"] + p["suffix"]
            if not task.check_mode:
                name = recorded(h, primary, "drill_up", lambda: copies.up(primary, mirror, p["drill_network"]), vs.name)
            return {"changed": True, "copy": name, "diff": {"before": {"copy": None}, "after": {"copy": name}}}
        if existing is None:
            return {"changed": False, "copy": None}
        if not task.check_mode:
            recorded(h, primary, "drill_down", lambda: copies.down(primary) and None, vs.name)
            if p["rto_s"] is not None:
                h.add_failover(primary["name"], "drill", vcenter=vs.name, downtime_s=p["rto_s"],
                               data_lag_s=p["data_lag_s"], vm_uuid=primary["instance_uuid"])
        return {"changed": True, "copy": None, "diff": {"before": {"copy": existing["name"]}, "after": {"copy": None}}}


def order_task(p, task):
    """The failover_plan module: the order the VMs fail over in, or a refusal when the blast radius is too wide."""
    policy = policy_from_params(p)
    targets = []
    for i, vm in enumerate(p["vms"]):
        # hostvars carry inventory_hostname (what the playbook needs back) and vm_name (what depends_on names)
        name = vm.get("inventory_hostname") or vm.get("name")
        if not name:
            raise MirroringError("vms[%d] has no name" % i)
        targets.append(target_of(vm, name))
    fleet = [{"name": vm.get("inventory_hostname") or vm.get("name"), "cluster": vm.get("cluster")}
             for vm in p["fleet"]] or targets
    # the limit counts what the risk asked for; the members of its application follow it (below)
    why = policy.blast_radius(targets, fleet) if p.get("blast_radius", True) else None
    if why:
        raise PolicyError(why, refused=[t["name"] for t in targets], order=[])
    added = application_members(targets, p["fleet"])
    targets += [target_of(vm, vm.get("inventory_hostname") or vm.get("name")) for vm, _why, _with in added]
    unknown_dependencies(targets, p["fleet"])
    by_vm = {t["vm_name"]: t["name"] for t in targets}
    order = dependency_order([t["name"] for t in targets],
                             {t["name"]: [by_vm.get(d, d) for d in t["depends_on"]] for t in targets})
    return dict(changed=False, order=order, refused=[],
                added=[{"name": vm.get("inventory_hostname") or vm.get("name"), "why": why, "follows": follows}
                       for vm, why, follows in added])


def unknown_dependencies(targets, fleet):
    """Refuse a plan whose VMs depend on a VM the inventory does not have (a misspelt mirroring.depends_on, or a VM of
    a datacenter the inventory does not read): its order could not be kept, so nothing fails over. Without a fleet
    (the module given VMs alone) there is nothing to check against."""
    if not fleet:
        return
    known = set()
    for vm in fleet:
        known.update(n for n in (vm.get("vm_name"), vm.get("inventory_hostname"), vm.get("name")) if n)
    for t in targets:
        missing = [d for d in t["depends_on"] if d not in known]
        if missing:
            raise PolicyError("%s depends on %s, which the inventory does not have: fix its mirroring.depends_on (or "
                              "read that VM's datacenter) - its dependency order cannot be kept, nothing was changed"
                              % (t["name"], ", ".join("'%s'" % d for d in missing)))


def target_of(vm, name):
    return {"name": name, "vm_name": vm.get("vm_name") or name, "cluster": vm.get("cluster"),
            "depends_on": vm.get("depends_on") or [], "app": vm.get("mirroring_app"), "vcenter": vm.get("vcenter")}


def application_members(targets, fleet):
    """[(fleet entry, why, the target it follows)]: the members of each target's application (same vCenter, not failed over already) that
    are not targets themselves - a service fails over whole, or its tiers end up in two datacenters."""
    names = {t["name"] for t in targets}
    out = []
    for t in list(targets):
        if not t.get("app"):
            continue
        for vm in fleet:
            name = vm.get("inventory_hostname") or vm.get("name")
            if (vm.get("mirroring_app") == t["app"] and vm.get("vcenter") == t.get("vcenter") and name not in names
                    and not vm.get("mirroring_quarantined")):
                names.add(name)
                out.append((vm, "application %s fails over with %s" % (t["app"], t["name"]), t["name"]))
    return out
