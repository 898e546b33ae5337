# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mitigation by cause: when the risk sits on an ESXi host, move its VMs to the other hosts of its cluster.

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
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_HOST_AT_RISK
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


def evacuate(p, task):
    """The host_evacuate module: every host checked before any move, then each host's VMs moved to its peers."""
    moved, failed, marked = [], [], []
    diff = {"before": {}, "after": {}}
    h = None if task.check_mode else open_store(p)
    try:
        with vsphere.VSphere(**vsphere.connection_params(p)) as vs, \
                Writer(vs, p["lease_owner"], p["lease_ttl"], p["lease_wait"], task.check_mode) as writer:
            evacuation = Evacuation(vs)
            for plan in evacuation.plan(sorted(set(p["hosts"])), why=p["why"]):
                name, moves, mark = plan
                if not moves and not mark:
                    continue
                diff["before"][name] = sorted(m[1] for m in moves)
                diff["after"][name] = []
                if mark:
                    marked.append(name)
                if task.check_mode:
                    moved += [{"vm": vm_name, "from": name, "to": target} for _vm, vm_name, target in moves]
                    continue
                writer.renew()
                done, bad = evacuation.apply(plan, history=h)
                moved += done
                failed += bad
                task.changed = bool(moved or marked)
    except MirroringError as e:
        e.result.update(changed=bool(moved or marked), moved=moved, failed=failed, marked=marked)
        raise
    finally:
        if h is not None:
            h.close()
    task.changed = bool(moved or marked)
    if failed:
        raise MirroringError("%d VMs could not be moved off the hosts at risk: %s" % (
            len(failed), "; ".join("%s: %s" % (f["vm"], f["msg"]) for f in failed)),
            changed=task.changed, moved=moved, failed=failed, marked=marked, diff=diff)
    return dict(changed=task.changed, moved=moved, failed=[], marked=marked, diff=diff)
