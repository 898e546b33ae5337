# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # FPS -> level policy options, shared by the modules and the inventory plugin.
    DOCUMENTATION = r"""
options:
  partial_above:
    description:
      - An FPS above this is at least the V(partial) level (30.0 is minimal, 30.1 partial).
    type: float
    default: 30.0
  full_above:
    description:
      - An FPS above this is the V(full) level.
    type: float
    default: 70.0
  failover_threshold:
    description:
      - An FPS at or above this puts the VM in C(failover_now). Must be above O(full_above).
    type: float
    default: 85.0
  hysteresis_margin:
    description:
      - A level steps down only once the FPS is this many points below the level's lower bound.
    type: float
    default: 5.0
  min_dwell_minutes:
    description:
      - ...and has stayed there this long. Raising a level is immediate.
    type: int
    default: 60
  max_failovers:
    description:
      - Blast-radius limit. More VMs than this above the failover threshold in one run is treated as bad telemetry
        and no VM fails over.
    type: int
    default: 2
  max_failover_cluster_pct:
    description:
      - Blast-radius limit per cluster. More than this share of a cluster's VMs above the failover threshold refuses
        every failover of the run.
    type: float
    default: 25.0
"""
