#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: failover_analysis
short_description: Post-Failover Analysis - label each failover from what vCenter saw afterwards, tune, ask for retraining
version_added: "0.1.0"
description:
  - For every failover in the history store not labelled yet, reads the primary's power state and the failure events on
    it (or its host) since the failover, and labels it. V(confirmed) - a predictive failover whose primary then failed
    within O(horizon_hours) (a failure event, or it lost power the failover did not take away). V(unconfirmed) - the
    primary did not fail within the horizon; failing over may have prevented it, so it is neither a positive nor a
    negative and is kept out of training. V(missed) - a reactive failover, with no prediction before it.
  - A confirmed failover's feature vector (read when it failed over) becomes a positive training window in the store.
  - Records each failover's downtime as vCenter saw it - none for a confirmed predictive failover (the switch was
    done before the failure), the time from the primary's failure event to the failover for a reactive one - beside
    the data lag the failover measured. Reports precision and recall of predictive failovers, overall and per month.
  - Tunes the failover threshold within O(threshold_bounds) - up a step when precision is below O(target_precision),
    down a step when failures are missed more often than caught - once O(min_labels) failovers are labelled, and keeps it
    in the store, where the C(vsphere_fps) inventory reads it (its C(history_path) or C(history_dsn) option). It moves
    at most one step per run, and only in a run that labelled a failover - a re-run without new evidence changes nothing.
  - Says when enough new labels have arrived to retrain (C(retrain)); C(playbooks/analyse.yml) then runs
    M(predictive.mirroring.fps_train) and calls this again with O(mark_trained).
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere
  - predictive.mirroring.history
options:
  history_path:
    description: The history store.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
  horizon_hours:
    description: How long after a failover a failure of the primary still confirms it (the model's horizon).
    type: float
    default: 12
  failover_threshold:
    description: The failover threshold in use when the store holds no tuned one.
    type: float
    default: 85
  full_above:
    description: The top of the partial band; the threshold stays above it.
    type: float
    default: 70
  threshold_bounds:
    description: The lowest and highest failover threshold the tuning may set.
    type: list
    elements: float
    default: [75, 95]
  target_precision:
    description: The share of predictive failovers that should be confirmed.
    type: float
    default: 0.5
  min_labels:
    description: Labelled failovers needed before the threshold is tuned.
    type: int
    default: 5
  retrain_min_labels:
    description: New confirmed failovers (since the last retraining) that call for retraining.
    type: int
    default: 20
  mark_trained:
    description: Record that the model was retrained now (the new labels are used).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Label the failovers and tune
  predictive.mirroring.failover_analysis:
    history_path: /var/lib/mirroring/history.sqlite
  register: analysis
"""

RETURN = r"""
failovers:
  description: Every recorded failover with its label (outcome), evidence, downtime and data lag.
  returned: always
  type: list
  elements: dict
labelled_now:
  description: Failovers labelled by this run.
  returned: always
  type: list
  elements: dict
metrics:
  description: confirmed, unconfirmed, missed, pending, precision, recall over every failover.
  returned: always
  type: dict
by_month:
  description: The same per month.
  returned: always
  type: list
  elements: dict
failover_threshold:
  description: The failover threshold after the run, and why (threshold_why).
  returned: always
  type: float
retrain:
  description: Whether enough new labels have arrived to retrain; new_labels says how many.
  returned: always
  type: bool
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.predictive.mirroring.plugins.module_utils import failover, pipeline, telemetry, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store, store_argument_spec
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import parse_time
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import VSphere, connection_argument_spec, connection_params


def observe(p, pending):
    """The primaries' rows and the failure events from a horizon before the oldest pending failover, from vCenter."""
    with VSphere(**connection_params(p)) as vs:
        vms = {vm["name"]: vm for vm in vs.virtual_machines()}
        since = min(parse_time(f["at"]) for f in pending) - datetime.timedelta(hours=p["horizon_hours"])
        events = vs.events(begin_time=since, event_types=sorted(pipeline.FAILURE_EVENTS))
        return vms, events, vs.name


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(store_argument_spec())
    argument_spec.update(
        horizon_hours=dict(type="float", default=12.0),
        failover_threshold=dict(type="float", default=85.0),
        full_above=dict(type="float", default=70.0),
        threshold_bounds=dict(type="list", elements="float", default=[75.0, 95.0]),
        target_precision=dict(type="float", default=0.5),
        min_labels=dict(type="int", default=5),
        retrain_min_labels=dict(type="int", default=20),
        mark_trained=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    low, high = (p["threshold_bounds"] + [None, None])[:2]
    if low is None or high is None or not p["full_above"] < low <= high <= 100:
        module.fail_json(msg="threshold_bounds must be [low, high] with full_above (%s) < low <= high <= 100, got %s"
                         % (p["full_above"], p["threshold_bounds"]))
    changed = False
    labelled_now = []
    try:
        with open_store(p) as h:
            records = h.failovers()
            pending = [f for f in records if f["outcome"] is None and f["kind"] != "drill"]
            if pending:
                vms, events, vcenter = observe(p, pending)
                now = vsphere.now()
                for f in pending:
                    vm = vms.get(f["vm"])
                    outcome, evidence = failover.label(f, vm, events, p["horizon_hours"], now)
                    if outcome is None:
                        continue
                    labelled_now.append({"id": f["id"], "vm": f["vm"], "kind": f["kind"], "outcome": outcome,
                                         "evidence": evidence})
                    changed = True
                    if module.check_mode:
                        continue
                    stamp = now.replace(microsecond=0).isoformat()
                    fields = {"outcome": outcome, "labelled_at": stamp, "label_evidence": evidence}
                    if f["downtime_s"] is None:
                        fields["downtime_s"] = failover.downtime(f, outcome, vm, events, p["horizon_hours"])
                    h.update_failover(f["id"], **fields)
                    if outcome == "confirmed" and f["features"] and list(f["features"]) == list(telemetry.FEATURE_NAMES):
                        h.add_windows([{"vcenter": f["vcenter"] or vcenter, "vm": vm["moid"] if vm else f["vm"],
                                        "vm_name": f["vm"], "window_end": f["at"], "features": list(f["features"].values()),
                                        "label": 1, "time_to_failure_h": evidence.get("lead_hours"),
                                        "failure_event": evidence.get("event"), "source": "failover"}],
                                      telemetry.FEATURE_NAMES)
                records = h.failovers() if not module.check_mode else [
                    dict(f, outcome=next((x["outcome"] for x in labelled_now if x["id"] == f["id"]), f["outcome"]))
                    for f in records]
            overall, by_month = failover.metrics(records)
            current = h.tuning("failover_threshold", p["failover_threshold"])
            if labelled_now and not p["mark_trained"]:
                threshold, why = failover.tune_threshold(current, overall, p["target_precision"], p["min_labels"],
                                                         (low, high))
            else:  # tuned once per new evidence: a re-run, or the mark_trained call, moves nothing
                threshold, why = current, "unchanged: no failover was labelled in this run"
            if threshold != current:
                changed = True
                if not module.check_mode:
                    h.set_tuning("failover_threshold", threshold, why)
            trained_at = h.tuning("trained_at")
            new_labels = sum(1 for f in records if f["outcome"] == "confirmed"
                             and (trained_at is None or (f["labelled_at"] or "9999") > trained_at))
            if p["mark_trained"]:
                changed = True
                if not module.check_mode:
                    h.set_tuning("trained_at", vsphere.now().replace(microsecond=0).isoformat(), "fps_train")
                new_labels = 0
    except MirroringError as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=changed, failovers=records, labelled_now=labelled_now, metrics=overall, by_month=by_month,
                     failover_threshold=threshold, threshold_was=current, threshold_why=why,
                     retrain=new_labels >= p["retrain_min_labels"], new_labels=new_labels)


if __name__ == "__main__":
    main()
