# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mitigation by cause: when the risk sits on an ESXi host, move its VMs to the other hosts of its cluster; when it
sits on a datastore, move its VMs' files and disks to another datastore their host sees (Storage vMotion).

This is what vSphere Proactive HA's quarantine does with a vendor's health
provider, driven here by the FPS pipeline's own evidence (the host's health
and its error events). It is far cheaper than a cross-site failover and
keeps the VMs in their datacenter; a failover is kept for risk that moves
with the VM. The host is marked (custom attribute mirroring.host_at_risk) so
that neither this nor the mirror placement puts a VM back on it.
"""

from __future__ import annotations

import contextlib

from ansible_collections.predictive.mirroring.plugins.module_utils import vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_DATASTORE_AT_RISK, ATTR_HOST_AT_RISK
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError, VSphereError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store
from ansible_collections.predictive.mirroring.plugins.module_utils.lease import Writer

from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.faults import translated
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.placement import marked_at_risk, relocate_spec


class Evacuation:
    """Plan and carry out moving every VM off some hosts, to the least loaded healthy hosts of the same cluster."""

    def __init__(self, vs):
        self.vs = vs
        self.fields = vs.field_names()
        self.hosts = {}
        for h in vs.retrieve("HostSystem", ["name", "parent", "vm", "runtime.connectionState", "runtime.inMaintenanceMode"]):
            self.hosts[h["name"]] = h

    def _cluster_peers(self, host):
        parent = host.get("parent")
        return [h for h in self.hosts.values() if h.get("parent") == parent and h["name"] != host["name"]
                and str(h.get("runtime.connectionState")) == "connected" and not h.get("runtime.inMaintenanceMode")
                and not marked_at_risk(self.vs, h["_ref"], self.fields)]

    def plan(self, host_names, why=None):
        """[(host name, [(vm ref, vm name, target host name)], mark value)]; VSphereError when a host cannot be emptied."""
        why = why or {}
        plans = []
        load = {name: len(h.get("vm") or []) for name, h in self.hosts.items()}
        for name in host_names:
            host = self.hosts.get(name)
            if host is None:
                raise VSphereError("ESXi host '%s' not found in vCenter %s" % (name, self.vs.name))
            vms = [v for v in host.get("vm") or [] if not v.config.template]
            peers = self._cluster_peers(host)
            if vms and not peers:
                raise VSphereError("Host %s has %d VMs and no healthy host beside it in its cluster to move them to: "
                                   "nothing was moved (the failover path is left for them)" % (name, len(vms)))
            moves = []
            for vm in sorted(vms, key=lambda v: v.name):
                target = min(peers, key=lambda p: (load[p["name"]], p["name"]))
                load[target["name"]] += 1
                load[name] -= 1
                moves.append((vm, vm.name, target["name"]))
            mark = why.get(name) or "at risk"
            current = marked_at_risk(self.vs, host["_ref"], self.fields)
            plans.append((name, moves, None if current else mark))
        return plans

    @staticmethod
    def describe(plan):
        """(host name, [{vm, from, to}]) of one host's plan."""
        name, moves, _mark = plan
        return name, [{"vm": vm_name, "from": name, "to": target} for _vm, vm_name, target in moves]

    def apply(self, plan, history=None):
        """Carry one host's plan out: mark it first (placement avoids it from then on), then move each VM.

        With `history` (the store), each move is inside its intent recorder. Returns the moves done; one VM's failure
        does not stop the others (they are returned too).
        """
        host_name, moves, mark = plan
        host = self.hosts[host_name]
        if mark:
            self.vs.set_attribute(host["_ref"], ATTR_HOST_AT_RISK, "%s; since %s" % (
                mark, vsphere.now().replace(microsecond=0).isoformat()), mo_type="HostSystem")
        done, failed = [], []
        for vm, vm_name, target in moves:
            record = history.recorded(vm_name, "relocate", vm_uuid=vm.config.instanceUuid, vcenter=self.vs.name,
                                      detail={"from": host_name, "to": target}) if history else contextlib.nullcontext()
            try:
                what = "move %s from %s to %s" % (vm_name, host_name, target)
                with record, translated(what):
                    spec = relocate_spec(self.hosts[target]["_ref"], vm.resourcePool)
                    self.vs.wait_task(vm.RelocateVM_Task(spec=spec), what)
            except VSphereError as e:
                failed.append({"vm": vm_name, "to": target, "msg": str(e)})
                continue
            done.append({"vm": vm_name, "from": host_name, "to": target})
        return done, failed


class StorageEvacuation:
    """Plan and carry out moving the files and disks of every VM on some datastores to another datastore its host
    sees: accessible, out of maintenance, not itself at risk or marked, with the most free space left."""

    def __init__(self, vs):
        self.vs = vs
        self.fields = vs.field_names()
        self.stores = {d["moid"]: d for d in vs.retrieve("Datastore", [
            "name", "summary.freeSpace", "summary.accessible", "summary.maintenanceMode"])}
        self.hosts = {h["moid"]: h for h in vs.retrieve("HostSystem", ["name", "datastore"])}
        # where each VM's files are, from the VM's own datastore list (what a relocation changes)
        self.vms = [v for v in vs.retrieve("VirtualMachine", [
            "name", "datastore", "runtime.host", "config.template", "config.instanceUuid", "summary.storage.committed"])
            if not v.get("config.template")]

    def resolve(self, ident):
        """A datastore's moid from its moid or its name; VSphereError when none or several are named so."""
        if ident in self.stores:
            return ident
        named = sorted(m for m, d in self.stores.items() if d["name"] == ident)
        if len(named) == 1:
            return named[0]
        if not named:
            raise VSphereError("Datastore '%s' not found in vCenter %s" % (ident, self.vs.name))
        raise VSphereError("%d datastores are named '%s' in vCenter %s (%s): give its moid (the inventory's "
                           "datastores_at_risk carries it)" % (len(named), ident, self.vs.name, ", ".join(named)))

    def _usable(self, moid, risky):
        d = self.stores[moid]
        return (moid not in risky and d.get("summary.accessible") is not False
                and str(d.get("summary.maintenanceMode") or "normal") == "normal"
                and not marked_at_risk(self.vs, d["_ref"], self.fields, ATTR_DATASTORE_AT_RISK))

    def plan(self, idents, why=None):
        """[(datastore moid, [(vm row, target moid)], mark value)]: every datastore resolved and every VM given a
        target before anything moves; VSphereError when one cannot be. A VM on two datastores at risk moves once."""
        why = why or {}
        risky = {}
        for ident in idents:
            risky.setdefault(self.resolve(ident), why.get(ident) or "at risk")
        free = {m: int(d.get("summary.freeSpace") or 0) for m, d in self.stores.items()}
        moving = set()
        plans = []
        for moid in sorted(risky, key=lambda m: self.stores[m]["name"]):
            moves = []
            for vm in sorted(self.vms, key=lambda v: v["name"]):
                on = [ds._moId for ds in vm.get("datastore") or []]  # pylint: disable=protected-access
                if moid not in on or vm["moid"] in moving:
                    continue
                host = vm.get("runtime.host")
                seen = [ds._moId for ds in (self.hosts.get(host._moId, {}).get("datastore") or [])] if host else []  # pylint: disable=protected-access
                size = int(vm.get("summary.storage.committed") or 0)
                targets = [m for m in seen if m in self.stores and self._usable(m, risky) and free[m] >= size]
                if not targets:
                    raise VSphereError("VM %s on datastore %s: its host sees no other datastore that is accessible, out "
                                       "of maintenance, not at risk and has %.1f GB free; nothing was moved"
                                       % (vm["name"], self.stores[moid]["name"], size / 2.0 ** 30))
                target = max(targets, key=lambda m: (free[m], m))
                free[target] -= size
                moving.add(vm["moid"])
                moves.append((vm, target))
            current = marked_at_risk(self.vs, self.stores[moid]["_ref"], self.fields, ATTR_DATASTORE_AT_RISK)
            plans.append((moid, moves, None if current else risky[moid]))
        return plans

    def describe(self, plan):
        """(datastore name, [{vm, from, to}]) of one datastore's plan."""
        moid, moves, _mark = plan
        name = self.stores[moid]["name"]
        return name, [{"vm": vm["name"], "from": name, "to": self.stores[t]["name"]} for vm, t in moves]

    def apply(self, plan, history=None):
        """Carry one datastore's plan out: mark it first (placement avoids it from then on), then move each VM's
        files. With `history`, each move is inside its intent recorder. One VM's failure does not stop the others."""
        moid, moves, mark = plan
        name = self.stores[moid]["name"]
        if mark:
            self.vs.set_attribute(self.stores[moid]["_ref"], ATTR_DATASTORE_AT_RISK, "%s; since %s" % (
                mark, vsphere.now().replace(microsecond=0).isoformat()), mo_type="Datastore")
        done, failed = [], []
        for vm, target in moves:
            to = self.stores[target]["name"]
            record = history.recorded(vm["name"], "relocate_storage", vm_uuid=vm.get("config.instanceUuid"),
                                      vcenter=self.vs.name, detail={"from": name, "to": to}) \
                if history else contextlib.nullcontext()
            try:
                what = "move the files of %s from datastore %s to %s" % (vm["name"], name, to)
                with record, translated(what):
                    self.vs.wait_task(vm["_ref"].RelocateVM_Task(spec=relocate_spec(datastore=self.stores[target]["_ref"])),
                                      what)
            except VSphereError as e:
                failed.append({"vm": vm["name"], "to": to, "msg": str(e)})
                continue
            done.append({"vm": vm["name"], "from": name, "to": to})
        return done, failed


def run_evacuation(p, task, kind, idents, what):
    """Every target planned before any move, then each one marked and emptied; one lease, one history store.

    kind: Evacuation or StorageEvacuation (plan, describe, apply); idents: the hosts or datastores to empty; what:
    "hosts" or "datastores", for the message."""
    moved, failed, marked = [], [], []
    diff = {"before": {}, "after": {}}
    h = None if task.check_mode else open_store(p)
    try:
        with vsphere.VSphere(**vsphere.connection_params(p)) as vs, \
                Writer(vs, p["lease_owner"], p["lease_ttl"], p["lease_wait"], task.check_mode) as writer:
            evacuation = kind(vs)
            for plan in evacuation.plan(idents, why=p["why"]):
                name, would = evacuation.describe(plan)
                if not would and not plan[2]:
                    continue
                diff["before"][name] = sorted(m["vm"] for m in would)
                diff["after"][name] = []
                if plan[2]:
                    marked.append(name)
                if task.check_mode:
                    moved += would
                    continue
                writer.renew()
                done, bad = evacuation.apply(plan, history=h)
                moved += done
                failed += bad
    except MirroringError as e:
        e.result.update(changed=bool(moved or marked), moved=moved, failed=failed, marked=marked)
        raise
    finally:
        if h is not None:
            h.close()
    task.changed = bool(moved or marked)
    if failed:
        raise MirroringError("%d VMs could not be moved off the %s at risk: %s" % (
            len(failed), what, "; ".join("%s: %s" % (f["vm"], f["msg"]) for f in failed)),
            changed=task.changed, moved=moved, failed=failed, marked=marked, diff=diff)
    return dict(changed=task.changed, moved=moved, failed=[], marked=marked, diff=diff)


def evacuate(p, task):
    """The host_evacuate module: every host checked before any move, then each host's VMs moved to its peers."""
    return run_evacuation(p, task, Evacuation, sorted(set(p["hosts"])), "hosts")


def evacuate_storage(p, task):
    """The datastore_evacuate module: every datastore and VM planned before any move, then each datastore's VMs'
    files moved off it."""
    return run_evacuation(p, task, StorageEvacuation, list(dict.fromkeys(p["datastores"])), "datastores")
