# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The vCenter lease (one writer at a time) of every module that writes to vCenter.
    DOCUMENTATION = r"""
options:
  lease_owner:
    description:
      - The owner token of the vCenter lease the playbook holds (M(predictive.mirroring.vcenter_lease), the C(lease) role);
        it is read before each VM's (or host's) changes, and a lease that is not this owner's (taken over, or released by
        force) stops the module there; it is written again every third of O(lease_ttl).
      - Unset, the module takes the lease itself for its own run, waiting up to O(lease_wait) seconds for another run.
      - Not used in check mode, which writes nothing.
    type: str
  lease_ttl:
    description:
      - Seconds the lease lasts without renewal. A module that takes the lease itself renews it from a thread every
        third of this while it works, also during a long clone, and gives it back when it ends.
    type: int
    default: 90
  lease_wait:
    description: Seconds to wait for another run's lease before failing with its owner's name.
    type: int
    default: 300
"""
