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

from ansible_collections.predictive.mirroring.plugins.module_utils.hosts import evacuate
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(evacuate, dict(
        hosts=dict(type="list", elements="str", required=True),
        why=dict(type="dict", default={}),
    ), shared=("vsphere", "history", "lease"))


if __name__ == "__main__":
    main()
