"""The replication role against real PostgreSQL: a streaming standby, rows read back, and the synchronous guarantee observed."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import psycopg
import pytest

from ansible_collections.predictive.mirroring.plugins.modules import pg_replication

from common.utils import run_module
from rig.postgres import PostgresCluster, pg_bindir
from rig.procs import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PLAY = """---
- hosts: all
  gather_facts: false
  roles:
    - role: predictive.mirroring.replication
"""


@pytest.fixture
def sites():
    primary = PostgresCluster("primary")
    standby_dir = tempfile.mkdtemp(prefix="pg-standby-")
    owner = pwd.getpwnam("postgres")
    os.chown(standby_dir, owner.pw_uid, owner.pw_gid)
    standby = {"datadir": os.path.join(standby_dir, "data"), "port": free_port()}
    try:
        primary.start()
        yield primary, standby
    finally:
        if os.path.exists(os.path.join(standby["datadir"], "postmaster.pid")):
            pg_ctl(standby, "stop", "--mode=immediate")
        primary.remove()
        shutil.rmtree(standby_dir, ignore_errors=True)


def pg_ctl(standby, *args):
    owner = pwd.getpwnam("postgres")
    subprocess.run([os.path.join(pg_bindir(), "pg_ctl"), "--pgdata=" + standby["datadir"], "--wait"] + list(args),
                   check=True, capture_output=True, user=owner.pw_uid, group=owner.pw_gid, cwd="/tmp")


def apply_role(tmp_path, primary, standby, level):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    extra = {"mirroring_replication_level": level, "mirroring_pg_primary_host": "127.0.0.1",
             "mirroring_pg_primary_port": primary.port, "mirroring_pg_standby_datadir": standby["datadir"],
             "mirroring_pg_standby_port": standby["port"], "mirroring_pg_bindir": pg_bindir()}
    # the DB host's tasks run as postgres, who cannot read this venv's interpreter under /root:
    # they get Debian's python3; tasks delegated to the controller keep the venv (psycopg)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    db01:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: /usr/bin/python3\n")
    args = [os.path.join(BIN, "ansible-playbook"), str(play), "-i", str(inventory)]
    for k, v in extra.items():
        args += ["-e", "%s=%s" % (k, v)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_PIPELINING="1",
               ANSIBLE_BECOME_METHOD="su", PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return int(proc.stdout.split("changed=")[1].split()[0])


def connect(port):
    return psycopg.connect("host=127.0.0.1 port=%d user=postgres dbname=postgres" % port, autocommit=True)


def replica_row(primary):
    with connect(primary.port) as c:
        return c.execute("SELECT state, sync_state FROM pg_stat_replication WHERE application_name = 'db01_mirror'").fetchone()


def test_partial_then_full_replication(sites, tmp_path):
    primary, standby = sites
    assert apply_role(tmp_path, primary, standby, "partial") > 0
    assert replica_row(primary) == ("streaming", "async")
    with connect(primary.port) as c:
        c.execute("CREATE TABLE orders (id int PRIMARY KEY, item text)")
        c.execute("INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 500) g")
    deadline = time.monotonic() + 20
    count = 0
    while time.monotonic() < deadline:
        with connect(standby["port"]) as s:
            assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            count = s.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'orders'").fetchone()[0] and \
                s.execute("SELECT count(*) FROM orders").fetchone()[0]
        if count == 500:
            break
        time.sleep(0.2)
    assert count == 500  # the rows written on the primary, read back on the standby
    assert apply_role(tmp_path, primary, standby, "partial") == 0  # idempotent

    assert apply_role(tmp_path, primary, standby, "full") > 0
    assert replica_row(primary) == ("streaming", "sync")
    assert apply_role(tmp_path, primary, standby, "full") == 0

    # the synchronous guarantee: with the standby down, a commit does not return
    pg_ctl(standby, "stop", "--mode=fast")
    done = threading.Event()

    def write():
        with connect(primary.port) as c:
            c.execute("INSERT INTO orders VALUES (501, 'while the standby is down')")
        done.set()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    assert not done.wait(3), "a commit returned while the synchronous standby was down"
    pg_ctl(standby, "--log=" + os.path.join(standby["datadir"], "standby.log"), "start")
    assert done.wait(30), "the commit did not return once the standby was back"
    with connect(standby["port"]) as s:
        assert s.execute("SELECT item FROM orders WHERE id = 501").fetchone() == ("while the standby is down",)


def test_promotion_and_bad_input(sites, tmp_path):
    primary, standby = sites
    apply_role(tmp_path, primary, standby, "partial")
    conninfo = "host=127.0.0.1 port=%d user=postgres dbname=postgres" % standby["port"]
    result, failed = run_module(pg_replication, {"standby": conninfo, "application_name": "db01_mirror", "mode": "promoted"},
                                check_mode=True)
    assert not failed and result["changed"]
    result, failed = run_module(pg_replication, {"standby": conninfo, "application_name": "db01_mirror", "mode": "promoted"})
    assert not failed and result["changed"]
    with connect(standby["port"]) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        s.execute("CREATE TABLE after_promotion (id int)")  # it takes writes now
    result, failed = run_module(pg_replication, {"standby": conninfo, "application_name": "db01_mirror", "mode": "promoted"})
    assert not failed and not result["changed"]
    # unreachable primary, and a standby that is not connected
    result, failed = run_module(pg_replication, {"primary": "host=127.0.0.1 port=1 user=postgres", "application_name": "x",
                                                 "mode": "async"})
    assert failed and "Cannot connect to the primary database" in result["msg"]
    result, failed = run_module(pg_replication, {"primary": "host=127.0.0.1 port=%d user=postgres dbname=postgres" % primary.port,
                                                 "application_name": "nobody", "mode": "async", "wait_connected": 1})
    assert failed and "not streaming" in result["msg"]
