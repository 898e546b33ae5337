# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL streaming replication: the primary's synchronous set, lag, promotion."""

from __future__ import annotations

import re

import time
import traceback

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError, require

try:
    import psycopg
    from psycopg import sql
    HAS_PSYCOPG = True
    PSYCOPG_IMPORT_ERROR = None
except ImportError:
    HAS_PSYCOPG = False
    PSYCOPG_IMPORT_ERROR = traceback.format_exc()


class ReplicationError(MirroringError):
    """Database unreachable, rights missing, replication not as asked."""


class Postgres:
    def __init__(self, conninfo, role="primary"):
        require("psycopg", HAS_PSYCOPG, PSYCOPG_IMPORT_ERROR)
        self.role = role
        try:
            self.conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as e:
            raise ReplicationError("Cannot connect to the %s database: %s" % (role, str(e).strip())) from None

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def one(self, query, params=None):
        """The first column of the first row of a query (None for a statement that returns no rows)."""
        try:
            cur = self.conn.execute(query, params)
            row = cur.fetchone() if cur.description else None
        except psycopg.errors.InsufficientPrivilege as e:
            raise ReplicationError("The %s database user lacks the rights for this (%s): replication changes need a "
                                   "superuser or pg_write_server_files and ALTER SYSTEM rights" % (self.role, str(e).strip())) from None
        except psycopg.Error as e:
            raise ReplicationError("%s database: %s" % (self.role.capitalize(), str(e).strip())) from None
        return row[0] if row else None

    def in_recovery(self):
        return self.one("SELECT pg_is_in_recovery()")

    def sync_settings(self):
        return {"synchronous_standby_names": self.one("SHOW synchronous_standby_names"),
                "synchronous_commit": self.one("SHOW synchronous_commit")}

    def set_sync(self, names, commit, timeout=10.0):
        """ALTER SYSTEM and reload; a reload is asynchronous, so wait until the server reports the new values."""
        self.one(sql.SQL("ALTER SYSTEM SET synchronous_standby_names = {}").format(sql.Literal(names)))
        self.one(sql.SQL("ALTER SYSTEM SET synchronous_commit = {}").format(sql.Literal(commit)))
        self.one("SELECT pg_reload_conf()")
        want = {"synchronous_standby_names": names, "synchronous_commit": commit}
        deadline = time.monotonic() + timeout
        while self.sync_settings() != want:
            if time.monotonic() > deadline:
                raise ReplicationError("The primary still reports %s %.0f s after the reload, not %s"
                                       % (self.sync_settings(), timeout, want))
            time.sleep(0.05)

    def wait_standby(self, application_name, timeout):
        """The standby's row once it streams, waiting up to timeout seconds; None if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            row = self.standby(application_name)
            if (row is not None and row["state"] == "streaming") or time.monotonic() > deadline:
                return row
            time.sleep(0.2)

    def standby(self, application_name):
        """The standby's row in pg_stat_replication, with its lag in bytes and seconds; None if not connected."""
        try:
            row = self.conn.execute(
                "SELECT state, sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, "
                "COALESCE(EXTRACT(EPOCH FROM replay_lag), 0)::float FROM pg_stat_replication WHERE application_name = %s",
                (application_name,)).fetchone()
        except psycopg.Error as e:
            raise ReplicationError("Primary database: %s" % str(e).strip()) from None
        if row is None:
            return None
        return {"state": row[0], "sync_state": row[1], "lag_bytes": int(row[2] or 0), "lag_seconds": round(row[3], 3)}

    def slots(self):
        """Physical replication slots on this server: name -> active."""
        try:
            rows = self.conn.execute("SELECT slot_name, active FROM pg_replication_slots WHERE slot_type = 'physical'").fetchall()
        except psycopg.Error as e:
            raise ReplicationError("%s database: %s" % (self.role.capitalize(), str(e).strip())) from None
        return dict(rows)

    def create_slot(self, name):
        # reserve WAL at once, not only when a consumer first connects
        self.one("SELECT pg_create_physical_replication_slot(%s, true)", (name,))

    def drop_slot(self, name):
        """Drop a slot nobody is using; a slot in use is an error (its consumer must be stopped first)."""
        if self.slots().get(name):
            raise ReplicationError("Replication slot '%s' is still in use on the %s: stop what streams from it first"
                                   % (name, self.role))
        self.one("SELECT pg_drop_replication_slot(%s)", (name,))

    def standby_lag(self):
        """The standby's own view: WAL received but not replayed (bytes), and the age of the last replayed commit when
        there is something left to replay (seconds; 0 when caught up)."""
        try:
            row = self.conn.execute(
                "SELECT pg_is_in_recovery(), COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint, "
                "CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END::float").fetchone()
        except psycopg.Error as e:
            raise ReplicationError("Standby database: %s" % str(e).strip()) from None
        return {"in_recovery": row[0], "lag_bytes": int(row[1]), "lag_seconds": round(row[2], 3)}

    def replay_lsn(self):
        """The standby's last replayed WAL position (a string such as 0/3000148)."""
        return self.one("SELECT pg_last_wal_replay_lsn()::text")

    def wait_replayed(self, lsn, timeout):
        """Wait until this standby has replayed up to lsn; the position it reached."""
        deadline = time.monotonic() + timeout
        while True:
            reached = self.one("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,))
            if reached or time.monotonic() > deadline:
                return bool(reached), self.replay_lsn()
            time.sleep(0.05)

    def promote(self, wait_seconds=60):
        """pg_promote; then clear a synchronous standby list copied from the old primary: a just-promoted server has no
        standby, and a list naming one would hold every commit until one attaches."""
        done = self.one("SELECT pg_promote(wait => true, wait_seconds => %s)", (int(wait_seconds),))
        if done and self.one("SHOW synchronous_standby_names"):
            self.set_sync("", self.one("SHOW synchronous_commit"))
        return done


IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9_]{1,63}$")


def check_identifier(kind, value):
    """An application or slot name, refused unless letters, digits and '_' (what slot names allow)."""
    if not isinstance(value, str) or not IDENTIFIER_RE.match(value):
        raise ReplicationError("%s %r is refused: letters, digits and '_' only (at most 63)" % (kind, value))
    return value


def sync_names_for(application_name):
    """synchronous_standby_names that makes one standby synchronous."""
    return 'FIRST 1 ("%s")' % check_identifier("application_name", application_name)
