#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: datastore_evacuate
short_description: Move the files and disks of every VM off datastores at risk, to another datastore their host sees
version_added: "0.4.0"
description:
  - Mitigation by cause. When the risk sits on a datastore (a red vCenter alarm on it, or the disk latency of its VMs
    drifting from their own normals together), moving its VMs' files and disks to another datastore (Storage vMotion,
    C(RelocateVM_Task) with a datastore) is far cheaper than failing them over to the secondary datacenter. The
    C(datastore_at_risk) group of the P(predictive.mirroring.vsphere_fps#inventory) inventory names the VMs of such
    datastores, and each VM's C(datastores_at_risk) names the datastores (with their moids).
  - Every datastore and every VM is planned before anything moves; a VM whose host sees no datastore that is
    accessible, out of maintenance, not at risk itself (nor marked) and with room for the VM's committed storage is
    refused before anything moves. Each VM goes to the datastore with the most free space left.
  - Each datastore is marked first (custom attribute C(mirroring.datastore_at_risk), with the reason and the time), so
    that neither this module nor M(predictive.mirroring.vm_mirror) places a VM on it again, then each VM is moved.
  - Every move is recorded in the history store, intent before and outcome after. One VM's failure does not stop the
    others; the task fails at the end naming each.
  - Idempotent (a datastore with no VM left changes nothing), with check mode and diff.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere
  - predictive.mirroring.lease
  - predictive.mirroring.history
options:
  datastores:
    description:
      - The datastores to empty, by moid (the inventory's C(datastores_at_risk) carries it) or by name. A name that
        several datastores of the vCenter carry (each datacenter may have a C(LocalDS_0)) is refused.
    type: list
    elements: str
    required: true
  why:
    description: The reason per datastore, keyed as in O(datastores) (the inventory's C(datastore_at_risk_why)).
    type: dict
    default: {}
  history_path:
    description: The history store every move is recorded in. It is opened before anything moves.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
"""

EXAMPLES = r"""
- name: Empty the datastores the inventory found at risk
  predictive.mirroring.datastore_evacuate:
    datastores: "{{ groups['datastore_at_risk'] | map('extract', hostvars, 'datastores_at_risk') | flatten
                    | map(attribute='moid') | unique }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
moved:
  description: The VMs moved (or, in check mode, that would be), each with C(vm), C(from) and C(to) (datastore names).
  returned: always
  type: list
  elements: dict
failed:
  description: The VMs that could not be moved, with C(msg).
  returned: always
  type: list
  elements: dict
marked:
  description: The datastores marked at risk by this run.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.hosts import evacuate_storage
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(evacuate_storage, dict(
        datastores=dict(type="list", elements="str", required=True),
        why=dict(type="dict", default={}),
    ), shared=("vsphere", "history", "lease"))


if __name__ == "__main__":
    main()
