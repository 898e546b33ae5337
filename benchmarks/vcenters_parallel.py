"""Several vCenters in one inventory: read at once (vcenter_workers) vs one after the other, in one run.

    .venv/bin/python benchmarks/vcenters_parallel.py [--vcenters 2] [--vms 500] [--latency-ms 300] [--repeat 2]

Starts --vcenters simulators of --vms primaries each (in DC0; DC1 as many), every one answering each
RetrievePropertiesEx --latency-ms late (govmomi's DelayConfig: a vCenter across a WAN, or a busy one), and times
`ansible-inventory --list` over all of them:
  one after the other   vcenter_workers: 1 (what one process reading the vCenters in turn does, as an inventory
                        source per vCenter would)
  at once               vcenter_workers: the number of vCenters (one forked process each)
Best of --repeat, alternating. Baselines are not cached (baseline_cache: ""), so every run reads the same.
Prints a Markdown table and the ratio.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet  # noqa: E402  pylint: disable=wrong-import-position
from rig.simulator import Simulator  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.join(ROOT, ".venv", "bin")


def timed(config, env):
    started = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", config, "--list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("ansible-inventory failed:\n%s" % proc.stderr[-3000:])
    return elapsed, len(json.loads(proc.stdout)["_meta"]["hostvars"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vcenters", type=int, default=2)
    ap.add_argument("--vms", type=int, default=500)
    ap.add_argument("--latency-ms", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pm-bench-vcenters-")
    sims = []
    try:
        for i in range(args.vcenters):
            sim = Simulator(workdir=os.path.join(work, "vc%d" % i), hosts=4, vms=args.vms,
                            method_delay={"RetrievePropertiesEx": args.latency_ms})
            os.makedirs(sim.workdir)
            sims.append(sim.start(timeout=600))
            for j, vm in enumerate(v["name"] for v in sim.vms() if v["name"].startswith("DC0_")):
                sim.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=j % 97))
        first = sims[0]
        others = [{"hostname": s.hostport()[0], "port": s.hostport()[1], "username": s.username,
                   "password": s.password, "ca_path": s.cert} for s in sims[1:]]
        env = dict(os.environ, **first.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   PATH=BIN + os.pathsep + os.environ["PATH"])
        configs = {}
        for label, workers in (("one after the other (vcenter_workers: 1)", 1),
                               ("at once (vcenter_workers: %d)" % args.vcenters, args.vcenters)):
            path = os.path.join(work, "w%d.vsphere_fps.yml" % workers)
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"plugin": "predictive.mirroring.vsphere_fps", "datacenters": ["DC0"], "baseline_cache": "",
                           "vcenter_workers": workers, "vcenters": [{}] + others}, f)
            configs[label] = path
        best, hosts = {}, {}
        for _round in range(args.repeat):
            for label, path in configs.items():
                seconds, hosts[label] = timed(path, env)
                best[label] = min(best.get(label, seconds), seconds)
        if len(set(hosts.values())) != 1:
            raise SystemExit("the two ways listed different hosts: %s" % hosts)
        print("%d vCenters x %d primaries, RetrievePropertiesEx %d ms late, best of %d:\n"
              % (args.vcenters, args.vms, args.latency_ms, args.repeat))
        print("| ansible-inventory --list | wall | hosts |\n|---|---|---|")
        for label in configs:
            print("| %s | %.1f s | %d |" % (label, best[label], hosts[label]))
        serial, parallel = list(best.values())
        print("\n**ratio** at once / one after the other: **%.2f**" % (parallel / serial))
    finally:
        for sim in sims:
            sim.stop()


if __name__ == "__main__":
    main()
