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
      description: Top reasons, each with C(feature), C(value), C(contribution) in FPS points and C(text), the reason in words.
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

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.predictive.mirroring.plugins.module_utils import telemetry
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import store_argument_spec
from ansible_collections.predictive.mirroring.plugins.module_utils.model import load_ref
from ansible_collections.predictive.mirroring.plugins.module_utils.baseline import BaselineCache, confidence_factor
from ansible_collections.predictive.mirroring.plugins.module_utils.pipeline import (
    NO_BASELINE_CONFIDENCE, collect, refresh_baselines, score, select_vms)
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import policy_argument_spec, policy_from_params
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import VSphere, connection_argument_spec, connection_params


def score_telemetry(entries, model, policy):
    """Score given telemetry rows without vCenter."""
    n = len(entries)
    length = max([len(v) for e in entries for v in (e.get("samples") or {}).values()] + [1])
    raw = {
        "interval": 20,
        "samples": {c: telemetry.pad_series([(e.get("samples") or {}).get(c) or [] for e in entries], length)
                    for c in telemetry.COUNTERS},
        "num_cpu": [e.get("num_cpu") or 1 for e in entries],
        "uptime_seconds": [e["uptime_seconds"] if e.get("uptime_seconds") is not None else float("nan") for e in entries],
        "host_connected": [1.0 if e.get("host_connected", True) else 0.0 for e in entries],
        "host_health": [telemetry.HEALTH[e.get("host_health") or "green"] for e in entries],
        "events": {k: [float((e.get("events") or {}).get(k, 0)) for e in entries] for k in telemetry.EVENT_KEYS},
    }
    unknown = sorted({c for e in entries for c in (e.get("samples") or {}) if c not in telemetry.COUNTERS})
    if unknown:
        raise MirroringError("Unknown counters in telemetry: %s (known: %s)" % (", ".join(unknown), ", ".join(telemetry.COUNTERS)))
    X, missing = telemetry.features(raw)
    # no baseline comes with given telemetry: the confidence says so
    confidence = telemetry.coverage(raw) * confidence_factor([0.0] * n, NO_BASELINE_CONFIDENCE)
    fps = model.score(X)
    reasons = model.reasons(X, fps)
    out = []
    for i in range(n):
        level, _since, why = policy.decide(float(fps[i]), entries[i].get("level_current"))
        out.append({"name": entries[i]["name"], "fps": float(fps[i]), "level": level, "level_band": policy.band(fps[i]),
                    "level_why": why, "failover": bool(fps[i] >= policy.failover_threshold), "reasons": reasons[i],
                    "missing": missing[i], "confidence": round(float(confidence[i]), 2)})
    return out


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(policy_argument_spec())
    argument_spec.update(
        model_path=dict(type="path", required=True),
        **store_argument_spec(),
        # public keys: nothing secret
        trusted_keys=dict(type="list", elements="path", default=[], no_log=False,
                          fallback=(env_fallback, ["PM_MODEL_TRUSTED_KEYS"])),
        allow_unsigned_model=dict(type="bool", default=False),
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
            level_current=dict(type="str", choices=["minimal", "partial", "full"]),
        )),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    try:
        if p["samples"] < 3 or p["event_window_hours"] < 1:
            raise MirroringError("samples must be >= 3 and event_window_hours >= 1")
        policy = policy_from_params(p)
        model = load_ref(p["model_path"], p, trusted_keys=p["trusted_keys"], allow_unsigned=p["allow_unsigned_model"])
        if p["allow_unsigned_model"] and model.origin.startswith("origin not proven"):
            module.warn("Model %s: %s" % (p["model_path"], model.origin))
        if p["telemetry"] is not None:
            vms = score_telemetry(p["telemetry"], model, policy)
        else:
            with VSphere(**connection_params(p)) as vs:
                rows = select_vms(vs.virtual_machines(), names=p["names"])
                perf, events = collect(vs, rows, samples=p["samples"], event_window_hours=p["event_window_hours"])
                # read-only: the baselines are learned afresh from the rollups, nothing is cached
                learned = refresh_baselines(vs, rows, BaselineCache(None))[0]
                results = score(rows, perf, events, model, policy, samples=p["samples"],
                                event_window_hours=p["event_window_hours"], baselines_by_moid=learned)
            vms = [{"name": r["vm"]["name"], "moid": r["vm"]["moid"], "fps": r["fps"], "level": r["level"],
                    "level_band": policy.band(r["fps"]), "level_why": r["level_why"],
                    "failover": r["fps"] >= policy.failover_threshold, "reasons": r["fps_reasons"],
                    "missing": r["fps_missing"], "confidence": r["fps_confidence"],
                    "telemetry_gap": r["telemetry_gap"]} for r in results]
    except MirroringError as e:
        module.fail_json(msg=str(e))
    m = model.manifest
    module.exit_json(changed=False, vms=vms, model={"path": model.path, "sha256": m["sha256"], "created": m.get("created"),
                                                    "horizon_hours": m.get("horizon_hours")})


if __name__ == "__main__":
    main()
