#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fps_train
short_description: Train the FPS model on the history store or the bootstrap set
version_added: "0.1.0"
description:
  - Trains a calibrated scikit-learn classifier (gradient boosting with isotonic calibration) that gives the probability a VM
    fails within the horizon, evaluates it on a time-ordered hold-out (the latest windows), and writes C(model.joblib)
    with its manifest C(model.json) (sha256 of the joblib file, feature names and order, scikit-learn version, training
    data summary, ROC-AUC, PR-AUC, Brier score, expected calibration error, precision and recall at the failover
    threshold, median lead time), and C(model.trees), the fitted trees and calibrators as plain NumPy arrays that give
    exactly the estimator's probabilities (checked before they are written; their sha256 is in the manifest), which
    scoring uses without importing scikit-learn.
  - Refuses a data set with too few failures to learn from.
  - Idempotent. The same data and parameters give the same fingerprint, and a model that already carries it is left
    as it is.
  - In check mode the data is read and fingerprinted but nothing is trained or written.
author:
  - predictive.mirroring developers (@predictive-mirroring)
options:
  model_path:
    description:
      - Where to write the model file. The manifest goes beside it with a C(.json) suffix, the signature with C(.sig).
      - Required unless O(register=true), which can train into a private temporary directory and keep the model only in
        the store (an AWX job has no disk the next job sees).
    type: path
  register:
    description:
      - Also write the model (its joblib file, its manifest and its signature) into the model registry of the history
        store (O(history_dsn) or O(history_path)), where M(predictive.mirroring.fps_model) promotes it and the inventory
        loads the promoted one with C(model_path=store:latest).
      - A registered model is not used until it is promoted. The same data fingerprint already in the registry is not
        trained again (unless O(force=true)).
    type: bool
    default: false
  source:
    description:
      - V(history) trains on the labelled windows in the history store (see M(predictive.mirroring.fps_history)).
      - V(bootstrap) trains on windows drawn from the collection's documented failure process (C(fleet.py)).
    type: str
    choices: [history, bootstrap]
    default: history
  history_path:
    description: The history store (SQLite file), when O(history_dsn) is not set.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
  bootstrap:
    description: Parameters of the bootstrap set when O(source=bootstrap).
    type: dict
    default: {}
    suboptions:
      seed:
        description: Random seed; the same seed gives the same set.
        type: int
        default: 20261126
      vms:
        description: Simulated VMs.
        type: int
        default: 2000
      days:
        description: Simulated days.
        type: int
        default: 30
      windows:
        description: Windows sampled uniformly from the simulated fleet-time.
        type: int
        default: 120000
      horizon_hours:
        description: A window is positive when its VM fails within this many hours after it.
        type: float
        default: 12.0
  failover_threshold:
    description: FPS at which precision and recall are reported in the manifest.
    type: float
    default: 85.0
  holdout:
    description: Fraction of the latest windows held out for evaluation.
    type: float
    default: 0.25
  min_positives:
    description: Refuse to train with fewer failure windows than this.
    type: int
    default: 50
  force:
    description: Train and write even when the model already carries this data's fingerprint.
    type: bool
    default: false
  signing_key:
    description:
      - An Ed25519 private key (unencrypted PEM; C(openssl genpkey -algorithm ed25519 -out model-signing.pem)) that signs the
        new model's manifest (C(model.sig) beside it). The inventory and M(predictive.mirroring.fps_info) load a model only
        when its signature is by a key in their C(trusted_keys), the public half
        (C(openssl pkey -in model-signing.pem -pubout -out model-signing.pub)).
      - Keep the private key readable only by the training job. Falls back to E(PM_MODEL_SIGNING_KEY).
      - Unset, the model is written unsigned and is refused by the inventory until signed.
    type: path
extends_documentation_fragment:
  - predictive.mirroring.history
notes:
  - Runs on the controller; it needs numpy, scikit-learn and joblib there.
"""

EXAMPLES = r"""
- name: Retrain on this vCenter's harvested history
  predictive.mirroring.fps_train:
    model_path: /var/lib/predictive-mirroring/model.joblib
    history_path: /var/lib/predictive-mirroring/history.sqlite
  delegate_to: localhost
  register: trained

- name: Retrain from the PostgreSQL store and register the model there (AWX; PM_HISTORY_DSN from a credential)
  predictive.mirroring.fps_train:
    source: history
    register: true
    signing_key: /run/secrets/model-signing.pem
  register: trained

- name: Rebuild the bootstrap model with this controller's scikit-learn
  predictive.mirroring.fps_train:
    model_path: /var/lib/predictive-mirroring/model.joblib
    source: bootstrap
  delegate_to: localhost
"""

RETURN = r"""
metrics:
  description: Hold-out metrics (also in the manifest).
  returned: when trained or already up to date
  type: dict
  sample:
    roc_auc: 0.9
    pr_auc: 0.47
    brier: 0.0066
    ece: 0.001
    precision_at_failover: 0.8
    recall_at_failover: 0.05
    median_lead_time_hours: 1.2
training:
  description: Summary of the training data.
  returned: always
  type: dict
  sample:
    source: history
    windows: 12000
    positives: 140
sha256:
  description: sha256 of the model file.
  returned: when trained or already up to date
  type: str
fingerprint:
  description: Fingerprint of the training data and parameters.
  returned: always
  type: str
signed:
  description: Whether the model's manifest carries a signature by O(signing_key).
  returned: when trained or already up to date
  type: bool
registered:
  description: Whether this run added the model to the store's registry (V(false) when it was there already).
  returned: when O(register=true)
  type: bool
"""

from ansible.module_utils.basic import env_fallback

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import DEFAULT_FAILOVER_THRESHOLD
from ansible_collections.predictive.mirroring.plugins.module_utils.training import train_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(train_task, dict(
        model_path=dict(type="path"),
        register=dict(type="bool", default=False),
        source=dict(type="str", choices=["history", "bootstrap"], default="history"),
        bootstrap=dict(type="dict", default={}, options=dict(
            seed=dict(type="int", default=20261126),
            vms=dict(type="int", default=2000),
            days=dict(type="int", default=30),
            windows=dict(type="int", default=120000),
            horizon_hours=dict(type="float", default=12.0),
        )),
        failover_threshold=dict(type="float", default=DEFAULT_FAILOVER_THRESHOLD),
        holdout=dict(type="float", default=0.25),
        min_positives=dict(type="int", default=50),
        force=dict(type="bool", default=False),
        signing_key=dict(type="path", no_log=False, fallback=(env_fallback, ["PM_MODEL_SIGNING_KEY"])),
    ), shared=("history",))


if __name__ == "__main__":
    main()
