"""PostgreSQL clusters (Debian's server binaries) on loopback ports, in temp dirs.

initdb refuses to run as root, so as root the clusters belong to the
`postgres` system user and every server command runs as that user.
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from .procs import RigError, free_port, stop_process, wait_for


# the postgres user's crontab is one per machine: whoever edits it through the replication role (the replication
# tests, molecule's failover and replication scenarios) holds this lock, so two test commands on one machine take turns
CRONTAB_LOCK = os.path.join(tempfile.gettempdir(), "predictive-mirroring-postgres-crontab.lock")


@contextlib.contextmanager
def crontab_lock():
    """Hold CRONTAB_LOCK (flock(1) takes the same lock in scripts/test.sh)."""
    with open(CRONTAB_LOCK, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def pg_bindir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RigError("PostgreSQL server binaries not found: run scripts/bootstrap.sh")
    return os.path.dirname(found[-1])


class PostgresCluster:
    """One cluster: initdb, start on a free loopback port, stop by its PID."""

    def __init__(self, name: str, workdir: str | None = None, port: int | None = None, extra_conf: str = ""):
        self.name = name
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"pg-{name}-")
        self.datadir = os.path.join(self.workdir, "data")
        self.port = port or free_port()
        self.extra_conf = extra_conf
        self.bindir = pg_bindir()
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")
            os.chown(self.workdir, self.user.pw_uid, self.user.pw_gid)
        self.proc: subprocess.Popen | None = None

    def _as_owner(self) -> dict:
        """Popen arguments that run a command as the cluster's owner."""
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": [], "cwd": self.workdir}

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, check=False, capture_output=True, text=True, **self._as_owner())

    def initdb(self) -> None:
        r = self._run([os.path.join(self.bindir, "initdb"), "-D", self.datadir, "-U", "postgres", "-A", "trust",
                       "--no-sync", "-E", "UTF8", "--locale=C"])
        if r.returncode != 0:
            raise RigError(f"initdb {self.name}: {r.stderr.strip()}")
        with open(os.path.join(self.datadir, "postgresql.conf"), "a", encoding="utf-8") as f:
            f.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.workdir}'\n"
                    "wal_level = replica\nmax_wal_senders = 10\nmax_replication_slots = 10\nhot_standby = on\n"
                    "wal_log_hints = on\nfsync = off\n" + self.extra_conf)
        with open(os.path.join(self.datadir, "pg_hba.conf"), "a", encoding="utf-8") as f:
            f.write("host replication all 127.0.0.1/32 trust\n")

    def start(self, timeout: float = 30.0) -> "PostgresCluster":
        if not os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            self.initdb()
        self.log = os.path.join(self.workdir, "postgres.log")
        argv = [os.path.join(self.bindir, "postgres"), "-D", self.datadir]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                         start_new_session=True, **self._as_owner())
        wait_for(self._ready, timeout, f"postgres {self.name}", self.proc, self.log)
        return self

    def _ready(self) -> bool:
        r = self._run([os.path.join(self.bindir, "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)])
        return r.returncode == 0

    def add_login(self, user: str, password: str, database: str | None = None) -> str:
        """A role that must give its password over TCP (scram), and optionally a database it owns; its DSN."""
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (user, password))
        if database:
            self.psql("CREATE DATABASE %s OWNER %s" % (database, user))
        hba = os.path.join(self.datadir, "pg_hba.conf")
        with open(hba, encoding="utf-8") as f:
            rules = f.read()
        with open(hba, "w", encoding="utf-8") as f:  # the first matching line wins
            f.write("host all %s 127.0.0.1/32 scram-sha-256\n" % user + rules)
        self.psql("SELECT pg_reload_conf()")
        return "host=127.0.0.1 port=%d dbname=%s user=%s password=%s" % (self.port, database or "postgres", user, password)

    def psql(self, sql: str, db: str = "postgres") -> str:
        r = self._run([os.path.join(self.bindir, "psql"), "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.port),
                       "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql])
        if r.returncode != 0:
            raise RigError(f"psql {self.name}: {r.stderr.strip()}")
        return r.stdout.strip()

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def stop(self) -> None:
        if self.proc is not None:
            # SIGTERM is postgres' smart shutdown.
            stop_process(self.proc, timeout=20)
            self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
