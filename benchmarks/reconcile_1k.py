"""A no-change reconcile of 1,000 VMs: the batched playbook vs one task per VM, in one run.

    .venv/bin/python benchmarks/reconcile_1k.py [--vms 1000] [--per-host 100]

The simulator holds --vms primaries in DC0 (and as many VMs in DC1). Both
approaches first converge; then each no-change run is timed:
  batched   playbooks/reconcile.yml: one mirror_plan call, one vm_mirror call, one vCenter session
  per-host  the predictive.mirroring.mirror role on every host (what a playbook
            without batching does: one delegated task, one session, per VM),
            timed on the first --per-host VMs, as its cost grows with the VM count
            (--per-host 0 leaves it out: at 10,000 VMs each of its tasks reads the whole fleet)
Prints a Markdown table with seconds per VM for both, measured, not extrapolated, and the first
(converging) run's time.
"""
import argparse
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
PER_HOST = """---
- name: One task per VM, the unbatched way
  hosts: all:!mirrors
  gather_facts: false
  connection: local
  roles:
    - role: predictive.mirroring.mirror
"""


def run(argv, env):
    t = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - t
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s%s" % (" ".join(argv), proc.stdout[-3000:], proc.stderr[-2000:]))
    recap = [line for line in proc.stdout.splitlines() if "changed=" in line]
    changed = sum(int(line.split("changed=")[1].split()[0]) for line in recap)
    return elapsed, changed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--per-host", type=int, default=100)
    args = ap.parse_args()
    sim = Simulator(hosts=8, vms=args.vms)
    sim.start(timeout=600)
    try:
        # by moid: the control API finds a name by scanning every VM (quadratic at 10,000)
        for i, vm in enumerate(v["moid"] for v in sim.vms()):
            scenario, sev = ("healthy", 0.0) if i % 20 else ("degrading_disk", 0.5)
            sim.set_perf(vm, fleet.scenario_series(scenario, sev, seed=i % 97))
        work = tempfile.mkdtemp(prefix="pm-bench-")
        per_host = os.path.join(work, "per_host.yml")
        with open(per_host, "w", encoding="utf-8") as f:
            f.write(PER_HOST)
        env = dict(os.environ, **sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   PATH=BIN + os.pathsep + os.environ["PATH"])
        inv = ["-i", "inventories/demo/demo.vsphere_fps.yml"]
        batched = [os.path.join(BIN, "ansible-playbook"), "playbooks/reconcile.yml"] + inv
        first, changed_first = run(batched, env)
        again, changed_again = run(batched, env)
        if args.per_host:
            limit = ",".join("DC0_C0_RP0_VM%d" % i for i in range(args.per_host))
            unbatched = [os.path.join(BIN, "ansible-playbook"), per_host, "--limit", limit,
                         "-e", "mirroring_secondary_datacenter=DC1"] + inv
            run(unbatched, env)  # converge the same way first
            per_host_s, changed_per_host = run(unbatched, env)
    finally:
        sim.stop()
    print("| no-change reconcile | VMs | wall | per VM | changed |")
    print("|---|---|---|---|---|")
    print("| playbooks/reconcile.yml (batched, 1 session) | %d | %.1f s | %.1f ms | %d |"
          % (args.vms, again, 1000 * again / args.vms, changed_again))
    if args.per_host:
        print("| mirror role, one task per VM | %d | %.1f s | %.1f ms | %d |"
              % (args.per_host, per_host_s, 1000 * per_host_s / args.per_host, changed_per_host))
        print("| **ratio** per VM (batched / per-host) | | | **%.3f** | |"
              % ((again / args.vms) / (per_host_s / args.per_host)))
    print("first (converging) batched run: %.1f s, changed=%d" % (first, changed_first))


if __name__ == "__main__":
    main()
