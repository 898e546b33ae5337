#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: failover_plan
short_description: Check a set of failovers against the blast-radius limit and put them in dependency order
version_added: "0.1.0"
description:
  - Takes the VMs to fail over now (the inventory's C(failover_now) group, or VMs named by the operator) and the whole fleet.
  - Refuses every one of them, and fails saying why, when they break the policy's blast-radius limit (more than
    O(max_failovers) VMs, or more than O(max_failover_cluster_pct) of a cluster's VMs, at once) - so many VMs failing at
    once is more likely bad telemetry than a real failure. Nothing is switched.
  - Otherwise returns them ordered so that what others depend on (C(depends_on)) fails over first.
  - Changes nothing anywhere.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.policy
options:
  vms:
    description:
      - The VMs to fail over, each with C(name) (or C(inventory_hostname)), and C(cluster), C(vm_name) and C(depends_on)
        when known - the inventory's hostvars have them all.
    type: list
    elements: dict
    required: true
  fleet:
    description: Every primary (C(name) or C(inventory_hostname), and C(cluster)), for the per-cluster share. Default, O(vms) alone.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Plan the failovers the inventory asks for
  predictive.mirroring.failover_plan:
    vms: "{{ groups['failover_now'] | predictive.mirroring.vm_view(hostvars) }}"
    fleet: "{{ groups['all'] | difference(groups['mirrors']) | predictive.mirroring.vm_view(hostvars) }}"
  register: plan
"""

RETURN = r"""
order:
  description: The VMs' names, dependencies first.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.failover import dependency_order
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import policy_argument_spec, policy_from_params


def main():
    argument_spec = policy_argument_spec()
    argument_spec.update(vms=dict(type="list", elements="dict", required=True),
                         fleet=dict(type="list", elements="dict", default=[]))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    try:
        policy = policy_from_params(p)
        targets = []
        for i, vm in enumerate(p["vms"]):
            # hostvars carry inventory_hostname (what the playbook needs back) and vm_name (what depends_on names)
            name = vm.get("inventory_hostname") or vm.get("name")
            if not name:
                raise MirroringError("vms[%d] has no name" % i)
            targets.append({"name": name, "vm_name": vm.get("vm_name") or name, "cluster": vm.get("cluster"),
                            "depends_on": vm.get("depends_on") or []})
        fleet = [{"name": vm.get("inventory_hostname") or vm.get("name"), "cluster": vm.get("cluster")}
                 for vm in p["fleet"]] or targets
        why = policy.blast_radius(targets, fleet)
        if why:
            module.fail_json(msg=why, refused=[t["name"] for t in targets], order=[])
        by_vm = {t["vm_name"]: t["name"] for t in targets}
        order = dependency_order([t["name"] for t in targets],
                                 {t["name"]: [by_vm.get(d, d) for d in t["depends_on"]] for t in targets})
    except MirroringError as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=False, order=order, refused=[])


if __name__ == "__main__":
    main()
