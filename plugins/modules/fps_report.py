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

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.predictive.mirroring.plugins.module_utils import model, report
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store, store_argument_spec, store_configured


def main():
    module = AnsibleModule(
        argument_spec=dict(
            vms=dict(type="list", elements="dict", required=True),
            plan_totals=dict(type="dict", default={}),
            **store_argument_spec(),
            model_path=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            partial_above=dict(type="float", default=30.0),
            full_above=dict(type="float", default=70.0),
            failover_threshold=dict(type="float", default=85.0),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        vms = []
        for i, vm in enumerate(p["vms"]):
            name = vm.get("vm_name") or vm.get("name")
            level = vm.get("mirroring_level") or vm.get("level")
            if name is None or vm.get("fps") is None or level is None:
                raise MirroringError("vms[%d] needs a name, an fps and a level" % i)
            reasons = vm.get("fps_reasons") or []
            reason = vm.get("reason") or (reasons[0].get("feature") if reasons and isinstance(reasons[0], dict) else None)
            vms.append({"name": name, "fps": float(vm["fps"]), "level": level, "reason": reason})
        manifest = model.manifest_of(p["model_path"], p)
        decisions, failovers = [], []
        if store_configured(p):
            with open_store(p) as h:
                decisions, failovers = h.decisions(), h.failovers()
        files = report.build(vms, p["plan_totals"], decisions, failovers, manifest,
                             {k: p[k] for k in ("partial_above", "full_above", "failover_threshold")})
        changed_files = []
        for name, data in files.items():
            path = os.path.join(p["dest"], name)
            try:
                with open(path, "rb") as f:
                    same = f.read() == data
            except OSError:
                same = False
            if not same:
                changed_files.append(name)
        if changed_files and not module.check_mode:
            os.makedirs(p["dest"], exist_ok=True)
            for name in changed_files:
                tmp = os.path.join(p["dest"], "." + name + ".tmp")
                with open(tmp, "wb") as f:
                    f.write(files[name])
                os.replace(tmp, os.path.join(p["dest"], name))
    except (MirroringError, OSError) as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=bool(changed_files), path=os.path.join(p["dest"], "index.html"), files=sorted(files),
                     diff={"before": {"changed_files": []}, "after": {"changed_files": changed_files}})


if __name__ == "__main__":
    main()
