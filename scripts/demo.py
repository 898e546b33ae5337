"""The README's demo: the whole story on the bundled simulator with the default model.

A two-datacenter vCenter simulator (DC0 primary, DC1 secondary) on PM_DEMO_PORT
(default 8989), an HAProxy with a web service and its mirror, and two
PostgreSQL servers, all started here and stopped at the end:

1. the fleet is scored and tiered, and reconcile gives the risky VMs mirrors;
2. one service VM degrades; reconcile raises its level (mirror, replication, pool);
3. its FPS passes the failover threshold; it is failed over before it dies,
   under steady HTTP load and committed writes, and then the simulator kills it;
4. the Post-Failover Analysis labels the outcome;
5. the report shows the cost of the mirroring against the risk it covers.

Every number printed comes from this run.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import psycopg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet  # noqa: E402  pylint: disable=wrong-import-position
from rig.inventory import plain  # noqa: E402  pylint: disable=wrong-import-position
from rig.load import HttpLoad, Writer  # noqa: E402  pylint: disable=wrong-import-position
from rig.procs import port_in_use  # noqa: E402  pylint: disable=wrong-import-position
from rig.simulator import Simulator  # noqa: E402  pylint: disable=wrong-import-position
from rig.site import Site  # noqa: E402  pylint: disable=wrong-import-position

VENV_BIN = os.path.join(ROOT, ".venv", "bin")
# (VM, scenario, severity, events posted): the rest of the fleet is healthy
STORY = [("DC0_C0_RP0_VM1", "degrading_disk", 0.29, 8), ("DC0_C0_RP0_VM2", "memory_leak", 0.315, 0)]
SERVICE = "DC0_C0_RP0_VM3"  # the VM with a web service behind HAProxy and a PostgreSQL database
OUT = os.path.join(ROOT, "demo-output")


def step(text):
    print("\n==> " + text, flush=True)


def push_telemetry(sim):
    for i, vm in enumerate(v["name"] for v in sim.vms()):
        sim.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    for vm, scenario, severity, count in STORY:
        sim.set_perf(vm, fleet.scenario_series(scenario, severity, seed=7))
        events = fleet.scenario_events(scenario, severity, seed=7)["vm"][:count]
        for event_type in events:
            sim.post_event(vm, event_type, "%s on %s" % (scenario.replace("_", " "), vm))
        print("    %s: %s at severity %g, %d events" % (vm, scenario, severity, len(events)))


def inventory(site):
    env = dict(os.environ, **site.sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    listing = subprocess.run([os.path.join(VENV_BIN, "ansible-inventory"), "-i", site.inventory, "--list"], cwd=ROOT,
                             env=env, check=True, capture_output=True, text=True).stdout
    return plain(json.loads(listing))


def table(site):
    inv = inventory(site)
    hostvars = inv["_meta"]["hostvars"]
    failover = set(inv.get("failover_now", {}).get("hosts", []))
    mirrors = {hv.get("mirror_of"): (name, hv) for name, hv in hostvars.items() if hv.get("mirror_of")}
    print("    %-16s %-4s %6s  %-8s %-38s %s" % ("VM", "DC", "FPS", "level", "mirror in DC1", "top reason"))
    for name in sorted(hostvars):
        hv = hostvars[name]
        if "fps" not in hv:
            continue
        reason = hv["fps_reasons"][0] if hv["fps_reasons"] else None
        why = "%s=%s (+%s)" % (reason["feature"], reason["value"], reason["contribution"]) if reason else "-"
        flag = "  FAILOVER NOW" if name in failover else ""
        if hv.get("mirroring_quarantined"):
            flag = "  failed over"
        m = mirrors.get(hv.get("vm_instance_uuid"))
        where = "-" if m is None else "%s %s %dvCPU/%dMB" % (m[0], m[1]["power_state"], m[1]["num_cpu"], m[1]["memory_mb"])
        row = (name, hv["datacenter"], hv["fps"], hv["mirroring_level"], where, why, flag)
        print("    %-16s %-4s %6.1f  %-8s %-38s %s%s" % row)
    return hostvars


def summary(out):
    """The PLAY RECAP lines of a playbook run."""
    return "\n".join("    " + line for line in out.splitlines() if "ok=" in line and "changed=" in line)


def show_services(site):
    pool = site.pool()
    print("    HAProxy backend app: " + ", ".join("%s %s weight %s" % (n, s, w) for n, (s, w) in sorted(pool.items())))
    for label, dsn in (("the primary's", site.db.dsn), ("the mirror's (promoted)", site.standby_dsn())):
        try:
            with psycopg.connect(dsn, connect_timeout=3) as c:
                if c.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    continue
                rows = c.execute("SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY 1").fetchall()
        except psycopg.OperationalError:
            continue
        print("    PostgreSQL: %s database takes the writes; it streams to %s"
              % (label, ", ".join("%s (%s, %s)" % r for r in rows) or "no standby"))


def story(sim, work):
    step("Feeding each VM telemetry from the failure process (most healthy, two degrading)")
    push_telemetry(sim)
    site = Site(sim, work, SERVICE)
    try:
        step("1. The fleet, scored and tiered; reconcile gives the risky VMs mirrors in DC1")
        print(summary(site.playbook("reconcile")))
        table(site)
        show_services(site)
        step("   The same reconcile again: nothing left to change")
        print(summary(site.playbook("reconcile")))

        load = HttpLoad(site.ha.frontends["app"], clients=4).start()
        writer = Writer(site.writer_dsn()).start()
        step("2. %s degrades (a failing disk, read from vCenter's perf stats and events); reconcile raises it" % SERVICE)
        print("    steady load from now on: 4 HTTP clients through HAProxy, one writer committing rows")
        site.degrade(0.28)
        print(summary(site.playbook("reconcile")))
        table(site)
        show_services(site)

        step("3. It gets worse: FPS past the failover threshold (85); reconcile, then the failover, before it dies")
        site.degrade(0.95, events=4)
        site.playbook("reconcile")
        hv = table(site)[SERVICE]
        started = time.monotonic()
        out = site.playbook("failover")
        print(summary(out))
        print("    failover.yml took %.1f s" % (time.monotonic() - started))
        show_services(site)
        step("   ... and now %s dies: the simulator crashes its guest OS, its web server goes silent" % SERVICE)
        sim.fail(SERVICE)
        site.primary_web.hang()
        time.sleep(2)
        load.stop()
        acked = writer.stop()
        lost = writer.lost(site.standby_dsn())
        print("    HTTP: %d requests, %d failed (%d answered by the mirror)"
              % (len(load.log), load.failed, load.served_by("mirror")))
        print("    PostgreSQL: %d rows committed during the run, %d lost" % (len(acked), len(lost)))
        print("    the failover was decided at FPS %.1f; top reason: %s" % (hv["fps"], hv["fps_reasons"][0]["feature"]))

        step("4. Post-Failover Analysis: what did vCenter see after the failover?")
        site.playbook("analyse")
        for f in site.failovers():
            print("    %s %s failover at %s (FPS %.1f): %s, evidence %s" % (
                f["vm"], f["kind"], f["at"], f["fps"], f["outcome"], f["label_evidence"]))

        step("5. Cost of the mirroring against the risk it covers (report.yml)")
        report_dir = os.path.join(OUT, "report")
        site.playbook("report", "-e", "mirroring_report_dir=" + report_dir)
        totals = site.results["The plan (cost optimizer), as reconcile makes it"]["localhost"]["totals"]
        if totals:
            print("    planned mirroring %.2f a month; expected loss with nothing mirrored %.2f, covered %.2f, left %.2f"
                  % (totals["cost_month"], totals["risk_at_minimal"], totals["risk_covered"], totals["risk_month"]))
            print("    levels: %s" % totals["levels"])
        print("    report: %s/index.html" % report_dir)
    finally:
        step("Stopping HAProxy, PostgreSQL and the web servers")
        site.close()


def main():
    port = int(os.environ.get("PM_DEMO_PORT", "8989"))
    if port_in_use(port):
        print("demo: port %d is taken: stop what holds it or set PM_DEMO_PORT to a free port" % port, file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("demo: run it as root (PostgreSQL runs as the postgres user)", file=sys.stderr)
        return 2
    os.makedirs(OUT, exist_ok=True)
    sim = Simulator(listen="127.0.0.1:%d" % port)
    step("Starting the vCenter simulator (govmomi): 2 datacenters, DC0 primary, DC1 secondary")
    sim.start()
    try:
        print("    %s, certificate %s" % (sim.https_url, sim.cert))
        with tempfile.TemporaryDirectory(prefix="pm-demo-") as work:
            story(sim, pathlib.Path(work))
    finally:
        step("Stopping the simulator")
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
