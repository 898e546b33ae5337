#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: run_metrics
short_description: Record a run in the history store and write the Prometheus metrics of the mirroring state
version_added: "0.3.0"
description:
  - Records the run (its job, start, end and status), the failovers it refused (O(refusals)) and, for a reconcile, each
    VM's state (FPS, level, whether it waits at failover_now, its data lag against its RPO) in the history store.
  - Then writes every metric the store makes (U(https://prometheus.io/docs/instrumenting/exposition_formats/)) to
    O(textfile), a file for node_exporter's textfile collector, atomically - a temp file in the same directory, fsync,
    rename - so it is never read half-written. The exporter (C(extensions/prometheus/exporter.py)) serves the same
    metrics from the store for users without node_exporter. The metrics are listed in C(docs/observability.md).
  - Reports a change only when the metrics differ in more than their times (run duration, last success) and the
    replication lag measured at that time, so a second identical run reports no change.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.history
options:
  job:
    description: The playbook whose run this is.
    type: str
    required: true
    choices: [reconcile, failover, failback, drill, analyse, evacuate]
  status:
    description: How the run ended.
    type: str
    choices: [success, failed]
    default: success
  started:
    description: When the run started, as Unix seconds or an ISO 8601 time with its zone.
    type: str
    required: true
  vms:
    description:
      - The VMs the run scored, as the P(predictive.mirroring.vm_view#filter) filter gives them. Their state replaces
        the state the store holds for them; a VM no run has written for a week is dropped.
    type: list
    elements: dict
    default: []
  plan:
    description: The cost optimizer's plan (the RV(predictive.mirroring.mirror_plan#module:vms) and
      RV(predictive.mirroring.mirror_plan#module:totals) of P(predictive.mirroring.mirror_plan#module)); the planned
      level of each VM and the plan's cost, expected loss and budget.
    type: dict
  failover_now:
    description: Inventory host names of the VMs at failover_now (their FPS is above the failover threshold).
    type: list
    elements: str
    default: []
  refusals:
    description:
      - Failovers the run refused, each with C(inventory_hostname) (or C(vm)), C(reason) (V(blast_radius),
        V(telemetry_gap) or V(preflight)) and C(why); C(vm_instance_uuid) and C(vcenter) when known. The
        P(predictive.mirroring.vm_view#filter) dicts of the inventory's C(failover_refused) group can be given as they
        are (their C(failover_refused_reason) and C(failover_refused_why)).
    type: list
    elements: dict
    default: []
  refusal_repeat_hours:
    description: A refusal of the same VM for the same reason within this many hours is recorded but is not news
      (RV(refusals_new)), so a notification is not repeated at every scheduled run.
    type: float
    default: 4
  rpo_seconds:
    description:
      - The data recovery point objective of a VM whose C(mirroring_rpo_seconds) is not set.
      - A VM's C(mirroring_data_rpo) (seconds by provider, as reconcile sets it for the file data at the VM's level)
        overrides it for that provider.
    type: float
    default: 60
  textfile:
    description:
      - The metrics file to write, ending in C(.prom), in node_exporter's C(--collector.textfile.directory). Not
        written when unset (the run is still recorded).
    type: path
  history_path:
    description: The history store (SQLite file), when O(history_dsn) is not set.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
notes:
  - Supports check mode and diff mode. In check mode nothing is recorded or written; the diff shows how the metrics file
    differs from the metrics the store makes as it is (without this run's records).
"""

EXAMPLES = r"""
- name: Record the run and write the metrics for node_exporter
  predictive.mirroring.run_metrics:
    job: reconcile
    started: "{{ mirroring_run_started }}"
    vms: "{{ groups['all'] | difference(groups['mirrors'] | default([])) | predictive.mirroring.vm_view(hostvars) }}"
    plan: "{{ mirroring_plan }}"
    failover_now: "{{ groups['failover_now'] | default([]) }}"
    textfile: /var/lib/prometheus/node-exporter/predictive_mirroring.prom
"""

RETURN = r"""
textfile:
  description: The metrics file written, or null.
  returned: always
  type: str
series:
  description: How many samples the metrics hold.
  returned: always
  type: int
refusals_new:
  description: The refusals that are news (the same VM was not refused for the same reason within
    O(refusal_repeat_hours)), as given.
  returned: always
  type: list
  elements: dict
rpo_violations:
  description: The VMs whose replicated data is further behind than their RPO (C(vm), C(uuid), C(provider),
    C(lag_seconds), C(rpo_seconds)).
  returned: always
  type: list
  elements: dict
rpo_violations_new:
  description: Those of RV(rpo_violations) that were within their RPO at the VM's previous record (whom to notify).
  returned: always
  type: list
  elements: dict
vms:
  description: How many VM states were recorded.
  returned: always
  type: int
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.metrics import JOBS, record_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(record_task, dict(
        job=dict(type="str", required=True, choices=list(JOBS)),
        status=dict(type="str", default="success", choices=["success", "failed"]),
        started=dict(type="str", required=True),
        vms=dict(type="list", elements="dict", default=[]),
        plan=dict(type="dict"),
        failover_now=dict(type="list", elements="str", default=[]),
        refusals=dict(type="list", elements="dict", default=[]),
        refusal_repeat_hours=dict(type="float", default=4.0),
        rpo_seconds=dict(type="float", default=60.0),
        textfile=dict(type="path"),
    ), shared=("history",))


if __name__ == "__main__":
    main()
