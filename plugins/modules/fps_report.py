#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fps_report
short_description: Write the operator's report - a self-contained HTML page with its plots
version_added: "0.1.0"
description:
  - Writes C(index.html) into O(dest), with every plot embedded, and the plots as PNG files beside it (matplotlib) -
    the FPS distribution with the level bands and the failover threshold, VMs per level, levels over time (from the
    level changes in the history store), the planned monthly cost against the risk it covers (from
    M(predictive.mirroring.mirror_plan)), the model's reliability curve and metrics (from its manifest), and the recent
    failovers with their labels.
  - The same data writes the same bytes, so a second run with nothing new reports no change. Check mode and diff say
    which files would change.
  - C(playbooks/report.yml) runs it on the C(vsphere_fps) inventory.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.history
options:
  vms:
    description: The VMs - C(name), C(fps), C(level), and optionally C(reason) (the top reason).
    type: list
    elements: dict
    required: true
  plan_totals:
    description: The C(totals) of M(predictive.mirroring.mirror_plan).
    type: dict
    default: {}
  history_path:
    description: The history store (level changes and failovers). Missing, the report has none.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
  model_path:
    description:
      - The model whose manifest (beside it, C(.json)) gives the metrics and reliability curve. Not unpickled.
      - C(store:latest) or C(store:<sha256>) reads the manifest from the store's model registry.
    type: path
    required: true
  dest:
    description: The report's directory (created).
    type: path
    required: true
  partial_above:
    description: The top of the minimal band, drawn on the FPS plot.
    type: float
    default: 30
  full_above:
    description: The top of the partial band.
    type: float
    default: 70
  failover_threshold:
    description: The failover threshold.
    type: float
    default: 85
requirements:
  - matplotlib on the controller
"""

EXAMPLES = r"""
- name: The report
  predictive.mirroring.fps_report:
    vms: "{{ groups['all'] | difference(groups['mirrors']) | predictive.mirroring.vm_view(hostvars) }}"
    model_path: "{{ fps_model_path }}"
    dest: /var/www/mirroring
"""

RETURN = r"""
path:
  description: The report's HTML file.
  returned: always
  type: str
files:
  description: The files written (or that would be), by name.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import DEFAULT_FAILOVER_THRESHOLD, DEFAULT_FULL_ABOVE, DEFAULT_PARTIAL_ABOVE
from ansible_collections.predictive.mirroring.plugins.module_utils.report import write_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(write_task, dict(
        vms=dict(type="list", elements="dict", required=True),
        plan_totals=dict(type="dict", default={}),
        model_path=dict(type="path", required=True),
        dest=dict(type="path", required=True),
        partial_above=dict(type="float", default=DEFAULT_PARTIAL_ABOVE),
        full_above=dict(type="float", default=DEFAULT_FULL_ABOVE),
        failover_threshold=dict(type="float", default=DEFAULT_FAILOVER_THRESHOLD),
    ), shared=("history",))


if __name__ == "__main__":
    main()
