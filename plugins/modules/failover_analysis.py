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

from ansible_collections.predictive.mirroring.plugins.module_utils.analysis import THRESHOLD_BOUNDS, analyse
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import DEFAULT_FAILOVER_THRESHOLD, DEFAULT_FULL_ABOVE
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(analyse, dict(
        horizon_hours=dict(type="float", default=12.0),
        failover_threshold=dict(type="float", default=DEFAULT_FAILOVER_THRESHOLD),
        full_above=dict(type="float", default=DEFAULT_FULL_ABOVE),
        threshold_bounds=dict(type="list", elements="float", default=list(THRESHOLD_BOUNDS)),
        target_precision=dict(type="float", default=0.5),
        min_labels=dict(type="int", default=5),
        retrain_min_labels=dict(type="int", default=20),
        mark_trained=dict(type="bool", default=False),
    ), shared=("vsphere", "history"))


if __name__ == "__main__":
    main()
