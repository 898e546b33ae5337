# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failover: the order VMs go in, the primary's quarantine in vSphere, and what the outcome teaches.

Post-Failover Analysis labels each recorded failover from what vCenter saw
afterwards:

- confirmed: a predictive failover whose primary then failed within the
  horizon (a failure event on it or its host, or it lost power that the
  failover did not take away). A training positive.
- unconfirmed: a predictive failover whose primary did not fail within the
  horizon. Failing over may have prevented the failure, so this is neither a
  positive nor a negative; it is kept out of training (treating mitigated
  cases as positives degrades the model).
- missed: a reactive failover - the primary failed with no failover before.
"""

from __future__ import annotations

import datetime

from ansible_collections.predictive.mirroring.plugins.module_utils import pipeline, telemetry, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.mirror import (
    Options, Placement, image_age, keep_order, mirrors_by_primary)
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import PolicyError, VSphereError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import outcome_metrics as metrics  # noqa: F401  pylint: disable=unused-import
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import parse_time

try:
    from pyVmomi import vim, vmodl
except ImportError:
    vim = vmodl = None

try:
    import graphlib
except ImportError:  # pragma: no cover - Python < 3.9 is not a controller this collection supports
    graphlib = None

KINDS = ("predictive", "reactive", "drill")
# the failover threshold the analysis may move within, and its step
THRESHOLD_BOUNDS = (75.0, 95.0)
THRESHOLD_STEP = 2.5


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
    old = "of unknown age (it carries no mirroring.synced_at)" if age is None else "%d s old (synced at %s)" % (
        age, mirror["attributes"].get(vsphere.ATTR_SYNCED_AT))
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
        if vm["attributes"].get(vsphere.ATTR_PRIMARY):
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
                "quarantined": vm["attributes"].get(vsphere.ATTR_QUARANTINED) or None,
                "level": vm["attributes"].get(vsphere.ATTR_LEVEL) or None,
                "synced_at": vm["attributes"].get(vsphere.ATTR_SYNCED_AT) or None,
                "image_age_seconds": image_age(vm, vsphere.now())}

    def set_quarantine(self, vm, value):
        self.vs.set_attribute(vm["_ref"], vsphere.ATTR_QUARANTINED, value)

    def power(self, vm, on):
        want = "poweredOn" if on else "poweredOff"
        if vm["power_state"] == want:
            return False
        try:
            task = vm["_ref"].PowerOnVM_Task() if on else vm["_ref"].PowerOffVM_Task()
        except vmodl.MethodFault as e:  # faults raised at call time
            raise VSphereError("Cannot power %s %s: %s" % ("on" if on else "off", vm["name"], getattr(e, "msg", e))) from None
        self.vs.wait_task(task, "power %s %s" % ("on" if on else "off", vm["name"]))
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
            if vm["attributes"].get(vsphere.ATTR_DRILL_OF) == primary["instance_uuid"]:
                return vm
        return None

    def up(self, primary, mirror, network=None):
        name = mirror["name"] + self.suffix
        strangers = [vm for vm in self.q.all_vms if vm["name"] == name and vm["datacenter_moid"] == mirror["datacenter_moid"]
                     and vm["attributes"].get(vsphere.ATTR_DRILL_OF) != primary["instance_uuid"]]
        if strangers:
            raise VSphereError("A VM named '%s' exists in datacenter '%s' and is not this drill's copy: rename it"
                               % (name, mirror["datacenter"]))
        place = Placement(self.vs, Options(mirror["datacenter"], secondary_cluster=mirror["cluster"],
                                           secondary_network=network))
        spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(pool=place.pool, datastore=place.datastore,
                                                             host=mirror["_ref"].runtime.host,
                                                             deviceChange=place.nic_changes(mirror["_ref"])),
                                powerOn=False, template=False)
        copy = self.vs.wait_task(mirror["_ref"].CloneVM_Task(folder=place.folder, name=name, spec=spec),
                                 "clone %s for a drill" % mirror["name"])
        try:
            self.vs.set_attribute(copy, vsphere.ATTR_DRILL_OF, primary["instance_uuid"])
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


def label(failover, vm_state, events, horizon_hours, now):
    """(outcome or None while the horizon is still open, evidence) for one recorded failover.

    vm_state: the primary's row from VSphere.virtual_machines() now (None when it is gone);
    events: failure events since the failover, as VSphere.events() rows.
    """
    at = parse_time(failover["at"])
    end = at + datetime.timedelta(hours=horizon_hours)
    if failover["kind"] == "drill":
        return None, {"why": "a drill is not a prediction"}
    if failover["kind"] == "reactive":
        return "missed", {"why": "reactive failover: the primary failed with no failover before it"}
    evidence = dict(failover.get("label_evidence") or {})
    hits = []
    if vm_state is not None:
        hits = [e for e in events if at <= e["created"] <= end and (
            e["vm"] == vm_state["moid"]
            or (e["type"] in pipeline.HOST_FAILURE_EVENTS and e["host"] and e["host"] == vm_state["host_moid"]))]
    if hits:
        first = hits[0]
        return "confirmed", dict(evidence, event=first["type"], event_at=first["created"].isoformat(),
                                 lead_hours=round((first["created"] - at).total_seconds() / 3600.0, 3))
    if vm_state is None:
        return "confirmed", dict(evidence, why="the primary is gone from vCenter")
    if vm_state["power_state"] != "poweredOn" and not evidence.get("powered_off_by_failover"):
        return "confirmed", dict(evidence, why="the primary lost power after the failover", power_state=vm_state["power_state"])
    if now >= end:
        return "unconfirmed", dict(evidence, why="no failure within %.0f h of the failover: mitigated or a false alarm, "
                                                 "kept out of training" % horizon_hours)
    return None, dict(evidence, pending_until=end.isoformat())


def downtime(failover, outcome, vm_state, events, horizon_hours):
    """Seconds the service was down, from what vCenter saw: 0 for a confirmed predictive failover (the switch was done
    before the failure), the time from the failure to the failover for a reactive one; None when it cannot be told."""
    at = parse_time(failover["at"])
    if outcome == "confirmed" and failover["kind"] == "predictive":
        return 0.0
    if failover["kind"] == "reactive" and vm_state is not None:
        before = [e["created"] for e in events if e["vm"] == vm_state["moid"]
                  and at - datetime.timedelta(hours=horizon_hours) <= e["created"] <= at]
        if before:
            return round((at - max(before)).total_seconds(), 3)
    return None


def tune_threshold(current, overall, target_precision=0.5, min_labels=5, bounds=THRESHOLD_BOUNDS, step=THRESHOLD_STEP):
    """(new threshold, why): up a step when precision is below target, down a step when precision is fine but
    failures are missed more often than caught; always within bounds; unchanged on too few labels."""
    labelled = overall["confirmed"] + overall["unconfirmed"] + overall["missed"]
    low, high = bounds
    if labelled < min_labels:
        return current, "unchanged: %d labelled failovers, fewer than the %d needed to tune" % (labelled, min_labels)
    precision, recall = overall["precision"], overall["recall"]
    if precision is not None and precision < target_precision:
        new = min(high, current + step)
        why = "precision %.2f below the target %.2f: threshold raised" % (precision, target_precision)
    elif recall is not None and recall < 0.5 and (precision is None or precision >= target_precision):
        new = max(low, current - step)
        why = "precision %s on target but recall %.2f: threshold lowered" % (
            "n/a" if precision is None else "%.2f" % precision, recall)
    else:
        return current, "unchanged: precision %s, recall %s" % (precision, recall)
    if new == current:
        return current, why + " - but it is at its bound %.1f" % current
    return new, why
