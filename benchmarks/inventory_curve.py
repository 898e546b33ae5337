"""The inventory's cost curve: 1,000 -> 10,000 -> 50,000 VMs across two simulated vCenters, one run.

    .venv/bin/python benchmarks/inventory_curve.py [--sizes 1000,10000,50000]

For each size, two simulators (two vCenters) of half the VMs each (in two datacenters), every VM with realtime
series (one in 50 a failing disk) and vCenter's rollups; one inventory file naming both (`vcenters:`, read at once
by `vcenter_workers`). `ansible-inventory --list` runs twice: first with no baseline cache (it learns every VM's
baseline from a week of rollups), then with the cache it wrote, as a scheduled run finds it. Wall time, and peak
memory as the sum of the resident sizes of ansible-inventory and every process it started (the per-vCenter
readers are processes of their own), sampled every 0.2 s from /proc. Prints a Markdown table with the cost per VM,
so a curve that rises with the fleet shows.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet  # noqa: E402  pylint: disable=wrong-import-position
from rig.simulator import Simulator  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.join(ROOT, ".venv", "bin")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def tree_rss_mb(root):
    """Resident MB of process `root` and all its descendants, read from /proc."""
    parent, rss = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid, encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/statm" % pid, encoding="utf-8") as f:
                rss[int(pid)] = int(f.read().split()[1]) * PAGE_KB
            parent[int(pid)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue  # ended while being read
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += [child for child, ppid in parent.items() if ppid == pid]
    return total / 1024.0


def measure(config, env):
    """(wall s, peak MB of the process tree, hosts listed) of one ansible-inventory --list."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([os.path.join(BIN, "ansible-inventory"), "-i", config, "--list"], cwd=ROOT, env=env,
                                stdout=out, stderr=err)
        peak = [0.0]

        def sample():
            while proc.poll() is None:
                peak[0] = max(peak[0], tree_rss_mb(proc.pid))
                time.sleep(0.2)
        sampler = threading.Thread(target=sample)
        sampler.start()
        proc.wait()
        sampler.join()
        wall = time.monotonic() - started
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit("ansible-inventory failed:\n%s" % err.read().decode()[-3000:])
        out.seek(0)
        hosts = len(json.load(out)["_meta"]["hostvars"])
    return wall, peak[0], hosts


def one_size(total, work):
    sims = []
    try:
        for i in range(2):
            sim = Simulator(workdir=os.path.join(work, "vc%d" % i), hosts=8, vms=total // 4)
            os.makedirs(sim.workdir)
            sims.append(sim.start(timeout=1800))
            # by moid: the control API finds a name by scanning every VM, which at 25,000 VMs per simulator took
            # longer than the runs measured
            for j, vm in enumerate(v["moid"] for v in sim.vms()):
                sim.set_perf(vm, fleet.scenario_series("healthy" if j % 50 else "degrading_disk",
                                                       0.0 if j % 50 else 0.6, seed=j % 97))
        first = sims[0]
        others = [{"hostname": s.hostport()[0], "port": s.hostport()[1], "username": s.username,
                   "password": s.password, "ca_path": s.cert} for s in sims[1:]]
        config = os.path.join(work, "curve.vsphere_fps.yml")
        with open(config, "w", encoding="utf-8") as f:
            json.dump({"plugin": "predictive.mirroring.vsphere_fps", "vcenters": [{}] + others,
                       "baseline_cache": os.path.join(work, "baselines.json")}, f)
        env = dict(os.environ, **first.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   PATH=BIN + os.pathsep + os.environ["PATH"])
        cold = measure(config, env)
        cached = measure(config, env)
    finally:
        for sim in sims:
            sim.stop()
    return cold, cached


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,50000")
    args = ap.parse_args()
    rows = []
    for total in (int(s) for s in args.sizes.split(",")):
        work = tempfile.mkdtemp(prefix="pm-bench-curve-")
        t = time.monotonic()
        cold, cached = one_size(total, work)
        print("%d VMs done in %.0f s: cold %s, cached %s" % (total, time.monotonic() - t, cold, cached), file=sys.stderr,
              flush=True)
        rows.append((total, cold, cached))
    # per VM, and per VM added since the size before (what the curve's slope is: the fixed cost of Python,
    # Ansible and the model drops out)
    print("| VMs (2 vCenters) | run | wall | ms per VM | ms per added VM | peak memory (all processes) | KB per added VM "
          "| hosts |")
    print("|---|---|---|---|---|---|---|---|")
    before = {}
    for total, cold, cached in rows:
        for label, (wall, mb, hosts) in (("first (learns baselines)", cold), ("baselines cached", cached)):
            prev = before.get(label)
            slope = ("%.2f" % (1000.0 * (wall - prev[1]) / (total - prev[0])), "%.0f" % (1024.0 * (mb - prev[2]) / (total - prev[0]))) \
                if prev else ("-", "-")
            print("| %d | %s | %.1f s | %.2f | %s | %.0f MB | %s | %d |"
                  % (total, label, wall, 1000.0 * wall / total, slope[0], mb, slope[1], hosts))
            before[label] = (total, wall, mb)


if __name__ == "__main__":
    main()
