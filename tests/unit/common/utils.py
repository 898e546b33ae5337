"""run_module: call a module's main() in-process and return what it exited with."""
from __future__ import annotations

import json
import os
from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result.get("msg"))
        self.result = result
        self.failed = failed


def _exit(self, **kwargs):  # pylint: disable=unused-argument
    raise ModuleExit(kwargs, False)


def _fail(self, msg, **kwargs):  # pylint: disable=unused-argument
    raise ModuleExit(dict(kwargs, msg=msg, failed=True), True)


def run_module(module, args, check_mode=False):
    """Run module.main() with args; return (result, failed). Output is checked for secrets by the caller."""
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), mock.patch.object(basic.AnsibleModule, "exit_json", _exit), \
            mock.patch.object(basic.AnsibleModule, "fail_json", _fail):
        try:
            module.main()
        except ModuleExit as e:
            json.dumps(e.result, default=str)  # what a module returns must serialise
            return e.result, e.failed
    raise AssertionError("module returned without exit_json or fail_json")


def keypair(directory, name="operator"):
    """An Ed25519 key pair as PEM files, as openssl genpkey -algorithm ed25519 writes them: (private, public)."""
    # imported here: the helpers above serve tests that need no cryptography
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # pylint: disable=import-outside-toplevel
    key = Ed25519PrivateKey.generate()
    private, public = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".pub")
    with open(private, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(public, "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def scenario_raw(cases, with_baseline=True, events=True, host_health=0.0):
    """telemetry.features' input for VMs in fleet scenarios: [(scenario, severity, normal or None, seed), ...].

    Each VM is judged against the baseline learned from its normal's history (fleet.scenario_history, a day of
    300 s and a week of 1800 s rollups, through baseline.learn) unless with_baseline is false, and carries the
    events its scenario raises over the trailing 24 h (fleet.scenario_events) unless events is false.
    """
    import datetime  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel
    from ansible_collections.predictive.mirroring.plugins.module_utils import baseline, fleet, telemetry  # pylint: disable=import-outside-toplevel

    now = datetime.datetime(2026, 11, 28, 12, tzinfo=datetime.timezone.utc)
    samples = {c: [] for c in telemetry.COUNTERS}
    learned, vm_events = [], {k: [] for k in telemetry.EVENT_KEYS}
    for scenario, severity, normal, seed in cases:
        s = fleet.scenario_series(scenario, severity, seed=seed, normal=normal, hour=now.hour)
        for c in telemetry.COUNTERS:
            samples[c].append(s[c])
        series = {}
        for interval in (300, 1800):
            h = fleet.scenario_history(normal, interval, seed=seed, end_hour=now.hour)
            n = len(h["cpu.usage.average"])
            series[interval] = dict(h, timestamps=[now - datetime.timedelta(seconds=interval * (n - 1 - i)) for i in range(n)])
        learned.append(baseline.learn(series, (normal or {}).get("num_cpu", fleet.STANDARD_NORMAL["num_cpu"]))
                       if with_baseline else None)
        ev = fleet.scenario_events(scenario, severity, seed=seed) if events else {"vm": [], "host": []}
        vm_events["vm_warning"].append(sum(e.endswith("WarningEvent") for e in ev["vm"]))
        vm_events["vm_error"].append(sum(e.endswith("ErrorEvent") for e in ev["vm"]))
        vm_events["host_error"].append(len(ev["host"]))
        vm_events["cluster_error"].append(len(ev["host"]))
        vm_events["datacenter_error"].append(len(ev["host"]))
    n = len(cases)
    centre, spread, days = baseline.centre_spread(learned, baseline.COUNTERS, now.hour)
    return {"interval": 20, "samples": {c: np.array(v, dtype=float) for c, v in samples.items()},
            "num_cpu": np.array([(c[2] or {}).get("num_cpu", fleet.STANDARD_NORMAL["num_cpu"]) for c in cases]),
            "uptime_seconds": np.full(n, 20 * 86400.0), "host_connected": np.ones(n),
            "host_health": np.full(n, float(host_health)),
            "events": {k: np.array(v, dtype=float) for k, v in vm_events.items()},
            "baseline": {"centre": centre, "spread": spread, "days": days}}


def _open_and_write(store, worker, barrier, failures, writes):
    """One of release_together's processes: wait for the others, open the store, write `writes` windows."""
    from ansible_collections.predictive.mirroring.plugins.module_utils import history, telemetry  # pylint: disable=import-outside-toplevel
    try:
        barrier.wait(60)
        with history.History(**store) as h:  # every process opens the store at the same moment
            for i in range(writes):
                h.add_windows([{"vcenter": "vc:443", "vm": "vm-%d" % worker, "window_end": "2026-12-06T00:%02d:00+00:00" % i,
                                "features": [float(i)] * len(telemetry.FEATURE_NAMES), "label": 0}],
                              telemetry.FEATURE_NAMES)
    except Exception as e:  # pylint: disable=broad-except
        failures.put("%s: %s" % (type(e).__name__, e))
        raise


def release_together(store, processes=8, writes=8):
    """`processes` processes released at one moment by a barrier, each opening the history store (History(**store))
    and writing `writes` windows of its own; the first failure's message, or None when all exited 0."""
    import multiprocessing  # pylint: disable=import-outside-toplevel
    ctx = multiprocessing.get_context("fork")
    failures, barrier = ctx.Queue(), ctx.Barrier(processes)
    procs = [ctx.Process(target=_open_and_write, args=(store, w, barrier, failures, writes)) for w in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    if [p.exitcode for p in procs] == [0] * processes:
        return None
    return failures.get(timeout=5) if not failures.empty() else "exit codes %s" % [p.exitcode for p in procs]
