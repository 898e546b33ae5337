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

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store, store_argument_spec
from ansible_collections.predictive.mirroring.plugins.module_utils import model
from ansible_collections.predictive.mirroring.plugins.module_utils.model import FPSModel


def main():
    argument_spec = store_argument_spec()
    argument_spec.update(
        register=dict(type="path"),
        promote=dict(type="str"),
        why=dict(type="str"),
        trusted_keys=dict(type="list", elements="path", default=[], no_log=False,
                          fallback=(env_fallback, ["PM_MODEL_TRUSTED_KEYS"])),
        allow_unsigned_model=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    out = {}
    try:
        with open_store(p) as store:
            previous = current = store.current_model_sha()
            registered = False
            if p["register"]:
                loaded = FPSModel.load(p["register"], p["trusted_keys"], p["allow_unsigned_model"])
                out["origin"] = loaded.origin
                if not module.check_mode:
                    registered = model.register(store, p["register"])
                else:
                    registered = not any(m["sha256"] == loaded.manifest["sha256"] for m in store.models())
                out["registered"] = registered
            if p["promote"] == "registered":
                if not p["register"]:
                    raise MirroringError("promote=registered needs register (the model file to register)")
                p["promote"] = loaded.manifest["sha256"]
            if p["promote"] and not (module.check_mode and registered):
                sha = store.find_model(p["promote"])
                loaded = FPSModel.load_from_store(store, sha, p["trusted_keys"], p["allow_unsigned_model"])
                out["origin"] = loaded.origin
                if sha != previous:
                    if not module.check_mode:
                        store.promote_model(sha, p["why"])
                    current = sha
            out.update(previous=previous, current=current, models=store.models())
    except MirroringError as e:
        module.fail_json(msg=str(e))
    if module.check_mode:
        if out.get("registered") and p["promote"] and len(p["promote"]) == 64:  # would register, then promote it
            current = out["current"] = p["promote"]
        for m in out["models"]:
            m["current"] = m["sha256"] == current
    module.exit_json(changed=current != previous or bool(out.get("registered")), diff={"before": {"current": previous}, "after": {"current": current}},
                     **out)


if __name__ == "__main__":
    main()
