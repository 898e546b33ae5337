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

from ansible_collections.predictive.mirroring.plugins.module_utils.analysis import harvest
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import FAILURE_EVENTS
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(harvest, dict(
        names=dict(type="list", elements="str", default=[]),
        hours=dict(type="int", default=168),
        interval=dict(type="int", default=300),
        window_samples=dict(type="int", default=6),
        horizon_hours=dict(type="float", default=12.0),
        failure_events=dict(type="list", elements="str", default=list(FAILURE_EVENTS)),
    ), shared=("vsphere", "history"))


if __name__ == "__main__":
    main()
