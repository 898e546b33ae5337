# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # How a model's origin is proven before it is unpickled (a joblib file is code).
    DOCUMENTATION = r"""
options:
  trusted_keys:
    description:
      - Ed25519 public keys (PEM files, or directories of C(*.pub)/C(*.pem) files) whose signature on a model's manifest
        (C(model.sig), written by M(predictive.mirroring.fps_train) with its C(signing_key)) proves the model's origin.
      - The model that ships with the collection needs none, its manifest's sha256 is pinned in the collection's code.
      - Any other model is refused before a byte of it is unpickled unless it is signed by one of these keys.
      - Falls back to E(PM_MODEL_TRUSTED_KEYS) (comma-separated).
    type: list
    elements: path
    default: []
  allow_unsigned_model:
    description:
      - UNSAFE. Load a model whose origin is not proven (unsigned, or signed by an untrusted key). A model file is a pickle, so
        whoever can write it runs code as this controller's user. Only for a lab; a warning says so on every load.
    type: bool
    default: false
"""

    PLUGIN = r"""
options:
  trusted_keys:
    description:
      - Ed25519 public keys (PEM files, or directories of C(*.pub)/C(*.pem) files) whose signature on a model's manifest
        (C(model.sig), written by M(predictive.mirroring.fps_train) with its C(signing_key)) proves the model's origin.
      - The model that ships with the collection needs none, its manifest's sha256 is pinned in the collection's code.
      - Any other model is refused before a byte of it is unpickled unless it is signed by one of these keys.
    type: list
    elements: path
    default: []
    env:
      - name: PM_MODEL_TRUSTED_KEYS
  allow_unsigned_model:
    description:
      - UNSAFE. Load a model whose origin is not proven. A model file is a pickle, so whoever can write it runs code as this
        controller's user. Only for a lab; a warning says so on every run.
    type: raw
    default: false
"""
