#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_evacuate
short_description: Move every VM off ESXi hosts at risk, to the healthy hosts of the same cluster
version_added: "0.3.0"
description:
  - Mitigation by cause. When the risk sits on an ESXi host (its health, its own error events), moving its VMs to the
    other hosts of its cluster is far cheaper than failing them over to the secondary datacenter, as vSphere Proactive
    HA's quarantine does for a vendor's health provider. The C(host_at_risk) group of the
    P(predictive.mirroring.vsphere_fps#inventory) inventory names the VMs of such hosts.
  - Each host is marked first (custom attribute C(mirroring.host_at_risk), with the reason and the time), so that neither
    this module nor M(predictive.mirroring.vm_mirror) places a VM on it again, then each VM is moved (C(RelocateVM_Task))
    to the least loaded connected host of the cluster that is out of maintenance and not marked.
  - Every move is recorded in the history store, intent before and outcome after. One VM's failure does not stop the
    others; the task fails at the end naming each.
  - A host with VMs and no healthy host beside it is refused before anything moves (its VMs keep the failover path).
  - Idempotent (a host with no VM left changes nothing), with check mode and diff.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere
  - predictive.mirroring.lease
  - predictive.mirroring.history
options:
  hosts:
    description: The ESXi hosts to empty, by name (the inventory's C(esxi_host)).
    type: list
    elements: str
    required: true
  why:
    description: The reason per host (the inventory's C(host_at_risk_why)), written into the host's mark.
    type: dict
    default: {}
  history_path:
    description: The history store every move is recorded in. It is opened before anything moves.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
"""

EXAMPLES = r"""
- name: Empty the hosts the inventory found at risk
  predictive.mirroring.host_evacuate:
    hosts: "{{ groups['host_at_risk'] | map('extract', hostvars, 'esxi_host') | unique }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
moved:
  description: The VMs moved (or, in check mode, that would be), each with C(vm), C(from) and C(to).
  returned: always
  type: list
  elements: dict
failed:
  description: The VMs that could not be moved, with C(msg).
  returned: always
  type: list
  elements: dict
marked:
  description: The hosts marked at risk by this run.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store, store_argument_spec
from ansible_collections.predictive.mirroring.plugins.module_utils.hosts import Evacuation
from ansible_collections.predictive.mirroring.plugins.module_utils.lease import Writer, lease_argument_spec
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import VSphere, connection_argument_spec, connection_params


def recorder(h, vcenter):
    def record(action, vm, uuid, detail):
        aid = h.begin_action(vm, action, vm_uuid=uuid, vcenter=vcenter, detail=detail)
        return lambda error: h.end_action(aid, "failed" if error else "done", error=error)
    return record


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(store_argument_spec())
    argument_spec.update(lease_argument_spec())
    argument_spec.update(
        hosts=dict(type="list", elements="str", required=True),
        why=dict(type="dict", default={}),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    moved, failed, marked = [], [], []
    diff = {"before": {}, "after": {}}
    try:
        h = None if module.check_mode else open_store(p)
        try:
            with VSphere(**connection_params(p)) as vs, \
                    Writer(vs, p["lease_owner"], p["lease_ttl"], p["lease_wait"], module.check_mode) as writer:
                evacuation = Evacuation(vs)
                plans = evacuation.plan(sorted(set(p["hosts"])), why=p["why"])  # every host checked before any move
                for plan in plans:
                    name, moves, mark = plan
                    if not moves and not mark:
                        continue
                    diff["before"][name] = sorted(m[1] for m in moves)
                    diff["after"][name] = []
                    if mark:
                        marked.append(name)
                    if module.check_mode:
                        moved += [{"vm": vm_name, "from": name, "to": target} for _vm, vm_name, target in moves]
                        continue
                    writer.renew()
                    done, bad = evacuation.apply(plan, record=recorder(h, vs.name))
                    moved += done
                    failed += bad
        finally:
            if h is not None:
                h.close()
    except MirroringError as e:
        module.fail_json(msg=str(e), changed=bool(moved or marked), moved=moved, failed=failed, marked=marked)
    changed = bool(moved or marked)
    if failed:
        module.fail_json(msg="%d VMs could not be moved off the hosts at risk: %s" % (
            len(failed), "; ".join("%s: %s" % (f["vm"], f["msg"]) for f in failed)),
            changed=changed, moved=moved, failed=failed, marked=marked, diff=diff)
    module.exit_json(changed=changed, moved=moved, failed=[], marked=marked, diff=diff)


if __name__ == "__main__":
    main()
