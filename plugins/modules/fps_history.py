#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fps_history
short_description: Harvest labelled telemetry windows from vCenter into the history store
version_added: "0.1.0"
description:
  - Reads each VM's historical performance samples (5-minute statistics by default) and vCenter's events for the last
    O(hours), cuts them into windows, computes the model's features for each window and labels it with whether the VM
    failed within O(horizon_hours) after it.
  - A failure is one of O(failure_events) on the VM, or, for the host-level types C(HostConnectionLostEvent) and
    C(DasHostFailedEvent), on its host.
  - Only windows whose whole horizon has passed are stored. A window already stored is left as it is, so a re-run
    adds only new windows and reports no change when there are none.
  - Feed the store to M(predictive.mirroring.fps_train) to retrain the model on your own fleet's history.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere
  - predictive.mirroring.history
options:
  history_path:
    description: The history store (SQLite file); created when missing.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
  names:
    description: VM names (shell-style patterns); empty harvests every VM.
    type: list
    elements: str
    default: []
  hours:
    description: How far back to read.
    type: int
    default: 168
  interval:
    description: The statistics interval in seconds (300 is vCenter's 5-minute historical level).
    type: int
    default: 300
  window_samples:
    description: Samples per window.
    type: int
    default: 6
  horizon_hours:
    description: A window is labelled a failure when one follows within this many hours.
    type: float
    default: 12.0
  failure_events:
    description: vSphere event types that mark a failure.
    type: list
    elements: str
    default: [VmGuestOSCrashedEvent, VmDasBeingResetEvent, VmDasBeingResetWithScreenshotEvent, VmFailoverFailed,
              VmOrphanedEvent, HostConnectionLostEvent, DasHostFailedEvent]
notes:
  - In check mode the windows are computed and counted but not written.
"""

EXAMPLES = r"""
- name: Harvest a week of history from vCenter
  predictive.mirroring.fps_history:
    hostname: vcenter.example.com
    username: "{{ vcenter_user }}"
    password: "{{ vcenter_password }}"
    history_path: /var/lib/predictive-mirroring/history.sqlite
    hours: 168
  delegate_to: localhost
"""

RETURN = r"""
windows:
  description: Windows computed from vCenter in this run.
  returned: always
  type: int
  sample: 1344
positives:
  description: Of those, the ones followed by a failure.
  returned: always
  type: int
  sample: 12
added:
  description: Windows newly written to the store (0 in check mode).
  returned: always
  type: int
  sample: 96
store:
  description: Totals in the store after the run.
  returned: always
  type: dict
  sample: {windows: 5000, positives: 40}
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.predictive.mirroring.plugins.module_utils import telemetry
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store, store_argument_spec, store_configured
from ansible_collections.predictive.mirroring.plugins.module_utils.pipeline import FAILURE_EVENTS, harvest_windows, select_vms
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import VSphere, connection_argument_spec, connection_params


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(store_argument_spec())
    argument_spec.update(
        names=dict(type="list", elements="str", default=[]),
        hours=dict(type="int", default=168),
        interval=dict(type="int", default=300),
        window_samples=dict(type="int", default=6),
        horizon_hours=dict(type="float", default=12.0),
        failure_events=dict(type="list", elements="str", default=list(FAILURE_EVENTS)),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    try:
        if p["hours"] < 1 or p["window_samples"] < 3 or p["interval"] < 20 or p["horizon_hours"] <= 0:
            raise MirroringError("hours must be >= 1, window_samples >= 3, interval >= 20 and horizon_hours > 0")
        with VSphere(**connection_params(p)) as vs:
            vms = select_vms(vs.virtual_machines(), names=p["names"])
            rows = harvest_windows(vs, vms, hours=p["hours"], window_samples=p["window_samples"],
                                   horizon_hours=p["horizon_hours"], interval=p["interval"],
                                   failure_events=tuple(p["failure_events"]))
        added, new = 0, len(rows)
        if module.check_mode and not store_configured(p):
            totals = {"windows": 0, "positives": 0}  # check mode creates no store
        else:
            with open_store(p) as store:
                if module.check_mode:
                    new = store.count_new(rows)
                else:
                    added = new = store.add_windows(rows, telemetry.FEATURE_NAMES)
                totals = store.count_windows()
    except MirroringError as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=new > 0, windows=len(rows), positives=sum(r["label"] for r in rows), added=added, store=totals)


if __name__ == "__main__":
    main()
