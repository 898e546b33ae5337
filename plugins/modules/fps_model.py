#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fps_model
short_description: The model registry in the history store - list the models, promote one, roll back
version_added: "0.3.0"
description:
  - Models that M(predictive.mirroring.fps_train) registered (O(predictive.mirroring.fps_train#module:register=true)) wait
    in the store's registry until promoted. The model promoted last is the one the inventory loads with
    C(model_path=store:latest), so every job on every controller that shares the store scores with it.
  - Promotion is explicit. The model is loaded exactly as a scoring run would load it before it is promoted - its origin
    proven (the bundled manifest, or a signature by one of O(trusted_keys)), its bytes matched against its manifest, its
    scikit-learn version and features checked, a VM scored - so a model that could not be used is never promoted.
  - Every registered model is kept. Rolling back is promoting the previous one again (its sha256 is in RV(models)).
  - Without O(promote), lists the registry and changes nothing.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.history
  - predictive.mirroring.model
options:
  history_path:
    description: The history store (SQLite file), when O(history_dsn) is not set.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
  register:
    description:
      - A model file (its manifest and signature beside it) to add to the registry first - the bundled model
        (C(models/default/model.joblib)) to seed a new store, or one trained elsewhere. It is loaded (its origin proven)
        before it is registered. Registered is not promoted - add O(promote).
    type: path
  promote:
    description:
      - The model to make current - its sha256 (or a unique prefix of at least 8 hex digits), V(newest) for the one
        registered last, or V(registered) for the one O(register) names.
      - Already current, nothing changes.
    type: str
  why:
    description: Why it is promoted (kept in the registry beside the promotion).
    type: str
notes:
  - Supports check mode and diff (the current model before and after).
"""

EXAMPLES = r"""
- name: Promote the model the analysis just trained, once its hold-out metrics are good enough
  predictive.mirroring.fps_model:
    promote: "{{ retrained.sha256 }}"
    why: "precision {{ retrained.metrics.precision_at_failover }} on the hold-out"
    trusted_keys: [/etc/predictive-mirroring/model-signing.pub]
  when: retrained.metrics.precision_at_failover >= 0.8

- name: Roll back to the model in use before
  predictive.mirroring.fps_model:
    promote: 4908504a
    why: the new model pages too often
"""

RETURN = r"""
current:
  description: The sha256 of the model in use (promoted last) after the run, or null when none is promoted.
  returned: always
  type: str
previous:
  description: The sha256 of the model in use before the run.
  returned: always
  type: str
models:
  description: The registry, newest registration first (no artefacts).
  returned: always
  type: list
  elements: dict
  sample:
    - sha256: 4908504a...
      registered_at: "2026-11-28T10:00:00+00:00"
      created: "2026-11-28T09:59:12+00:00"
      fingerprint: 8c1d...
      promoted_at: "2026-11-28T10:05:00.000000+00:00"
      promoted_why: hold-out precision 0.89
      signed: true
      current: true
origin:
  description: How the promoted (or registered) model's origin was proven.
  returned: when O(promote) or O(register) is set
  type: str
registered:
  description: Whether O(register) added a model the registry did not hold.
  returned: when O(register) is set
  type: bool
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.training import registry_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(registry_task, dict(
        register=dict(type="path"),
        promote=dict(type="str"),
        why=dict(type="str"),
    ), shared=("history", "model"))


if __name__ == "__main__":
    main()
