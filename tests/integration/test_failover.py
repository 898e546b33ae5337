"""The closed loop end to end, against the simulator, HAProxy and PostgreSQL, under a steady HTTP load and a
steady stream of committed writes: degrade -> reconcile raises the level -> FPS passes the threshold -> predictive
failover -> the primary dies -> nothing failed, nothing lost -> the analysis confirms the prediction -> failback.
The same with a reactive failover for contrast, the blast-radius refusal and the preflight refusal."""
from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import psycopg
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.traffic.haproxy import HAProxy as RuntimeAPI

from rig.haproxy import HAProxy
from rig.load import HttpLoad, Writer
from rig.postgres import PostgresCluster, pg_bindir
from rig.procs import free_port
from rig.web import Web

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
SICK = "DC0_C0_RP0_VM1"


class Site:
    """One service VM's real parts: its web server and its mirror's behind HAProxy, its database and a standby
    directory, and an inventory that ties them to the VM in the simulator."""

    def __init__(self, sim, tmp_path):
        self.sim = sim
        self.dir = tmp_path
        self.primary_web = Web("primary", delay=0.005).start()
        self.mirror_web = Web("mirror", delay=0.005).start()
        self.drill_web = Web("drill").start()  # what the drill's isolated copy serves
        self.ha = HAProxy({"app": [(SICK, self.primary_web.address, "weight 100")], "drill": []},
                          workdir=str(tmp_path / "haproxy"))
        os.makedirs(self.ha.workdir)
        self.ha.config_extra = ["    timeout server 3s"]
        self.ha.start()
        self.db = PostgresCluster("primary").start()
        self.standby_dir = tempfile.mkdtemp(prefix="pg-standby-")
        owner = pwd.getpwnam("postgres")
        os.chown(self.standby_dir, owner.pw_uid, owner.pw_gid)
        self.standby_port = free_port()
        with psycopg.connect(self.db.dsn, autocommit=True) as c:
            c.execute("CREATE TABLE ledger (id int PRIMARY KEY)")
        self.history = str(tmp_path / "history.sqlite")
        self.inventory = self.write_inventory()

    @property
    def standby_datadir(self):
        return os.path.join(self.standby_dir, "data")

    def standby_dsn(self):
        return "host=127.0.0.1 port=%d user=postgres dbname=postgres" % self.standby_port

    def writer_dsn(self):
        return ("host=127.0.0.1,127.0.0.1 port=%d,%d user=postgres dbname=postgres target_session_attrs=read-write "
                "connect_timeout=2" % (self.db.port, self.standby_port))

    def write_inventory(self):
        inv = self.dir / "inventory"
        (inv / "host_vars").mkdir(parents=True)
        (inv / "group_vars").mkdir()
        (inv / "fleet.vsphere_fps.yml").write_text(json.dumps({
            "plugin": "predictive.mirroring.vsphere_fps", "datacenters": ["DC0"], "history_path": self.history,
            "groups": {"mirroring_services": "vm_name == '%s'" % SICK}}))
        (inv / "group_vars" / "all.json").write_text(json.dumps({
            "mirroring_secondary_datacenter": "DC1", "mirroring_history_path": self.history}))
        (inv / "host_vars" / (SICK + ".json")).write_text(json.dumps({
            # the VM's own commands (its database) run here, as postgres
            "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
            "mirroring_lb_socket": self.ha.socket, "mirroring_lb_backend": "app",
            "mirroring_lb_mirror_address": self.mirror_web.address, "mirroring_lb_drain_timeout": 10,
            "mirroring_mirror_health_url": "http://%s/health" % self.mirror_web.address,
            "mirroring_pg_primary_host": "127.0.0.1", "mirroring_pg_primary_port": self.db.port,
            "mirroring_pg_primary_datadir": self.db.datadir, "mirroring_pg_primary_delegate": SICK,
            "mirroring_pg_standby_datadir": self.standby_datadir, "mirroring_pg_standby_port": self.standby_port,
            "mirroring_pg_standby_host": "127.0.0.1", "mirroring_pg_bindir": pg_bindir(),
            "mirroring_pg_archive_cron": False, "mirroring_pg_synchronous_commit": "remote_apply",
            "mirroring_drill_backend": "drill", "mirroring_drill_address": self.drill_web.address,
            "mirroring_drill_url": "http://127.0.0.1:%d/" % self.ha.frontends["drill"],
            "mirroring_pg_drill_port": free_port(), "mirroring_pg_drill_check_sql": "SELECT count(*) FROM ledger"}))
        return str(inv)

    def playbook(self, name, *extra, ok=True):
        env = dict(os.environ, **self.sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_PIPELINING="1",
                   ANSIBLE_BECOME_METHOD="su", PATH=BIN + os.pathsep + os.environ["PATH"])
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/%s.yml" % name, "-i", self.inventory]
                              + list(extra), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        if ok:
            assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:] + self.server_logs()
        else:
            assert proc.returncode != 0, proc.stdout[-5000:]
        return proc.stdout

    def server_logs(self):
        out = ""
        for datadir in (self.standby_datadir, self.db.datadir):
            for name in ("standby.log", "reattached.log"):
                path = os.path.join(datadir, name)
                if os.path.exists(path):
                    with open(path, encoding="utf-8", errors="replace") as f:
                        out += "\n--- %s\n%s" % (path, f.read()[-1500:])
        return out

    def degrade(self, severity):
        self.sim.set_perf(SICK, fleet.scenario_series("memory_leak", severity, seed=5))
        for event_type in fleet.scenario_events("memory_leak", severity, seed=5)["vm"][:4]:
            self.sim.post_event(SICK, event_type)

    def pool(self, backend="app"):
        return {name: (s["state"], s["weight"]) for name, s in RuntimeAPI(self.ha.socket).servers(backend).items()}

    def production(self):
        """What a drill must leave exactly as it was: the pool, the replication, the VMs."""
        with psycopg.connect(self.db.dsn) as c:
            replication = c.execute("SELECT application_name, state, sync_state FROM pg_stat_replication "
                                    "ORDER BY 1").fetchall()
            slots = c.execute("SELECT slot_name, active FROM pg_replication_slots ORDER BY 1").fetchall()
        vms = {name: (vm["power_state"], vm["num_cpu"], vm["memory_mb"], sorted(vm["attributes"].items()))
               for name, vm in self.vms().items()}
        servers = {name: (s["address"], s["state"], s["weight"]) for name, s in RuntimeAPI(self.ha.socket).servers("app").items()}
        return json.dumps({"pool": servers, "replication": replication, "slots": slots, "vms": vms}, sort_keys=True)

    def vms(self):
        conn = {k: v for k, v in self.sim.connection().items() if k != "protocol"}
        with vsphere.VSphere(**conn) as vs:
            return {vm["name"]: vm for vm in vs.virtual_machines()}

    def failovers(self):
        with sqlite3.connect(self.history) as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM failovers ORDER BY id")]

    def close(self):
        for datadir in (self.standby_datadir, self.db.datadir):
            if os.path.exists(os.path.join(datadir, "postmaster.pid")):
                owner = pwd.getpwnam("postgres")
                subprocess.run([os.path.join(pg_bindir(), "pg_ctl"), "--pgdata=" + datadir, "--mode=immediate", "stop"],
                               check=False, capture_output=True, user=owner.pw_uid, group=owner.pw_gid, cwd="/tmp")
        self.db.remove()
        shutil.rmtree(self.standby_dir, ignore_errors=True)
        self.ha.stop()
        self.primary_web.stop()
        self.mirror_web.stop()
        self.drill_web.stop()


def changed(stdout):
    return {line.split()[0]: int(line.split("changed=")[1].split()[0]) for line in stdout.splitlines()
            if "changed=" in line and ":" in line}


@pytest.fixture
def site(simulator, tmp_path):
    for i, vm in enumerate(v["name"] for v in simulator.vms()):
        simulator.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    s = Site(simulator, tmp_path)
    try:
        yield s
    finally:
        s.close()


def test_predictive_failover_loses_nothing_and_is_confirmed_then_fails_back(site):
    # a healthy VM: minimal - WAL shipped, no mirror in the pool
    site.playbook("reconcile")
    assert site.pool() == {SICK: ("ready", 100)}
    assert SICK + "-mirror" not in site.vms()

    # it degrades: reconcile raises it, a mirror VM, a streaming standby and a mirror in the pool appear
    site.degrade(0.8)
    site.playbook("reconcile")
    level = site.vms()[SICK]["attributes"][vsphere.ATTR_LEVEL]
    assert level in ("partial", "full")
    assert site.pool()[SICK + "-mirror"] == ("ready", 0 if level == "partial" else 100)
    with psycopg.connect(site.standby_dsn()) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]

    load = HttpLoad(site.ha.frontends["app"], clients=4).start()
    writer = Writer(site.writer_dsn()).start()
    try:
        time.sleep(1)
        # FPS passes the threshold: the scheduled reconcile, then the failover
        site.degrade(0.95)
        site.playbook("reconcile")
        out = site.playbook("failover")
        assert changed(out)[SICK] > 0
        # the primary dies after the failover
        site.sim.fail(SICK)
        site.primary_web.hang()
        time.sleep(2)
    finally:
        log = load.stop()
        acked = writer.stop()
    print("predictive: %d requests, %d failed; %d rows committed, %d lost"
          % (len(log), load.failed, len(acked), len(writer.lost(site.standby_dsn()))))
    assert len(log) > 100 and len(acked) > 50
    assert load.failed == 0, "failed HTTP requests in a predictive failover"
    assert writer.lost(site.standby_dsn()) == [], "committed rows lost"
    assert site.pool() == {SICK: ("maint", 100), SICK + "-mirror": ("ready", 100)}
    with psycopg.connect(site.standby_dsn()) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
    vms = site.vms()
    assert vms[SICK]["attributes"][vsphere.ATTR_QUARANTINED]
    mirror = vms[SICK + "-mirror"]
    assert (mirror["num_cpu"], mirror["memory_mb"]) == (vms[SICK]["num_cpu"], vms[SICK]["memory_mb"])
    [record] = site.failovers()
    assert record["kind"] == "predictive" and record["fps"] >= 85 and json.loads(record["reasons"])
    assert len(json.loads(record["features"])) == 20

    # a second failover run, and the scheduled reconcile, leave the failed-over VM alone
    assert changed(site.playbook("failover", "-e", "mirroring_failover_hosts=" + SICK)).get(SICK, 0) == 0
    before = site.pool()
    site.playbook("reconcile")
    assert site.pool() == before

    # Post-Failover Analysis: the primary failed after the failover - a confirmed prediction
    out = site.playbook("analyse")
    [record] = site.failovers()
    assert record["outcome"] == "confirmed", out[-3000:]
    assert json.loads(record["label_evidence"])["event"] == "VmGuestOSCrashedEvent"
    with sqlite3.connect(site.history) as db:
        assert db.execute("SELECT label, source FROM windows").fetchall() == [(1, "failover")]

    # failback once the primary is healthy: data and traffic return with nothing lost
    site.sim.recover(SICK)
    site.primary_web.recover()
    for i, vm in enumerate(v["name"] for v in site.sim.vms()):
        site.sim.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    with psycopg.connect(site.standby_dsn(), autocommit=True) as s:
        s.execute("INSERT INTO ledger VALUES (-1)")  # written on the mirror while failed over
    site.playbook("failback", "-e", "mirroring_failback_hosts=" + SICK, "-e", "mirroring_failback_force=true")
    with psycopg.connect(site.db.dsn) as c:
        assert c.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        present = {r[0] for r in c.execute("SELECT id FROM ledger")}
    assert set(acked) | {-1} <= present
    pool = site.pool()
    assert pool[SICK] == ("ready", 100)
    assert not site.vms()[SICK]["attributes"][vsphere.ATTR_QUARANTINED]
    assert site.failovers()[0]["failback_at"]


def test_reactive_failover_for_contrast(site):
    site.degrade(0.5)
    site.playbook("reconcile")
    assert SICK + "-mirror" in site.pool()
    load = HttpLoad(site.ha.frontends["app"], clients=4).start()
    writer = Writer(site.writer_dsn()).start()
    try:
        time.sleep(1)
        # the primary dies with no warning: VM, web server and database at once
        site.sim.fail(SICK)
        site.primary_web.hang()
        os.kill(site.db.proc.pid, 9)
        time.sleep(1)
        site.playbook("failover", "-e", "mirroring_failover_hosts=" + SICK, "-e", "mirroring_failover_mode=reactive")
        time.sleep(2)
    finally:
        load.stop()
        acked = writer.stop()
    lost = writer.lost(site.standby_dsn())
    print("reactive: %d requests, %d failed; %d rows committed, %d lost" % (len(load.log), load.failed, len(acked), len(lost)))
    assert load.failed > 0  # the requests caught by the dead primary, and the 503s until the mirror serves
    assert site.pool()[SICK + "-mirror"] == ("ready", 100)
    site.playbook("analyse")
    assert site.failovers()[0]["outcome"] == "missed"


def test_preflight_refuses_a_lagging_replica_and_changes_nothing(site):
    site.degrade(0.5)
    site.playbook("reconcile")
    with psycopg.connect(site.standby_dsn(), autocommit=True) as s:
        s.execute("SELECT pg_wal_replay_pause()")
    with psycopg.connect(site.db.dsn, autocommit=True) as c:
        assert c.execute("SHOW synchronous_standby_names").fetchone() == ("",)  # partial: asynchronous
        c.execute("INSERT INTO ledger SELECT generate_series(1, 1000)")
    time.sleep(2)
    pool, vms = site.pool(), site.vms()
    out = site.playbook("failover", "-e", "mirroring_failover_hosts=" + SICK, "-e", "mirroring_rpo_seconds=1", ok=False)
    assert "refused" in out and "behind, more than its RPO of 1 s" in out
    assert site.pool() == pool
    assert site.vms()[SICK]["attributes"] == vms[SICK]["attributes"]
    assert site.failovers() == []
    with psycopg.connect(site.standby_dsn()) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]


def test_blast_radius_refuses_every_failover(site):
    names = [v["name"] for v in site.sim.vms() if v["name"].startswith("DC0_")][:3]
    pool = site.pool()
    out = site.playbook("failover", "-e", "mirroring_failover_hosts=" + ",".join(names), ok=False)
    assert "blast-radius limit" in out
    assert site.pool() == pool
    assert not any(vm["attributes"].get(vsphere.ATTR_QUARANTINED) for vm in site.vms().values())


def test_drill_measures_rto_and_leaves_production_as_it_was(site):
    site.degrade(0.5)
    site.playbook("reconcile")
    with psycopg.connect(site.db.dsn, autocommit=True) as c:
        c.execute("INSERT INTO ledger SELECT generate_series(1, 250)")
    time.sleep(1)
    before = site.production()
    out = site.playbook("drill", "-e", "mirroring_drill_hosts=" + SICK)
    assert '"data_check": "250"' in out  # the replicated rows, read on the drill's copy
    assert site.production() == before
    assert site.pool("drill") == {}
    assert not any(name.endswith("-drill") for name in site.vms())
    [drill] = site.failovers()
    assert drill["kind"] == "drill" and 0 < drill["downtime_s"] < 120 and drill["data_lag_s"] is not None
