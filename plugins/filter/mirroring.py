# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import RANK

FIELDS = ("fps", "depends_on", "num_cpu", "memory_mb")
# What a module may be handed of a host: the inventory's own facts about the VM. Never hostvars whole: they
# hold every variable in scope, passwords from -e, group_vars and vault among them.
VIEW_FIELDS = ("vm_name", "vm_instance_uuid", "vm_moid", "vcenter", "datacenter", "cluster", "esxi_host", "fps",
               "fps_reasons", "fps_missing", "mirroring_level", "mirroring_level_current", "mirroring_quarantined",
               "depends_on", "mirror_name", "power_state", "num_cpu", "memory_mb", "host_at_risk_why",
               "datastore_at_risk_why", "datastores_at_risk", "failover_refused_why", "failover_refused_reason",
               "mirroring_data_lag", "mirroring_rpo_seconds", "mirroring_data_rpo", "mirror_age_seconds",
               "data_lag_seconds", "data_rpo_seconds", "mirroring_vm_image_rpo_seconds", "mirroring_app")


def mirror_targets(hosts, hostvars, plan=None):
    """The inventory's primaries as mirror_plan / vm_mirror batch entries."""
    # the plan's level per VM, by (vCenter, instance UUID): names are for display, two datacenters may share one
    chosen = {(p.get("vcenter"), p["uuid"]) if p.get("uuid") else p["name"]: p["level"] for p in plan or []}
    out = []
    for host in hosts:
        hv = hostvars[host]
        if "fps" not in hv or "mirroring_level" not in hv:
            raise AnsibleFilterError("host %s has no fps/mirroring_level: is it from the vsphere_fps inventory?" % host)
        name = hv.get("vm_name") or host
        uuid = hv.get("vm_instance_uuid")
        key = (hv.get("vcenter"), uuid) if uuid else name
        entry = {"name": name, "level": chosen.get(key, hv["mirroring_level"]),
                 "below_since": hv.get("mirroring_below_since") or ""}
        if RANK.get(entry["level"], 0) > RANK.get(hv["mirroring_level"], 0):
            entry["floor"] = True  # held above its own level by the plan (an application, a dependency)
        if uuid:
            entry["uuid"] = uuid
        if hv.get("vcenter"):
            entry["vcenter"] = hv["vcenter"]
        if hv.get("mirroring_level_current"):
            entry["level_current"] = hv["mirroring_level_current"]
        if hv.get("mirroring_app"):
            entry["app"] = hv["mirroring_app"]
        for field in FIELDS:
            if hv.get(field) is not None:
                entry[field] = hv[field]
        if hv.get("mirroring_vm_image_rpo_seconds") not in (None, ""):
            # this VM's own image RPO (a host variable), for vm_mirror
            try:
                entry["image_rpo_seconds"] = int(hv["mirroring_vm_image_rpo_seconds"])
            except (TypeError, ValueError):
                raise AnsibleFilterError("host %s: mirroring_vm_image_rpo_seconds must be a whole number of seconds, not %r"
                                         % (host, hv["mirroring_vm_image_rpo_seconds"])) from None
        out.append(entry)
    return out


def vm_view(hosts, hostvars):
    """Each host as the few inventory facts a module needs (inventory_hostname and VIEW_FIELDS), never whole hostvars."""
    if isinstance(hosts, str):
        hosts = [hosts]
    out = []
    for host in hosts:
        if not host or host not in hostvars:
            raise AnsibleFilterError("host %r is not in the inventory" % (host,))
        hv = hostvars[host]
        entry = {"inventory_hostname": host}
        for field in VIEW_FIELDS:
            if field in hv:
                entry[field] = hv[field]
        out.append(entry)
    return out


class FilterModule:
    def filters(self):
        return {"mirror_targets": mirror_targets, "vm_view": vm_view}
