"""The replication role against real PostgreSQL: a streaming standby, rows read back, and the synchronous guarantee observed."""
from __future__ import annotations

import json
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
from rig.postgres import PostgresCluster, crontab_lock, pg_bindir
from rig.procs import free_port

# these tests change the postgres user's crontab (WAL shipping); no other test file does, and pytest runs this
# file's tests on one worker, one after the other (ONE_WORKER in tests/conftest.py); they hold the machine's crontab
# lock while they run, which a second test command's replication tests and molecule scenarios wait for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PLAY = """---
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: predictive.mirroring.replication
        tasks_from: %s
"""


@pytest.fixture(scope="module", autouse=True)
def _the_crontab_is_ours():
    with crontab_lock():
        yield


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


def apply_role(tmp_path, primary, standby, level, entry="main", expect_ok=True, **more):
    play = tmp_path / "play.yml"
    play.write_text(PLAY % entry)
    extra = {"mirroring_replication_level": level, "mirroring_pg_primary_host": "127.0.0.1",
             "mirroring_pg_primary_port": primary.port, "mirroring_pg_standby_datadir": standby["datadir"],
             "mirroring_pg_standby_host": "127.0.0.1", "mirroring_pg_primary_delegate": "db01",
             "mirroring_pg_primary_datadir": primary.datadir, "mirroring_pg_archive_cron": False,
             "mirroring_pg_standby_port": standby["port"], "mirroring_pg_bindir": pg_bindir()}
    extra.update(more)
    # the DB host's tasks run as postgres, who cannot read this venv's interpreter under /root:
    # they get Debian's python3; tasks delegated to the controller keep the venv (psycopg)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    db01:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: /usr/bin/python3\n")
    args = [os.path.join(BIN, "ansible-playbook"), str(play), "-i", str(inventory)]
    args += ["-e", json.dumps(extra)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_PIPELINING="1",
               ANSIBLE_BECOME_METHOD="su", PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    if not expect_ok:
        assert proc.returncode != 0, proc.stdout[-3000:]
        return proc.stdout
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


def as_postgres(*argv, **kw):
    owner = pwd.getpwnam("postgres")
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, user=owner.pw_uid, group=owner.pw_gid,
                          cwd="/tmp", **kw)


def slots(primary):
    with connect(primary.port) as c:
        return dict(c.execute("SELECT slot_name, active FROM pg_replication_slots").fetchall())


def postgres_crontab():
    r = subprocess.run(["crontab", "-u", "postgres", "-l"], capture_output=True, text=True, check=False)
    return r.stdout if r.returncode == 0 else ""


def drop_cron_lines(marker):
    kept = "".join(line + "\n" for line in postgres_crontab().splitlines() if marker not in line)
    subprocess.run(["crontab", "-u", "postgres", "-"], input=kept, text=True, check=True)


def test_minimal_level_ships_base_backups_and_wal(sites, tmp_path):
    """minimal: WAL streamed and a base backup taken on the secondary; restoring them gives back every row."""
    primary, standby = sites
    archive = os.path.join(os.path.dirname(standby["datadir"]), "archive")
    try:
        assert apply_role(tmp_path, primary, standby, "minimal", mirroring_pg_archive_cron=True) > 0
        cron = postgres_crontab()
        assert archive + "/pm-archive.sh wal" in cron and archive + "/pm-archive.sh base" in cron
        assert apply_role(tmp_path, primary, standby, "minimal", mirroring_pg_archive_cron=True) == 0  # idempotent
        backups = sorted(os.listdir(os.path.join(archive, "base")))
        assert len(backups) == 1 and os.path.exists(os.path.join(archive, "base", backups[0], "base.tar.gz"))
        assert slots(primary) == {"db01_mirror_archive": True}
        with connect(primary.port) as c:
            c.execute("CREATE TABLE orders (id int PRIMARY KEY)")
            c.execute("INSERT INTO orders SELECT generate_series(1, 300)")
            segment = c.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0]
            c.execute("SELECT pg_switch_wal()")
        deadline = time.monotonic() + 20
        while not os.path.exists(os.path.join(archive, "wal", segment)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert os.path.exists(os.path.join(archive, "wal", segment)), os.listdir(os.path.join(archive, "wal"))

        # restore on the secondary from what was shipped there alone: the base backup, then the WAL archive
        restored = PostgresCluster("restored")
        try:
            os.makedirs(restored.datadir, mode=0o700)
            os.chown(restored.datadir, restored.user.pw_uid, restored.user.pw_gid)
            # the backup holds the WAL it needs (--wal-method=fetch); what came after is in the shipped WAL
            as_postgres("tar", "-xzf", os.path.join(archive, "base", backups[0], "base.tar.gz"), "-C", restored.datadir)
            with open(os.path.join(restored.datadir, "postgresql.auto.conf"), "a", encoding="utf-8") as f:
                f.write("port = %d\nunix_socket_directories = '%s'\nrestore_command = 'cp %s/wal/%%f %%p'\n"
                        % (restored.port, restored.workdir, archive))
            as_postgres("touch", os.path.join(restored.datadir, "recovery.signal"))
            restored.start()
            deadline = time.monotonic() + 30
            while restored.psql("SELECT pg_is_in_recovery()") == "t" and time.monotonic() < deadline:
                time.sleep(0.2)
            assert restored.psql("SELECT count(*) FROM orders") == "300"
        finally:
            restored.remove()

        # up to partial: the receiver stops, its slot and cron entries go, a standby streams instead; the entries of
        # a namesake's standby (the same application name, its own archive) stay
        namesake = "#Ansible: predictive.mirroring wal db01_mirror /srv/namesake/archive\n* * * * * /srv/namesake/archive/pm-archive.sh wal\n"
        subprocess.run(["crontab", "-u", "postgres", "-"], input=postgres_crontab() + namesake, text=True, check=True)
        assert apply_role(tmp_path, primary, standby, "partial") > 0
        assert slots(primary) == {"db01_mirror": True}
        assert archive not in postgres_crontab() and namesake in postgres_crontab()
        assert not os.path.exists(os.path.join(archive, "wal.pid"))
        # and back down: the standby is stopped and removed, its slot dropped, shipping resumes
        assert apply_role(tmp_path, primary, standby, "minimal") > 0
        assert not os.path.exists(standby["datadir"])
        assert slots(primary) == {"db01_mirror_archive": True}
        assert len(os.listdir(os.path.join(archive, "base"))) == 1  # the first backup is kept, none taken twice
    finally:
        if os.path.exists(os.path.join(archive, "pm-archive.sh")):
            as_postgres(os.path.join(archive, "pm-archive.sh"), "stop")
        drop_cron_lines(archive)
        drop_cron_lines("/srv/namesake/archive")


def test_zero_loss_switchover_and_reattach(sites, tmp_path):
    """Under a stream of commits: clean stop, standby confirmed at the checkpoint, promoted; no acknowledged row lost;
    the old primary is rewound and streams from the new one."""
    primary, standby = sites
    apply_role(tmp_path, primary, standby, "partial")
    with connect(primary.port) as c:
        c.execute("CREATE TABLE ledger (id int PRIMARY KEY)")
    dsn = ("host=127.0.0.1,127.0.0.1 port=%d,%d user=postgres dbname=postgres target_session_attrs=read-write "
           "connect_timeout=2" % (primary.port, standby["port"]))
    acked, stop = [], threading.Event()

    def writer():
        n = 0
        conn = None
        while not stop.is_set():
            try:
                if conn is None:
                    conn = psycopg.connect(dsn, autocommit=True)
                n += 1
                conn.execute("INSERT INTO ledger VALUES (%s)", (n,))
                acked.append(n)
            except psycopg.Error:
                conn = None
                time.sleep(0.05)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    time.sleep(1)
    assert apply_role(tmp_path, primary, standby, "partial", entry="switchover") > 0
    time.sleep(1)
    stop.set()
    thread.join(10)
    with connect(standby["port"]) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        present = {r[0] for r in s.execute("SELECT id FROM ledger").fetchall()}
    assert len(acked) > 50
    assert set(acked) <= present, "committed rows lost: %s" % sorted(set(acked) - present)[:10]
    assert apply_role(tmp_path, primary, standby, "partial", entry="switchover") == 0

    assert apply_role(tmp_path, primary, standby, "partial", entry="reattach") > 0
    with connect(standby["port"]) as s:
        assert s.execute("SELECT state FROM pg_stat_replication WHERE application_name = 'db01_primary'").fetchone() == \
            ("streaming",)
        s.execute("INSERT INTO ledger VALUES (-1)")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with connect(primary.port) as c:
            assert c.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            if c.execute("SELECT count(*) FROM ledger WHERE id = -1").fetchone()[0]:
                break
        time.sleep(0.2)
    else:
        raise AssertionError("a row written on the new primary never reached the reattached old one")
    assert apply_role(tmp_path, primary, standby, "partial", entry="reattach") == 0


def test_switchover_refused_after_a_crash(sites, tmp_path):
    primary, standby = sites
    apply_role(tmp_path, primary, standby, "partial")
    primary.proc.kill()  # SIGKILL: no shutdown checkpoint: its last WAL may not have left it
    primary.proc.wait()
    out = apply_role(tmp_path, primary, standby, "partial", entry="switchover", expect_ok=False)
    assert "not cleanly shut down" in out
    with connect(standby["port"]) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]  # nothing promoted


def test_replication_user_without_rights(sites):
    primary = sites[0]
    with connect(primary.port) as c:
        c.execute("CREATE ROLE replicator LOGIN REPLICATION")
    result, failed = run_module(pg_replication, {
        "primary": "host=127.0.0.1 port=%d user=replicator dbname=postgres" % primary.port,
        "application_name": "db01_mirror", "mode": "sync", "require_connected": False})
    assert failed and "lacks the rights" in result["msg"]
    with connect(primary.port) as c:
        assert c.execute("SHOW synchronous_standby_names").fetchone() == ("",)  # nothing half-changed
        assert c.execute("SELECT count(*) FROM pg_replication_slots").fetchone() == (0,)
