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
  - An application fails over whole. The members of each one's application (C(mirroring_app), the same vCenter, not
    failed over already) are added from O(fleet) and ordered with them; the blast-radius limit counts the VMs asked
    for, not the members that follow them.
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
    description:
      - Every primary (C(name) or C(inventory_hostname), and C(cluster)), for the per-cluster share and the members of
        applications (C(mirroring_app), C(vcenter), C(mirroring_quarantined)). Default, O(vms) alone.
    type: list
    elements: dict
    default: []
  blast_radius:
    description:
      - Check the blast-radius limit. C(false) for a drill, which touches no production VM (playbooks/drill.yml); the
        members of applications and the dependency order are the same.
    type: bool
    default: true
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
added:
  description: The members of an application added to the VMs asked for, each with C(name), C(why) and C(follows) (the VM
    asked for whose application it is).
  returned: success
  type: list
  elements: dict
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.failover import order_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(order_task, dict(
        vms=dict(type="list", elements="dict", required=True),
        fleet=dict(type="list", elements="dict", default=[]),
        blast_radius=dict(type="bool", default=True),
    ), shared=("policy",))


if __name__ == "__main__":
    main()
