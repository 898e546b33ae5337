"""vsphere_fps vs community.vmware.vmware_vm_inventory on the same simulated fleet, in one run.

Both run as `ansible-inventory --list` against one two-datacenter simulator:
ours reads properties, perf samples (7 counters x 30 samples) and events and
scores every VM against its own baseline; community.vmware lists the VMs with a minimal property set
(name, config.name, config.instanceUuid, runtime.powerState). community.vmware
comes from the `ansible` package, installed into .build/bench-venv by this
script (never into the project venv). Every VM has a day of 300 s and a week
of 1800 s rollups in the simulator. Ours runs once cold first - it learns every
VM's baseline from those rollups (7 counters x 624 samples per VM) and caches
them - and is then timed with the baselines cached, as a scheduled run finds
them. Prints a Markdown table; wall time and the peak RSS of the
ansible-inventory process.

    .venv/bin/python benchmarks/inventory_scale.py [--vms 10000] [--repeat 2]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet  # noqa: E402  pylint: disable=wrong-import-position
from rig.simulator import Simulator  # noqa: E402  pylint: disable=wrong-import-position

BENCH_VENV = os.path.join(ROOT, ".build", "bench-venv")
ANSIBLE_PACKAGE = "ansible==12.3.0"  # ships community.vmware 5.10


def bench_venv():
    marker = os.path.join(BENCH_VENV, ".installed-" + ANSIBLE_PACKAGE)
    if not os.path.exists(marker):
        subprocess.run([sys.executable, "-m", "venv", BENCH_VENV], check=True)
        subprocess.run([os.path.join(BENCH_VENV, "bin", "pip"), "install", "-q", ANSIBLE_PACKAGE, "pyvmomi", "requests"],
                       check=True)
        open(marker, "w", encoding="utf-8").close()
    return os.path.join(BENCH_VENV, "bin", "ansible-inventory")


def measure(argv, env, cwd):
    """Wall time and peak RSS (MB) of one command, run by a fresh child so the peak is its own."""
    probe = ("import resource, subprocess, sys, time, json; t = time.monotonic(); "
             "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(json.dumps({'wall': time.monotonic() - t, 'rss': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "
             "'rc': p.returncode, 'out': p.stdout, 'err': p.stderr[-2000:]}))")
    res = json.loads(subprocess.run([sys.executable, "-c", probe] + argv, env=env, cwd=cwd, capture_output=True, text=True,
                                    check=True).stdout)
    if res["rc"] != 0:
        raise SystemExit("%s failed: %s" % (argv[0], res["err"]))
    res["hosts"] = len(json.loads(res["out"])["_meta"]["hostvars"])
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vms", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    community = bench_venv()
    per_dc = args.vms // 2
    sim = Simulator(hosts=8, vms=per_dc)
    t = time.monotonic()
    sim.start(timeout=600)
    print("simulator: %d VMs in 2 datacenters, up in %.1f s" % (sim.state["vms"], time.monotonic() - t), file=sys.stderr)
    try:
        # realistic telemetry for every VM, so that ours scores real series
        for i, vm in enumerate(v["name"] for v in sim.vms()):
            sim.set_perf(vm, fleet.scenario_series("healthy" if i % 50 else "degrading_disk", 0.0 if i % 50 else 0.6, seed=i % 97))
        work = tempfile.mkdtemp(prefix="pm-bench-")
        host, port = sim.hostport()
        ours_cfg = os.path.join(work, "bench.vsphere_fps.yml")
        with open(ours_cfg, "w", encoding="utf-8") as f:
            f.write("plugin: predictive.mirroring.vsphere_fps\n")
        theirs_cfg = os.path.join(work, "bench.vmware.yml")
        with open(theirs_cfg, "w", encoding="utf-8") as f:
            f.write("plugin: community.vmware.vmware_vm_inventory\nhostname: %s\nport: %d\nusername: %s\npassword: %s\n"
                    "validate_certs: false\nwith_tags: false\nhostnames: [config.name]\n"
                    "properties: [name, config.name, config.instanceUuid, runtime.powerState]\n"
                    % (host, port, sim.username, sim.password))
        ours_env = dict(os.environ, **sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
        theirs_env = dict(os.environ, ANSIBLE_INVENTORY_ENABLED="community.vmware.vmware_vm_inventory")
        theirs_env.pop("ANSIBLE_CONFIG", None)
        rows = {"vsphere_fps": [], "community.vmware": []}
        cold = measure([os.path.join(ROOT, ".venv", "bin", "ansible-inventory"), "-i", ours_cfg, "--list"], ours_env, ROOT)
        for _round in range(args.repeat):
            rows["vsphere_fps"].append(measure([os.path.join(ROOT, ".venv", "bin", "ansible-inventory"), "-i", ours_cfg, "--list"],
                                               ours_env, ROOT))
            rows["community.vmware"].append(measure([community, "-i", theirs_cfg, "--list"], theirs_env, work))
    finally:
        sim.stop()
    best = {k: min(v, key=lambda r: r["wall"]) for k, v in rows.items()}
    ratio = best["vsphere_fps"]["wall"] / best["community.vmware"]["wall"]
    print("| %d VMs | what it does | wall (best of %d) | peak RSS |" % (args.vms, args.repeat))
    print("|---|---|---|---|")
    print("| predictive.mirroring.vsphere_fps, first run | + learns every VM's baseline from a week of rollups "
          "| %.1f s | %.0f MB |" % (cold["wall"], cold["rss"]))
    print("| predictive.mirroring.vsphere_fps | properties + perf (7 counters x 30 samples) + events + baselines (cached) "
          "+ FPS + reasons + tiers | %.1f s | %.0f MB |" % (best["vsphere_fps"]["wall"], best["vsphere_fps"]["rss"]))
    print("| community.vmware.vmware_vm_inventory 5.10 | 4 properties, no perf, no scoring | %.1f s | %.0f MB |"
          % (best["community.vmware"]["wall"], best["community.vmware"]["rss"]))
    print("| **ratio** (ours / community) | | **%.2f** | %.2f |" % (ratio, best["vsphere_fps"]["rss"] / best["community.vmware"]["rss"]))
    print("| ratio, first run (ours / community) | | %.2f | |" % (cold["wall"] / best["community.vmware"]["wall"]))
    print("hosts listed: ours %d, community %d" % (best["vsphere_fps"]["hosts"], best["community.vmware"]["hosts"]), file=sys.stderr)
    assert resource  # measured in the child


if __name__ == "__main__":
    main()
