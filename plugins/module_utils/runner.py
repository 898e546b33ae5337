# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one module runner: the only file in module_utils that imports Ansible.

A module is `run(core, options, shared=...)`: the runner composes the shared argument specs (their documentation
is the doc fragment of the same name), builds the AnsibleModule, calls `core(params, task)` once (a function of the
core that knows nothing of Ansible), passes on its warnings, and turns a MirroringError into fail_json, with what the
core had changed so far.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.predictive.mirroring.plugins.module_utils import constants as c
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.task import Task

VSPHERE_TIMEOUT = 60


def vsphere_spec():
    """Doc fragment: vsphere. The connection to vCenter, with the VMWARE_* environment fallbacks."""
    return dict(
        hostname=dict(type="str", fallback=(env_fallback, ["VMWARE_HOST"])),
        username=dict(type="str", aliases=["user"], fallback=(env_fallback, ["VMWARE_USER"])),
        password=dict(type="str", aliases=["pass", "pwd"], no_log=True, fallback=(env_fallback, ["VMWARE_PASSWORD"])),
        port=dict(type="int", default=443, fallback=(env_fallback, ["VMWARE_PORT"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["VMWARE_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["VMWARE_CA_PATH"])),
        timeout=dict(type="int", default=VSPHERE_TIMEOUT, fallback=(env_fallback, ["VMWARE_TIMEOUT"])),
    )


def history_spec(default_path=c.HISTORY_PATH):
    """Doc fragment: history. The store, a SQLite path or a PostgreSQL DSN (never logged)."""
    # PM_HISTORY_PATH, as PM_HISTORY_DSN: a cron job, a job template or a test rig names its store once
    return dict(history_path=dict(type="path", default=default_path, fallback=(env_fallback, [c.HISTORY_PATH_ENV])),
                history_dsn=dict(type="str", no_log=True, fallback=(env_fallback, [c.HISTORY_DSN_ENV])))


def lease_spec():
    """Doc fragment: lease. The writer lease of modules that change vCenter."""
    return dict(lease_owner=dict(type="str"), lease_ttl=dict(type="int", default=c.LEASE_TTL),
                lease_wait=dict(type="int", default=c.LEASE_WAIT))


def policy_spec():
    """Doc fragment: policy. FPS bands, hysteresis, dwell and the failover limits."""
    return dict(
        partial_above=dict(type="float", default=c.DEFAULT_PARTIAL_ABOVE),
        full_above=dict(type="float", default=c.DEFAULT_FULL_ABOVE),
        failover_threshold=dict(type="float", default=c.DEFAULT_FAILOVER_THRESHOLD),
        hysteresis_margin=dict(type="float", default=c.DEFAULT_HYSTERESIS_MARGIN),
        min_dwell_minutes=dict(type="int", default=c.DEFAULT_MIN_DWELL_MINUTES),
        max_failovers=dict(type="int", default=c.DEFAULT_MAX_FAILOVERS),
        max_failover_cluster_pct=dict(type="float", default=c.DEFAULT_MAX_FAILOVER_CLUSTER_PCT),
    )


def model_spec():
    """Doc fragment: model. How a model's origin is proven (public keys: nothing secret)."""
    return dict(trusted_keys=dict(type="list", elements="path", default=[], no_log=False,
                                  fallback=(env_fallback, ["PM_MODEL_TRUSTED_KEYS"])),
                allow_unsigned_model=dict(type="bool", default=False))


SHARED = {"vsphere": vsphere_spec, "history": history_spec, "lease": lease_spec, "policy": policy_spec,
          "model": model_spec}


def argument_spec(options, shared=(), history_path=c.HISTORY_PATH):
    spec = {}
    for name in shared:
        spec.update(SHARED[name](history_path) if name == "history" else SHARED[name]())
    overlap = set(spec) & set(options)
    if overlap:
        raise ValueError("options repeat shared ones: %s" % ", ".join(sorted(overlap)))  # a programming error
    spec.update(options)
    return spec


def run(core, options, shared=(), history_path=c.HISTORY_PATH, **module_kwargs):
    """Build the module, call core(params, task) once, exit with its result or fail with its error."""
    module = AnsibleModule(argument_spec=argument_spec(options, shared, history_path), supports_check_mode=True,
                           **module_kwargs)
    task = Task(check_mode=module.check_mode, diff=module._diff)
    try:
        result = core(module.params, task)
    except MirroringError as e:
        for message in task.warnings:
            module.warn(message)
        module.fail_json(msg=str(e), **dict({"changed": task.changed}, **e.result))
    for message in task.warnings:
        module.warn(message)
    module.exit_json(**dict({"changed": task.changed}, **result))
