# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL streaming replication: the primary's synchronous set, lag, promotion."""

from __future__ import annotations

import re
import time
import traceback

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import ReplicationError, require

try:
    import psycopg
    from psycopg import sql
    HAS_PSYCOPG = True
    PSYCOPG_IMPORT_ERROR = None
except ImportError:
    HAS_PSYCOPG = False
    PSYCOPG_IMPORT_ERROR = traceback.format_exc()


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
    if not isinstance(value, str) or not IDENTIFIER_RE.fullmatch(value):
        raise ReplicationError("%s %r is refused: letters, digits and '_' only (at most 63)" % (kind, value))
    return value


def sync_names_for(application_name):
    """synchronous_standby_names that makes one standby synchronous."""
    return 'FIRST 1 ("%s")' % check_identifier("application_name", application_name)


def desired_sync(before, mode, application_name, synchronous_commit="on"):
    """The primary's synchronous settings for `mode`: sync makes our standby the synchronous one; async removes it
    if (and only if) it is the one named, leaving another standby's setting alone."""
    ours = sync_names_for(application_name)
    if mode == "sync":
        return {"synchronous_standby_names": ours, "synchronous_commit": synchronous_commit}
    names = "" if before["synchronous_standby_names"] == ours else before["synchronous_standby_names"]
    return {"synchronous_standby_names": names, "synchronous_commit": before["synchronous_commit"]}


def desired_slots(slots_before, slot=None, drop=()):
    """(slots after, slots to drop that are in use now): `slots_before` maps a slot's name to whether it is active."""
    after = sorted((set(slots_before) | ({slot} if slot else set())) - set(drop))
    return after, [name for name in drop if slots_before.get(name)]


def check_names(p):
    """Every name that reaches SQL or a server setting, checked before any connection."""
    check_identifier("application_name", p["application_name"])
    for name in ([p["slot"]] if p["slot"] else []) + list(p["drop_slots"]):
        check_identifier("replication slot", name)


def replication_task(p, task):
    """The pg_replication module: bring the primary's synchronous set and slots to `mode`, or promote, or report."""
    check_names(p)
    if p["mode"] == "promoted":
        return promote(p, task)
    if p["mode"] == "status":
        return dict(lag=status(p))
    with Postgres(p["primary"], "primary") as db:
        before = db.sync_settings()
        want = desired_sync(before, p["mode"], p["application_name"], p["synchronous_commit"])
        slots_before = db.slots()
        slots_after, busy = desired_slots(slots_before, p["slot"], p["drop_slots"])
        if busy and task.check_mode:
            # the tasks before this one (stopping the consumer) did not run either
            task.warn("Replication slot(s) %s are in use now; they are dropped once what streams from them is "
                      "stopped" % ", ".join(busy))
        elif busy:
            raise ReplicationError("Replication slot(s) %s are still in use on the primary: stop what streams from "
                                   "them first" % ", ".join(busy))
        changed = want != before or slots_after != sorted(slots_before)
        if changed and not task.check_mode:
            if want != before:
                db.set_sync(want["synchronous_standby_names"], want["synchronous_commit"])
                task.changed = True
            if p["slot"] and p["slot"] not in slots_before:
                db.create_slot(p["slot"])
                task.changed = True
            for name in p["drop_slots"]:
                if name in slots_before:
                    db.drop_slot(name)
                    task.changed = True
        wait = p["wait_connected"] if p["require_connected"] else 0
        standby = db.wait_standby(p["application_name"], wait)
        if p["require_connected"] and (standby is None or standby["state"] != "streaming"):
            raise ReplicationError("Standby '%s' is not streaming from the primary after %.0f s (pg_stat_replication: "
                                   "%s)" % (p["application_name"], wait, standby))
    return dict(changed=changed, standby=standby, settings=want, slots=slots_after,
                diff={"before": dict(before, slots=sorted(slots_before)), "after": dict(want, slots=slots_after)})


def status(p):
    """The standby's lag; with a reachable primary, the larger of what each side sees."""
    with Postgres(p["standby"], "standby") as db:
        lag = db.standby_lag()
    lag["primary_reachable"] = False
    if p["primary"]:
        try:
            with Postgres(p["primary"], "primary") as db:
                row = db.standby(p["application_name"])
        except ReplicationError:
            return lag  # a dead primary: what the standby has is what there is
        lag["primary_reachable"] = True
        if row is not None:
            lag["lag_bytes"] = max(lag["lag_bytes"], row["lag_bytes"])
            lag["lag_seconds"] = max(lag["lag_seconds"], row["lag_seconds"])
    return lag


def promote(p, task):
    """Promote the standby; with min_lsn, only once it has replayed up to it (zero-loss switchover)."""
    with Postgres(p["standby"], "standby") as db:
        recovering = db.in_recovery()
        lsn = db.replay_lsn() if recovering else None
        if recovering and p["min_lsn"]:
            reached, lsn = db.wait_replayed(p["min_lsn"], p["lsn_timeout"])
            if not reached:
                raise ReplicationError("The standby replayed only up to %s, not the required %s, within %.0f s: not "
                                       "promoted" % (lsn, p["min_lsn"], p["lsn_timeout"]))
        if recovering and not task.check_mode:
            if not db.promote():
                raise ReplicationError("pg_promote did not finish within 60 s")
            task.changed = True
    return dict(changed=bool(recovering), replay_lsn=lsn,
                diff={"before": {"in_recovery": recovering}, "after": {"in_recovery": False}})
