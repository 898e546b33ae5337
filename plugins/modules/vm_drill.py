#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_drill
short_description: The vSphere side of a failover drill - an isolated copy of a VM's mirror, up and then gone
version_added: "0.1.0"
description:
  - V(present) clones the primary's mirror into a copy named after the mirror with O(suffix), in the mirror's datacenter and
    cluster, its network cards on O(drill_network) (an isolated port group), and powers it on. The copy carries the
    custom attribute C(mirroring.drill_of) so the inventory never scores it and reconcile never mirrors it. The mirror,
    the primary and production are not touched.
  - V(absent) removes the copy and, when O(rto_s) is given, records the drill in the history store (kind C(drill), its
    measured RTO as downtime and its data freshness as data lag).
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere
  - predictive.mirroring.lease
  - predictive.mirroring.history
options:
  name:
    description:
      - The primary VM whose mirror is drilled, by name (for display and records). Give O(uuid) to say which VM; a name
        alone is accepted only when exactly one primary has it.
    type: str
  uuid:
    description: The primary VM's instance UUID (the inventory's C(vm_instance_uuid)).
    type: str
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    required: true
  drill_network:
    description: The network the copy's cards are put on. Default, the mirror's own (then isolate it otherwise).
    type: str
  suffix:
    description: Added to the mirror's name for the copy.
    type: str
    default: -drill
  rto_s:
    description: The RTO the drill measured, for the record.
    type: float
  data_lag_s:
    description: How old the copy's data was, in seconds, for the record.
    type: float
  history_path:
    description:
      - The history store. It is opened before anything changes; the copy's creation and removal are recorded as intent
        before and outcome after.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
"""

EXAMPLES = r"""
- name: An isolated copy of web01's mirror
  predictive.mirroring.vm_drill:
    uuid: "{{ vm_instance_uuid }}"
    name: web01
    state: present
    drill_network: drill-isolated
  delegate_to: localhost
"""

RETURN = r"""
copy:
  description: The copy's name (null when there is none).
  returned: always
  type: str
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.failover import drill
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(drill, dict(
        name=dict(type="str"),
        uuid=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], required=True),
        drill_network=dict(type="str"),
        suffix=dict(type="str", default="-drill"),
        rto_s=dict(type="float"),
        data_lag_s=dict(type="float"),
    ), shared=("vsphere", "history", "lease"), required_one_of=[("name", "uuid")])


if __name__ == "__main__":
    main()
