# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's constants, in one home: levels, custom attribute names, default thresholds and paths, event types.

Every other file imports them from here. Option documentation (DOCUMENTATION, doc fragments, role argument specs)
repeats the defaults as literals because Ansible reads them as text; tests/unit/.../test_constants.py checks that
each such literal equals the value here.
"""

from __future__ import annotations

# Mirroring levels, lowest first.
LEVELS = ("minimal", "partial", "full")
MINIMAL, PARTIAL, FULL = LEVELS
RANK = {name: i for i, name in enumerate(LEVELS)}

# FPS bands, hysteresis, dwell and failover limits (the policy options' defaults).
DEFAULT_PARTIAL_ABOVE = 30.0
DEFAULT_FULL_ABOVE = 70.0
DEFAULT_FAILOVER_THRESHOLD = 85.0
DEFAULT_HYSTERESIS_MARGIN = 5.0
DEFAULT_MIN_DWELL_MINUTES = 60
DEFAULT_MAX_FAILOVERS = 2
DEFAULT_MAX_FAILOVER_CLUSTER_PCT = 25.0

# vCenter's real-time statistics interval (seconds): every VM's and host's counters are sampled this often.
REALTIME_INTERVAL = 20

# How old a mirror's image may grow at each level before it is rebuilt from a fresh snapshot (seconds). A day at
# both: a refresh is a full clone of the VM's disks across sites, and the data that changes by the minute is the
# data providers' (PostgreSQL streaming, files by rsync/lsyncd); the image is the system around it. At a 4 h
# cadence a 40 GB VM would copy 7 TB a month (the cost optimizer prices refreshes: cost.level_costs).
DEFAULT_IMAGE_RPO = {"partial": 24 * 3600, "full": 24 * 3600}

# How far a time written by vCenter (a snapshot's, a mirror's mirroring.synced_at) may lie ahead of this controller's
# clock and still be read as "now"; further ahead it is unknown, never fresh.
CLOCK_SKEW_SECONDS = 300

# The vCenter writer lease: seconds it lasts unless renewed (its keeper renews it every third of that, so a run
# whose keeper died blocks others for at most this long), and how long a run waits for another's lease.
LEASE_TTL = 90
LEASE_WAIT = 300

# Alarm lines for a symptom's sustained absolute value (its mean over the scoring window), judged without any baseline:
# feature -> (warning, critical, where the line comes from). The FPS never sits below the floor they give
# (telemetry.alarm_floor): past the warning line at least partial, past the critical line at least full and rising
# with the value, never flat. A floor alone stops below the failover threshold; a VM warning or error event in the
# window corroborates it past the threshold. Lines sit above what busy healthy VMs show (steady 8-20 ms disk latency,
# 1-4 % CPU ready per vCPU, no swap-in).
ALARM_LINES = {
    "disk_latency_ms_mean": (30.0, 75.0, "VMware KB 2001003 counts sustained device latency above 20-30 ms as a "
                                         "storage problem; 75 ms is the critical line of the issue's vCenter alarm"),
    "cpu_ready_pct_mean": (5.0, 10.0, "VMware KB 2002181: CPU ready above 5 % per vCPU degrades, above 10 % is bad"),
    "mem_swapin_kbps_mean": (100.0, 1000.0, "VMware KB 2001003: any sustained swap-in means the host reclaims memory "
                                            "the guest needs; 1 MB/s stalls it"),
}
# A rise the VMs of its host share (their median deviation, in robust sigma) is the host's, not the VM's: no floor.
ALARM_PEER_SHARED_SIGMA = 3.0
ALARM_FULL_ABOVE = 71.0      # the floor at the critical line (the full band starts above 70)
ALARM_UNCORROBORATED_MAX = 84.0  # a floor alone never reaches the default failover threshold (85)
ALARM_CORROBORATED_FPS = 86.0    # at the critical line, with a VM warning or error event in the window

# How old the mirror's copy of a VM's declared files may grow at each level (seconds): rsync from cron at partial,
# lsyncd (continuous) at full.
DEFAULT_FILES_RPO = {"partial": 4 * 3600, "full": 300}

# The history store.
HISTORY_PATH = "~/.local/share/predictive.mirroring/history.sqlite"
HISTORY_PATH_ENV = "PM_HISTORY_PATH"
HISTORY_DSN_ENV = "PM_HISTORY_DSN"

# Custom attributes that hold the mirroring state on the VMs themselves.
ATTR_LEVEL = "mirroring.level"
ATTR_FPS = "mirroring.fps"
ATTR_SINCE = "mirroring.since"
ATTR_PRIMARY = "mirroring.primary"
ATTR_DEPENDS_ON = "mirroring.depends_on"
# the application a VM belongs to (a name): its members are held at one level, the riskiest member's
ATTR_APP = "mirroring.app"
ATTR_BELOW_SINCE = "mirroring.below_since"
# set on a primary when it is failed over (the time); empty again after failback
ATTR_QUARANTINED = "mirroring.quarantined"
# set on a drill's isolated copy of a mirror (the primary's instance UUID); such a VM is never scored or mirrored
ATTR_DRILL_OF = "mirroring.drill_of"
# set on a mirror: the moment its image stands for (the primary's snapshot it was cloned from), ISO 8601 UTC
ATTR_SYNCED_AT = "mirroring.synced_at"
# set on a mirror: standby, active, or a refresh's refreshing/retired
ATTR_ROLE = "mirroring.role"
# set on a mirror re-IP'd by guest customization: its addresses in NIC order, comma-separated
ATTR_ADDRESSES = "mirroring.addresses"
# set on a host that an evacuation moved VMs off (why, as JSON)
ATTR_HOST_AT_RISK = "mirroring.host_at_risk"
# set on a datastore that an evacuation moved VMs' files off (why; since)
ATTR_DATASTORE_AT_RISK = "mirroring.datastore_at_risk"
# the writer lease, on its folder
ATTR_LEASE = "mirroring.lease"
# a mirror's extraConfig marker: the primary's instance UUID (survives a rename and an attribute wipe)
MARKER_KEY = "predictive.mirroring.primary"
# beside it, the moment the clone's image stands for (a dead run's clone, adopted later, keeps its own age)
MARKER_SYNCED_KEY = "predictive.mirroring.synced_at"

# Failure events that label a window: one of these on the VM (or, for the host-level ones, on its host) within the
# horizon after the window's end.
FAILURE_EVENTS = ("VmGuestOSCrashedEvent", "VmDasBeingResetEvent", "VmDasBeingResetWithScreenshotEvent",
                  "VmFailoverFailed", "VmOrphanedEvent", "HostConnectionLostEvent", "DasHostFailedEvent")
HOST_FAILURE_EVENTS = ("HostConnectionLostEvent", "DasHostFailedEvent")

# What a failover record may be.
FAILOVER_KINDS = ("predictive", "reactive", "drill")
