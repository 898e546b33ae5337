# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

FIELDS = ("fps", "depends_on", "num_cpu", "memory_mb")


def mirror_targets(hosts, hostvars, plan=None):
    """The inventory's primaries as mirror_plan / vm_mirror batch entries."""
    chosen = {p["name"]: p["level"] for p in plan or []}
    out = []
    for host in hosts:
        hv = hostvars[host]
        if "fps" not in hv or "mirroring_level" not in hv:
            raise AnsibleFilterError("host %s has no fps/mirroring_level: is it from the vsphere_fps inventory?" % host)
        name = hv.get("vm_name") or host
        entry = {"name": name, "level": chosen.get(name, hv["mirroring_level"]),
                 "below_since": hv.get("mirroring_below_since") or ""}
        for field in FIELDS:
            if hv.get(field) is not None:
                entry[field] = hv[field]
        out.append(entry)
    return out


class FilterModule:
    def filters(self):
        return {"mirror_targets": mirror_targets}
