"""One service VM's real parts for the closed loop: its web server and its mirror's behind HAProxy (and a drill
backend), its PostgreSQL primary and a standby directory, and an inventory directory that ties them to the VM in the
simulator. Used by tests/integration/test_failover.py and by the README's demo."""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import psycopg
from psycopg.rows import dict_row

from ansible_collections.predictive.mirroring.plugins.module_utils import vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.lease import Lease
from ansible_collections.predictive.mirroring.plugins.module_utils.traffic.haproxy import HAProxy as RuntimeAPI

from .haproxy import HAProxy
from .inventory import plain
from .postgres import PostgresCluster, pg_bindir
from .procs import free_port
from .web import Web

STORE_PASSWORD = "pm-store-Secret-7"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


class Site:
    """One service VM's real parts: its web server and its mirror's behind HAProxy, its database and a standby
    directory, and an inventory that ties them to the VM in the simulator."""

    def __init__(self, sim, tmp_path, vm, store=None):
        """store="postgresql": the history store (and its model registry) is a PostgreSQL database of its own, reached
        with a password, its DSN in PM_HISTORY_DSN (as an AWX credential injects it); every playbook then runs as an
        AWX job does - a fresh home and working directory that is removed afterwards - and the inventory scores with
        the registry's promoted model (model_path: store:latest)."""
        self.sim = sim
        self.dir = tmp_path
        self.vm = vm
        self.store = self.history_dsn = None
        self.job_leftovers = []
        self.job_env = {}
        if store == "postgresql":
            self.store = PostgresCluster("store").start()
            self.history_dsn = self.store.add_login("pm", STORE_PASSWORD, "mirroring")
        self.primary_web = Web("primary", delay=0.005).start()
        self.mirror_web = Web("mirror", delay=0.005).start()
        self.drill_web = Web("drill").start()  # what the drill's isolated copy serves
        self.ha = HAProxy({"app": [(vm, self.primary_web.address, "weight 100")], "drill": []},
                          workdir=str(tmp_path / "haproxy"))
        os.makedirs(self.ha.workdir)
        self.ha.config_extra = ["    timeout server 3s"]
        self.ha.start()
        self.standby_dir = tempfile.mkdtemp(prefix="pg-standby-")
        self.start_database()
        self.history = None if self.store else str(tmp_path / "history.sqlite")
        self.inventory = self.write_inventory()

    def start_database(self):
        """The database tier: a PostgreSQL primary with a `ledger` table, and a standby directory (self.standby_dir,
        made by the caller so close() finds it) and port for the replication role's standby."""
        self.db = PostgresCluster("primary").start()
        owner = pwd.getpwnam("postgres")
        os.chown(self.standby_dir, owner.pw_uid, owner.pw_gid)
        self.standby_port = free_port()
        with psycopg.connect(self.db.dsn, autocommit=True) as c:
            c.execute("CREATE TABLE ledger (id int PRIMARY KEY)")

    def database_vars(self, vm):
        """The host variables of the VM whose database the replication (and drill) roles manage: its commands run
        here, as postgres."""
        return {"mirroring_pg_primary_host": "127.0.0.1", "mirroring_pg_primary_port": self.db.port,
                "mirroring_pg_primary_datadir": self.db.datadir, "mirroring_pg_primary_delegate": vm,
                "mirroring_pg_standby_datadir": self.standby_datadir, "mirroring_pg_standby_port": self.standby_port,
                "mirroring_pg_standby_host": "127.0.0.1", "mirroring_pg_bindir": pg_bindir(),
                "mirroring_pg_archive_cron": False, "mirroring_pg_synchronous_commit": "remote_apply",
                "mirroring_pg_drill_port": free_port(), "mirroring_pg_drill_check_sql": "SELECT count(*) FROM ledger"}

    @property
    def standby_datadir(self):
        return os.path.join(self.standby_dir, "data")

    def standby_dsn(self):
        return "host=127.0.0.1 port=%d user=postgres dbname=postgres" % self.standby_port

    def writer_dsn(self):
        return ("host=127.0.0.1,127.0.0.1 port=%d,%d user=postgres dbname=postgres target_session_attrs=read-write "
                "connect_timeout=2" % (self.db.port, self.standby_port))

    def store_dsn(self, password):
        return "host=127.0.0.1 port=%d dbname=mirroring user=pm password=%s" % (self.store.port, password)

    def write_inventory(self):
        inv = self.dir / "inventory"
        (inv / "host_vars").mkdir(parents=True)
        (inv / "group_vars").mkdir()
        store = {"model_path": "store:latest"} if self.store else {"history_path": self.history}
        (inv / "fleet.vsphere_fps.yml").write_text(json.dumps(dict(
            store, plugin="predictive.mirroring.vsphere_fps", datacenters=["DC0"],
            groups={"mirroring_services": "vm_name == '%s'" % self.vm})))
        (inv / "group_vars" / "all.json").write_text(json.dumps(dict(
            {} if self.store else {"mirroring_history_path": self.history}, mirroring_secondary_datacenter="DC1")))
        (inv / "host_vars" / (self.vm + ".json")).write_text(json.dumps(dict(
            self.database_vars(self.vm), ansible_connection="local", ansible_python_interpreter="/usr/bin/python3",
            mirroring_lb_socket=self.ha.socket, mirroring_lb_backend="app",
            mirroring_lb_mirror_address=self.mirror_web.address, mirroring_lb_drain_timeout=10,
            mirroring_mirror_health_url="http://%s/health" % self.mirror_web.address,
            mirroring_drill_backend="drill", mirroring_drill_address=self.drill_web.address,
            mirroring_drill_url="http://127.0.0.1:%d/" % self.ha.frontends["drill"])))
        return str(inv)

    def set_inventory(self, **options):
        """Set options of the inventory source (the vsphere_fps plugin's) for every later run."""
        path = pathlib.Path(self.inventory) / "fleet.vsphere_fps.yml"
        path.write_text(json.dumps(dict(json.loads(path.read_text()), **options)))

    def set_vars(self, **values):
        """Add variables to the inventory's group_vars/all (for every later run)."""
        path = pathlib.Path(self.inventory) / "group_vars" / "all.json"
        path.write_text(json.dumps(dict(json.loads(path.read_text()), **values)))

    def task_seconds(self, suffix):
        """How long the last run's task named ... suffix took (roles prefix their task names)."""
        [seconds] = [v for k, v in self.seconds.items() if k.endswith(suffix)]
        return seconds

    def task_ended_at(self, suffix):
        """When the last run's task named ... suffix ended, on the machine's monotonic clock (time.monotonic())."""
        [when] = [v for k, v in self.ended_at.items() if k.endswith(suffix)]
        return when

    def task_ended(self, suffix):
        """When the last run's task named ... suffix ended, in seconds from the playbook's start."""
        [seconds] = [v for k, v in self.ended.items() if k.endswith(suffix)]
        return seconds

    def env(self, job):
        env = dict(os.environ, **self.sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_PIPELINING="1",
                   ANSIBLE_BECOME_METHOD="su", PATH=BIN + os.pathsep + os.environ["PATH"])
        if self.store:  # an AWX job: its own home and working directory, the store's DSN from a credential
            env.update(HOME=job, PM_BASELINE_CACHE=os.path.join(job, "baselines.json"), PM_HISTORY_DSN=self.history_dsn,
                       ANSIBLE_LOCAL_TEMP=os.path.join(job, "tmp"))
        env.update(self.job_env)
        return env

    @contextlib.contextmanager
    def job(self):
        """A fresh working directory for one run (removed after it); what it left behind lands in job_leftovers."""
        if not self.store:
            yield str(self.dir)
            return
        job = tempfile.mkdtemp(prefix="job-")
        os.chmod(job, 0o755)  # the postgres user's commands (become) may look at $HOME
        try:
            yield job
        finally:
            self.job_leftovers += [os.path.relpath(os.path.join(d, f), job) for d, _dirs, files in os.walk(job) for f in files
                                   if f.endswith((".sqlite", ".joblib"))]
            shutil.rmtree(job, ignore_errors=True)

    def inventory_list(self):
        """ansible-inventory --list of this site, as its own job."""
        with self.job() as job:
            proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", self.inventory, "--list"], cwd=ROOT,
                                  env=self.env(job), capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return plain(json.loads(proc.stdout))

    def playbook(self, name, *extra, ok=True, inventory=None):
        """Run playbooks/<name>.yml on this site's inventory (or `inventory`); its stdout. Every task's results land in
        self.results ({task name: {host: result}}). ok: whether it must succeed (True) or fail (False)."""
        record = str(self.dir / "results.json")
        started = time.monotonic()
        with self.job() as job:
            env = dict(self.env(job), RECORD_RESULTS=record, ANSIBLE_CALLBACKS_ENABLED="record_results",
                       ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "tests", "integration", "callback"))
            proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/%s.yml" % name,
                                   "-i", inventory or self.inventory] + list(extra),
                                  cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        print("site: %s.yml %s: %.1f s" % (name, " ".join(extra)[:60], time.monotonic() - started))
        if ok and proc.returncode != 0:
            raise RuntimeError("%s.yml failed:\n%s%s%s" % (name, proc.stdout[-5000:], proc.stderr[-3000:], self.server_logs()))
        if not ok and proc.returncode == 0:
            raise RuntimeError("%s.yml should have failed:\n%s" % (name, proc.stdout[-5000:]))
        with open(record, encoding="utf-8") as f:
            recorded = json.load(f)
        self.results = recorded["tasks"]
        self.seconds = recorded.get("seconds", {})
        self.ended = recorded.get("ended", {})
        self.ended_at = recorded.get("ended_at", {})
        print("  slowest:", sorted(recorded.get("seconds", {}).items(), key=lambda kv: -kv[1])[:4])
        return proc.stdout

    def changed_tasks(self):
        """The last run's tasks that reported a change, with the hosts: what a failed "changed=0" check shows."""
        return {name: sorted(h for h, r in hosts.items() if isinstance(r, dict) and r.get("changed"))
                for name, hosts in self.results.items()
                if any(isinstance(r, dict) and r.get("changed") for r in hosts.values())}

    def server_logs(self):
        out = ""
        for datadir in (self.standby_datadir, self.db.datadir):
            for name in ("standby.log", "reattached.log"):
                path = os.path.join(datadir, name)
                if os.path.exists(path):
                    with open(path, encoding="utf-8", errors="replace") as f:
                        out += "\n--- %s\n%s" % (path, f.read()[-1500:])
        return out

    def degrade(self, severity, events=4):
        """The VM's telemetry: a failing disk at `severity`, and that many of the scenario's events posted on it.

        With the default model (judged against the VM's standard normal): 0.27 and no events is partial (FPS ~51),
        0.28 with its events (3) full (~77), 0.95 and 4 events past the failover threshold (~94). (A memory leak
        goes from minimal to full within 0.01 of severity with this model: no partial step to test on.)
        """
        self.sim.set_scenario(self.vm, "degrading_disk", severity, seed=5, events=events)

    def fail_back(self, vm):
        """A row written on the mirror's database while failed over (id -1), then playbooks/failback.yml for `vm`
        (forced: the primary failed minutes ago); the ids the primary's database holds after it, read-write again."""
        with psycopg.connect(self.standby_dsn(), autocommit=True) as s:
            s.execute("INSERT INTO ledger VALUES (-1)")
        self.playbook("failback", "-e", "mirroring_failback_hosts=" + vm, "-e", "mirroring_failback_force=true")
        with psycopg.connect(self.db.dsn) as c:
            assert c.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
            return {r[0] for r in c.execute("SELECT id FROM ledger")}

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

    def set_attribute(self, vm_name, name, value):
        """Write one custom attribute on a VM, as a vSphere admin (or the passing of time) would."""
        conn = {k: v for k, v in self.sim.connection().items() if k != "protocol"}
        with vsphere.VSphere(**conn) as vs:
            [ref] = [vm["_ref"] for vm in vs.virtual_machines() if vm["name"] == vm_name]
            vs.set_attribute(ref, name, value)

    def lease(self):
        """The vCenter lease as vCenter holds it, or None when free."""
        conn = {k: v for k, v in self.sim.connection().items() if k != "protocol"}
        with vsphere.VSphere(**conn) as vs:
            return Lease(vs, "test-reader").read()

    def failovers(self):
        if self.store:
            with psycopg.connect(self.history_dsn, row_factory=dict_row) as db:
                return db.execute("SELECT * FROM failovers ORDER BY id").fetchall()
        with sqlite3.connect(self.history) as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM failovers ORDER BY id")]

    def close(self):
        if self.store:
            self.store.remove()
        if self.db.proc is not None:
            # reap a primary killed by the test: pg_ctl would otherwise wait out its 60 s for a zombie to go
            self.db.proc.poll()
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
