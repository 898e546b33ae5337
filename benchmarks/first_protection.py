"""First-time protection of many VMs with slow clones: vm_mirror's window vs one VM at a time, in one run.

    .venv/bin/python benchmarks/first_protection.py [--vms 200] [--clone-ms 2000] [--window 8]

Two fresh simulators with --vms primaries in DC0 (8 hosts) and CloneVM_Task delayed --clone-ms (govmomi's
DelayConfig), so that a clone takes time as on a real vCenter. The same playbook (one vm_mirror task: every
primary at partial, a standby clone each) runs once with window=1 (the serial path) and once with --window.
Prints a Markdown table: wall time, per-VM work, the ideal (VMs x per-VM work / window), and the ratios.
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

from rig.simulator import Simulator  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.join(ROOT, ".venv", "bin")
PLAYBOOK = """---
- name: Every primary at partial
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Hold every VM at partial
      predictive.mirroring.vm_mirror:
        vms: "{{ lookup('ansible.builtin.file', batch) | from_json }}"
        secondary_datacenter: DC1
        window: "{{ window }}"
        per_host: 2
        per_datastore: 64
"""


def protect(args, window, work):
    sim = Simulator(workdir=tempfile.mkdtemp(prefix="pm-bench-sim-"), hosts=8, vms=args.vms,
                    method_delay={"CloneVM_Task": args.clone_ms})
    sim.start(timeout=600)
    try:
        batch = os.path.join(work, "batch-%d.json" % window)
        with open(batch, "w", encoding="utf-8") as f:
            json.dump([{"name": v["name"], "level": "partial"} for v in sim.vms() if v["name"].startswith("DC0_")], f)
        env = dict(os.environ, **sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   PATH=BIN + os.pathsep + os.environ["PATH"])
        started = time.monotonic()
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), os.path.join(work, "protect.yml"), "-e",
                               "batch=%s" % batch, "-e", "window=%d" % window], cwd=ROOT, env=env, capture_output=True,
                              text=True, check=False)
        elapsed = time.monotonic() - started
        if proc.returncode != 0:
            raise SystemExit("window %d failed:\n%s" % (window, proc.stdout[-3000:]))
        calls = sim.clone_calls()
    finally:
        sim.stop()
    return elapsed, len(calls)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vms", type=int, default=200)
    ap.add_argument("--clone-ms", type=int, default=2000)
    ap.add_argument("--window", type=int, default=8)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pm-bench-")
    with open(os.path.join(work, "protect.yml"), "w", encoding="utf-8") as f:
        f.write(PLAYBOOK)
    windowed, clones_w = protect(args, args.window, work)
    serial, clones_s = protect(args, 1, work)
    per_vm = serial / args.vms
    ideal = args.vms * per_vm / args.window
    print("| first-time protection, %d VMs, CloneVM_Task %.1f s | window | clones | wall | per VM |"
          % (args.vms, args.clone_ms / 1000.0))
    print("|---|---|---|---|---|")
    print("| vm_mirror, serial (window=1) | 1 | %d | %.1f s | %.2f s |" % (clones_s, serial, per_vm))
    print("| vm_mirror, windowed | %d | %d | %.1f s | %.2f s |" % (args.window, clones_w, windowed, windowed / args.vms))
    print("| ideal: VMs x per-VM work / window | %d | | %.1f s | |" % (args.window, ideal))
    print("| **ratios** | windowed / ideal **%.2f** | serial / windowed **%.1fx** | | |" % (windowed / ideal, serial / windowed))


if __name__ == "__main__":
    main()
