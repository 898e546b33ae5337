"""The README's demo: a two-datacenter vCenter simulator, scored, tiered and reconciled.

Starts the simulator on PM_DEMO_PORT (default 8989), gives every VM the
telemetry of the failure process (fleet.py) -- most healthy, a few degrading --
runs playbooks/reconcile.yml against inventories/demo, prints each VM's FPS and
level, and stops what it started.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet  # noqa: E402  pylint: disable=wrong-import-position
from rig.inventory import plain  # noqa: E402  pylint: disable=wrong-import-position
from rig.procs import port_in_use  # noqa: E402  pylint: disable=wrong-import-position
from rig.simulator import Simulator  # noqa: E402  pylint: disable=wrong-import-position

VENV_BIN = os.path.join(ROOT, ".venv", "bin")
# (VM, scenario, severity): the rest of the fleet is healthy
STORY = [("DC0_C0_RP0_VM1", "degrading_disk", 0.5), ("DC0_C0_RP0_VM2", "memory_leak", 0.9)]


def step(text):
    print("\n==> " + text, flush=True)


def push_telemetry(sim):
    for i, vm in enumerate(v["name"] for v in sim.vms()):
        sim.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    for vm, scenario, severity in STORY:
        sim.set_perf(vm, fleet.scenario_series(scenario, severity, seed=7))
        events = fleet.scenario_events(scenario, severity, seed=7)
        for event_type in events["vm"]:
            sim.post_event(vm, event_type, "%s on %s" % (scenario.replace("_", " "), vm))
        print("    %s: %s at severity %.1f, %d events" % (vm, scenario, severity, len(events["vm"])))


def main():
    port = int(os.environ.get("PM_DEMO_PORT", "8989"))
    if port_in_use(port):
        print("demo: port %d is taken: stop what holds it or set PM_DEMO_PORT to a free port" % port, file=sys.stderr)
        return 2
    sim = Simulator(listen="127.0.0.1:%d" % port)
    step("Starting the vCenter simulator (govmomi): 2 datacenters, DC0 primary, DC1 secondary")
    sim.start()
    try:
        print("    %s, certificate %s" % (sim.https_url, sim.cert))
        step("Feeding each VM telemetry from the failure process")
        push_telemetry(sim)
        env = dict(os.environ, **sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
        reconcile = [os.path.join(VENV_BIN, "ansible-playbook"), "playbooks/reconcile.yml", "-i",
                     "inventories/demo/demo.vsphere_fps.yml"]
        step("ansible-playbook playbooks/reconcile.yml -i inventories/demo/demo.vsphere_fps.yml")
        subprocess.run(reconcile, cwd=ROOT, env=env, check=True)
        step("The same reconcile again: nothing left to change")
        again = subprocess.run(reconcile, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
        print("\n".join("    " + line for line in again.splitlines() if line.startswith("localhost")))
        listing = subprocess.run([os.path.join(VENV_BIN, "ansible-inventory"), "-i", "inventories/demo/demo.vsphere_fps.yml",
                                  "--list"], cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
        inv = plain(json.loads(listing))
        step("Each VM's Failure Probability Score and level")
        hostvars = inv["_meta"]["hostvars"]
        failover = set(inv.get("failover_now", {}).get("hosts", []))
        mirrors = {hv.get("mirror_of"): (name, hv) for name, hv in hostvars.items() if hv.get("mirror_of")}
        uuid_of = {name: hv.get("vm_instance_uuid") for name, hv in hostvars.items()}
        print("    %-16s %-4s %6s  %-8s %-36s %s" % ("VM", "DC", "FPS", "level", "mirror in DC1", "top reason"))
        for name in sorted(hostvars):
            hv = hostvars[name]
            if "fps" not in hv:
                continue
            reason = hv["fps_reasons"][0] if hv["fps_reasons"] else None
            why = "%s=%s (+%s)" % (reason["feature"], reason["value"], reason["contribution"]) if reason else "-"
            flag = "  FAILOVER NOW" if name in failover else ""
            m = mirrors.get(uuid_of[name])
            where = "-" if m is None else "%s %s %dvCPU/%dMB" % (m[0], m[1]["power_state"], m[1]["num_cpu"], m[1]["memory_mb"])
            row = (name, hv["datacenter"], hv["fps"], hv["mirroring_level"], where, why, flag)
            print("    %-16s %-4s %6.1f  %-8s %-36s %s%s" % row)
    finally:
        step("Stopping the simulator")
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
