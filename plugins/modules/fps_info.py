#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fps_info
short_description: Failure Probability Score, mirroring level and reasons of vSphere VMs
version_added: "0.1.0"
description:
  - Reads each VM's recent performance samples and events from vCenter (or takes the telemetry you give in O(telemetry)),
    scores them with the FPS model and returns the FPS (0-100), the mirroring level it maps to and the top reasons.
  - Each VM read from vCenter is judged against its own normal, learned from vCenter's 300 s and 1800 s historical
    rollups on every call (nothing is cached; the inventory plugin caches them). Telemetry given in O(telemetry) has
    no baseline, and its confidence says so.
  - Read-only; safe in check mode.
  - The model file is unpickled only after its sha256 matches the manifest written beside it by M(predictive.mirroring.fps_train).
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere
  - predictive.mirroring.policy
  - predictive.mirroring.model
  - predictive.mirroring.history
options:
  model_path:
    description:
      - The model file (C(model.joblib)); its manifest C(model.json) must sit beside it.
      - The collection ships a default model in C(models/default/model.joblib); the inventory plugin exposes its path as
        the C(fps_model_path) host variable.
      - C(store:latest) loads the model promoted last in the history store's registry (O(history_dsn) or
        O(history_path)), C(store:<sha256>) a given one; its origin is proven the same way.
    type: path
    required: true
  history_path:
    description: The history store (SQLite file) whose model registry O(model_path=store:latest) reads, when O(history_dsn)
      is not set.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
  names:
    description:
      - VM names (shell-style patterns) to score. Empty scores every VM of the vCenter.
      - Ignored when O(telemetry) is given.
    type: list
    elements: str
    default: []
  samples:
    description: How many 20-second realtime samples make the scoring window.
    type: int
    default: 30
  event_window_hours:
    description: How far back warning and error events are counted.
    type: int
    default: 24
  telemetry:
    description:
      - Score this telemetry instead of reading vCenter. No vCenter connection is made.
    type: list
    elements: dict
    suboptions:
      name:
        description: The VM's name.
        type: str
        required: true
      samples:
        description:
          - 'Performance series per counter, in vSphere units, oldest first, for example
            C({"disk.maxTotalLatency.latest": [3, 4, 9]}).'
        type: dict
        default: {}
      num_cpu:
        description: vCPUs of the VM.
        type: int
        default: 1
      uptime_seconds:
        description: Uptime of the VM.
        type: float
      host_connected:
        description: Whether the VM's host is connected.
        type: bool
        default: true
      host_health:
        description: The host's overall status.
        type: str
        choices: [green, gray, yellow, red]
        default: green
      events:
        description: Event counts in the window, keys C(vm_error), C(vm_warning), C(host_error), C(cluster_error), C(datacenter_error).
        type: dict
        default: {}
      level_current:
        description: The VM's current level, for hysteresis.
        type: str
        choices: [minimal, partial, full]
notes:
  - "Runs on the controller (C(delegate_to: localhost)); it needs pyVmomi, numpy, scikit-learn and joblib there."
"""

EXAMPLES = r"""
- name: Score two VMs
  predictive.mirroring.fps_info:
    hostname: vcenter.example.com
    username: "{{ vcenter_user }}"
    password: "{{ vcenter_password }}"
    model_path: "{{ fps_model_path }}"
    names: [web01, db01]
  delegate_to: localhost
  register: scores

- name: Score telemetry from elsewhere, without vCenter
  predictive.mirroring.fps_info:
    model_path: /opt/models/model.joblib
    telemetry:
      - name: db01
        num_cpu: 4
        samples:
          disk.maxTotalLatency.latest: [30, 45, 60, 90, 120]
  delegate_to: localhost
"""

RETURN = r"""
vms:
  description: One entry per VM scored.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: VM name.
      type: str
    moid:
      description: Managed object id (absent for given telemetry).
      type: str
    fps:
      description: Failure Probability Score, 0-100.
      type: float
    level:
      description: Target mirroring level after hysteresis.
      type: str
    level_band:
      description: The level the FPS maps to without hysteresis.
      type: str
    level_why:
      description: Why that level.
      type: str
    failover:
      description: Whether the FPS is at or above the failover threshold.
      type: bool
    reasons:
      description:
        - Top reasons, each with C(feature), C(value), C(contribution) in FPS points and C(text), the reason in words.
        - The VM's red and yellow vCenter alarms come first (C(feature=vcenter_alarm), contribution 0).
      type: list
      elements: dict
    missing:
      description: Counters that had no samples and were imputed.
      type: list
      elements: str
    confidence:
      description:
        - The share (0-1) of the window's expected samples that arrived, times 0.7 for a VM judged without a baseline
          (given O(telemetry) always is).
      type: float
    telemetry_gap:
      description: Why the telemetry is too thin to act on, or null (read from vCenter only).
      type: str
  sample:
    - name: DC0_C0_RP0_VM0
      moid: vm-87
      fps: 91.3
      level: full
      level_band: full
      failover: true
      reasons:
        - feature: disk_latency_ms_mean
          value: 112.4
          contribution: 52.1
      missing: []
model:
  description: The model used, from its manifest.
  returned: always
  type: dict
  sample:
    path: /opt/models/model.joblib
    sha256: 3f2a...
    created: "2026-11-26T20:00:00+00:00"
    horizon_hours: 6.0
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import LEVELS
from ansible_collections.predictive.mirroring.plugins.module_utils.pipeline import info_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(info_task, dict(
        model_path=dict(type="path", required=True),
        names=dict(type="list", elements="str", default=[]),
        samples=dict(type="int", default=30),
        event_window_hours=dict(type="int", default=24),
        telemetry=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True),
            samples=dict(type="dict", default={}),
            num_cpu=dict(type="int", default=1),
            uptime_seconds=dict(type="float"),
            host_connected=dict(type="bool", default=True),
            host_health=dict(type="str", choices=["green", "gray", "yellow", "red"], default="green"),
            events=dict(type="dict", default={}),
            level_current=dict(type="str", choices=list(LEVELS)),
        )),
    ), shared=("vsphere", "policy", "model", "history"))


if __name__ == "__main__":
    main()
