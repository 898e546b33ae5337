#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_failover
short_description: The vSphere side of a failover and failback - preflight, quarantine of the primary, release
version_added: "0.1.0"
description:
  - V(preflight) reads the primary and its mirror and fails, changing nothing, when there is no mirror to fail over to,
    or (with O(image_rpo_seconds)) when the mirror's image is older than that RPO or of unknown age.
  - V(quarantined) marks the failed-over primary (custom attribute C(mirroring.quarantined) = the time), optionally powers it
    off, and records the failover in the history store with its FPS, reasons and the primary's feature vector read from
    vCenter at that moment (the Post-Failover Analysis labels it later). A primary already quarantined is left as it is.
  - V(powered_on) powers the quarantined primary on for failback, and keeps it quarantined.
  - V(released) clears the quarantine after failback and records the failback time on the failover.
  - V(intent) writes the failover's intent to the history store before the first act (traffic, data, vSphere) and
    returns its O(action_id); V(aborted) records that a step failed, with O(error); V(quarantined) with O(action_id)
    records it done. A fault at any step of a failover so leaves a record; re-running the failover completes it.
  - C(reconcile.yml) leaves quarantined primaries alone; the C(failover) and C(failback) roles call this module.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere
  - predictive.mirroring.lease
  - predictive.mirroring.history
options:
  name:
    description:
      - The primary VM's name, for display and the records. Give O(uuid) to say which VM; a name alone is accepted only
        when exactly one primary has it.
    type: str
  uuid:
    description: The primary VM's instance UUID (the inventory's C(vm_instance_uuid)).
    type: str
  state:
    description: What to do.
    type: str
    choices: [preflight, intent, quarantined, aborted, powered_on, released]
    required: true
  action_id:
    description: The id V(intent) returned, closed by V(quarantined) (done) or V(aborted) (failed).
    type: int
  error:
    description: What failed, for V(aborted).
    type: str
  kind:
    description: V(predictive) (before the primary fails) or V(reactive) (after). For V(quarantined).
    type: str
    choices: [predictive, reactive]
    default: predictive
  power_off:
    description: Power the primary off when it is quarantined.
    type: bool
    default: false
  fps:
    description: The FPS that decided the failover.
    type: float
  reasons:
    description: The FPS's reasons, as the inventory gives them.
    type: list
    elements: raw
    default: []
  follows:
    description:
      - The VM whose predicted failure moves this one (a member of its application, added by
        M(predictive.mirroring.failover_plan)). Recorded with the failover; the analysis labels the application's failover
        once, by that VM, and counts this one neither for nor against the prediction.
    type: str
  downtime_s:
    description: Seconds the service was not served, as the failover measured it.
    type: float
  data_lag_bytes:
    description: The replica's lag in bytes when it was promoted.
    type: int
  data_lag_s:
    description: The replica's lag in seconds when it was promoted.
    type: float
  image_rpo_seconds:
    description:
      - With O(state=preflight), refuse the failover when the mirror's image (its C(mirroring.synced_at)) is older than this
        many seconds, or of unknown age, naming its age. The VM's own image RPO; it overrides O(image_rpo_per_level).
      - Leave it and O(image_rpo_per_level) out to skip the check (a forced failover).
    type: int
  image_rpo_per_level:
    description:
      - With O(state=preflight), the image RPO per level (C(partial), C(full); 86400 each unless given) as reconcile
        holds it; the check uses the primary's current level (C(mirroring.level); C(full) when unset).
    type: dict
    version_added: "0.4.0"
  history_path:
    description:
      - The history store the failover is recorded in. It is opened before anything is changed, the intent is written
        before the act and the outcome after; a store that cannot be opened stops the module with nothing changed.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
"""

EXAMPLES = r"""
- name: Quarantine the primary and record the failover
  predictive.mirroring.vm_failover:
    uuid: "{{ vm_instance_uuid }}"
    name: web01
    state: quarantined
    fps: "{{ fps }}"
    reasons: "{{ fps_reasons }}"
  delegate_to: localhost
"""

RETURN = r"""
primary:
  description: The primary after the run (name, power_state, host, cluster, datacenter, quarantined, level).
  returned: always
  type: dict
mirror:
  description: Its mirror (same keys), or null.
  returned: always
  type: dict
failover_id:
  description: The failover's id in the history store.
  returned: when state is quarantined or released
  type: int
action_id:
  description: The id of the intent record V(intent) wrote.
  returned: when state is intent
  type: int
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.failover import failover_step
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(failover_step, dict(
        name=dict(type="str"),
        uuid=dict(type="str"),
        state=dict(type="str", choices=["preflight", "intent", "quarantined", "aborted", "powered_on", "released"],
                   required=True),
        action_id=dict(type="int"),
        error=dict(type="str"),
        kind=dict(type="str", choices=["predictive", "reactive"], default="predictive"),
        power_off=dict(type="bool", default=False),
        fps=dict(type="float"),
        reasons=dict(type="list", elements="raw", default=[]),
        follows=dict(type="str"),
        downtime_s=dict(type="float"),
        data_lag_bytes=dict(type="int"),
        data_lag_s=dict(type="float"),
        image_rpo_seconds=dict(type="int"),
        image_rpo_per_level=dict(type="dict"),
    ), shared=("vsphere", "history", "lease"),
        required_one_of=[("name", "uuid")], required_if=[("state", "aborted", ("action_id",))])


if __name__ == "__main__":
    main()
