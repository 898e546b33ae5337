# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The history store: labelled feature windows, decisions and failover outcomes.

SQLite by default (one file, its path an option). The schema is versioned
(schema_version table) and migrated forward on open. WAL journaling and a
busy timeout let several writers (a cron reconcile and an AWX job, say)
share the file.
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import HistoryError

SCHEMA_VERSION = 3
DEFAULT_PATH = "~/.local/share/predictive.mirroring/history.sqlite"

MIGRATIONS = {
    1: """
    CREATE TABLE windows (
        id INTEGER PRIMARY KEY,
        vcenter TEXT NOT NULL,
        vm TEXT NOT NULL,
        vm_name TEXT,
        window_end TEXT NOT NULL,
        feature_names TEXT NOT NULL,
        features TEXT NOT NULL,
        label INTEGER NOT NULL CHECK (label IN (0, 1)),
        time_to_failure_h REAL,
        failure_event TEXT,
        source TEXT NOT NULL,
        UNIQUE (vcenter, vm, window_end)
    );
    CREATE INDEX windows_time ON windows (window_end);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        run_id TEXT,
        vcenter TEXT,
        vm TEXT NOT NULL,
        fps REAL,
        level_from TEXT,
        level_to TEXT,
        reasons TEXT,
        note TEXT
    );
    CREATE INDEX decisions_vm ON decisions (vm, at);
    CREATE TABLE failovers (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        vcenter TEXT,
        vm TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('predictive', 'reactive', 'drill')),
        fps REAL,
        reasons TEXT,
        feature_names TEXT,
        features TEXT,
        downtime_s REAL,
        data_lag_bytes INTEGER,
        failed_requests INTEGER,
        outcome TEXT,
        labelled_at TEXT
    );
    """,
    # v2: the failover's timeline and data lag in seconds (Post-Failover Analysis)
    2: """
    ALTER TABLE failovers ADD COLUMN data_lag_s REAL;
    ALTER TABLE failovers ADD COLUMN failback_at TEXT;
    ALTER TABLE failovers ADD COLUMN label_evidence TEXT;
    CREATE INDEX failovers_vm ON failovers (vm, at);
    CREATE TABLE tuning (key TEXT PRIMARY KEY, value TEXT NOT NULL, at TEXT NOT NULL, why TEXT)
    """,
    # v3: VMs by instance UUID; a write-ahead record of every act that re-running cannot undo (intent before, outcome after)
    3: """
    ALTER TABLE failovers ADD COLUMN vm_uuid TEXT;
    ALTER TABLE decisions ADD COLUMN vm_uuid TEXT;
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        vcenter TEXT,
        vm TEXT NOT NULL,
        vm_uuid TEXT,
        action TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('intent', 'done', 'failed')),
        detail TEXT,
        finished_at TEXT,
        error TEXT
    );
    CREATE INDEX actions_vm ON actions (vm_uuid, at)
    """,
}
FAILOVER_COLUMNS = ("id", "at", "vcenter", "vm", "kind", "fps", "reasons", "feature_names", "features", "downtime_s",
                    "data_lag_bytes", "data_lag_s", "failed_requests", "outcome", "labelled_at", "failback_at",
                    "label_evidence", "vm_uuid")
ACTION_COLUMNS = ("id", "at", "vcenter", "vm", "vm_uuid", "action", "status", "detail", "finished_at", "error")
OUTCOMES = ("confirmed", "unconfirmed", "missed")


def _select(table, columns, **equal):
    """SELECT columns FROM table, with "column = ?" for each given (not None) filter; (sql, args)."""
    q, args = "SELECT %s FROM %s WHERE 1 = 1" % (", ".join(columns), table), []
    for column, value in equal.items():
        if value:
            q += " AND %s = ?" % column
            args.append(value)
    return q, args


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


class History:
    """One connection to the store. Use as a context manager."""

    def __init__(self, path=DEFAULT_PATH, timeout=30.0):
        self.path = os.path.expanduser(path)
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA busy_timeout=%d" % int(timeout * 1000))
            self._migrate()
        except (OSError, sqlite3.Error) as e:
            raise HistoryError("Cannot open the history store %s: %s" % (self.path, e)) from None

    def _migrate(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self.db.execute("SELECT version FROM schema_version").fetchone()
            current = row[0] if row else 0
            if current > SCHEMA_VERSION:
                raise HistoryError("History store %s has schema version %d, newer than this collection's %d: "
                                   "upgrade predictive.mirroring" % (self.path, current, SCHEMA_VERSION))
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for stmt in MIGRATIONS[version].split(";"):
                    if stmt.strip():
                        self.db.execute(stmt)
            if row is None:
                self.db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            else:
                self.db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def close(self):
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def schema_version(self):
        return self.db.execute("SELECT version FROM schema_version").fetchone()[0]

    # -- labelled windows --------------------------------------------------------
    def add_windows(self, rows, feature_names):
        """Insert windows; a window already stored (same vCenter, VM, end) is left as it is. Returns rows added."""
        names = json.dumps(list(feature_names))
        data = [(r["vcenter"], r["vm"], r.get("vm_name"), r["window_end"], names,
                 json.dumps([float(v) for v in r["features"]]), int(r["label"]), r.get("time_to_failure_h"),
                 r.get("failure_event"), r.get("source", "vcenter")) for r in rows]
        try:
            self.db.execute("BEGIN IMMEDIATE")
            before = self.db.total_changes
            self.db.executemany(
                "INSERT OR IGNORE INTO windows (vcenter, vm, vm_name, window_end, feature_names, features, label, "
                "time_to_failure_h, failure_event, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", data)
            added = self.db.total_changes - before
            self.db.execute("COMMIT")
        except sqlite3.Error as e:
            self.db.execute("ROLLBACK")
            raise HistoryError("Writing windows to %s failed: %s" % (self.path, e)) from None
        return added

    def count_new(self, rows):
        """How many of rows are not stored yet."""
        have = 0
        for r in rows:
            have += self.db.execute("SELECT 1 FROM windows WHERE vcenter = ? AND vm = ? AND window_end = ?",
                                    (r["vcenter"], r["vm"], r["window_end"])).fetchone() is not None
        return len(rows) - have

    def windows(self, feature_names):
        """All windows in time order: (features, labels, time in hours since the first, time to failure)."""
        rows = self.db.execute("SELECT window_end, feature_names, features, label, time_to_failure_h FROM windows "
                               "ORDER BY window_end, id").fetchall()
        want = list(feature_names)
        X, y, t, ttf = [], [], [], []
        t0 = None
        for end, names, feats, label, tf in rows:
            if json.loads(names) != want:
                continue  # windows of another feature set cannot train this one
            ts = datetime.datetime.fromisoformat(end)
            t0 = t0 or ts
            X.append(json.loads(feats))
            y.append(label)
            t.append((ts - t0).total_seconds() / 3600.0)
            ttf.append(float("inf") if tf is None else tf)
        return X, y, t, ttf

    def count_windows(self):
        total, positives = self.db.execute("SELECT COUNT(*), COALESCE(SUM(label), 0) FROM windows").fetchone()
        return {"windows": total, "positives": positives}

    # -- decisions and failovers -------------------------------------------------
    def add_decision(self, vm, fps, level_from, level_to, reasons=None, vcenter=None, run_id=None, note=None, at=None,
                     vm_uuid=None):
        self._insert("INSERT INTO decisions (at, run_id, vcenter, vm, fps, level_from, level_to, reasons, note, vm_uuid) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (at or utcnow(), run_id, vcenter, vm, fps, level_from, level_to, json.dumps(reasons or []), note,
                      vm_uuid))

    def decisions(self, vm=None):
        q = "SELECT at, run_id, vcenter, vm, fps, level_from, level_to, reasons, note FROM decisions"
        args = ()
        if vm:
            q += " WHERE vm = ?"
            args = (vm,)
        cols = ("at", "run_id", "vcenter", "vm", "fps", "level_from", "level_to", "reasons", "note")
        return [dict(zip(cols, r), reasons=json.loads(r[7] or "[]")) for r in self.db.execute(q + " ORDER BY id", args)]

    def add_failover(self, vm, kind, fps=None, reasons=None, features=None, vcenter=None, downtime_s=None,
                     data_lag_bytes=None, data_lag_s=None, failed_requests=None, at=None, vm_uuid=None):
        """Record a failover (kind predictive, reactive or drill); its id."""
        names = json.dumps(list(features)) if features else None
        values = json.dumps([float(v) for v in features.values()]) if features else None
        return self._insert(
            "INSERT INTO failovers (at, vcenter, vm, kind, fps, reasons, feature_names, features, downtime_s, "
            "data_lag_bytes, data_lag_s, failed_requests, vm_uuid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (at or utcnow(), vcenter, vm, kind, fps, json.dumps(reasons or []), names, values, downtime_s,
             data_lag_bytes, data_lag_s, failed_requests, vm_uuid))

    def failovers(self, vm=None, kind=None, open_only=False, vm_uuid=None):
        """Recorded failovers, oldest first, as dicts (features as {name: value})."""
        q, args = _select("failovers", FAILOVER_COLUMNS, vm=vm, vm_uuid=vm_uuid, kind=kind)
        if open_only:
            q += " AND failback_at IS NULL"
        out = []
        for row in self.db.execute(q + " ORDER BY at, id", args):
            r = dict(zip(FAILOVER_COLUMNS, row))
            names, feats = json.loads(r.pop("feature_names") or "null"), json.loads(r["features"] or "null")
            r["features"] = dict(zip(names, feats)) if names else None
            r["reasons"] = json.loads(r["reasons"] or "[]")
            r["label_evidence"] = json.loads(r["label_evidence"] or "null")
            out.append(r)
        return out

    # -- write-ahead records of irreversible acts -----------------------------------
    def begin_action(self, vm, action, vm_uuid=None, vcenter=None, detail=None):
        """Record the intent to act (before acting); its id. An act is never taken without this row."""
        return self._insert("INSERT INTO actions (at, vcenter, vm, vm_uuid, action, status, detail) "
                            "VALUES (?, ?, ?, ?, ?, 'intent', ?)",
                            (utcnow(), vcenter, vm, vm_uuid, action, json.dumps(detail or {}, sort_keys=True)))

    def end_action(self, action_id, status, error=None, detail=None):
        """Record the outcome (done or failed) of an act begun with begin_action."""
        if status not in ("done", "failed"):
            raise HistoryError("an action ends done or failed, not %r" % status)
        sql = "UPDATE actions SET status = ?, finished_at = ?, error = ?"
        args = [status, utcnow(), error]
        if detail is not None:
            sql += ", detail = ?"
            args.append(json.dumps(detail, sort_keys=True))
        self._insert(sql + " WHERE id = ?", args + [action_id])

    def actions(self, vm_uuid=None, action=None):
        q, args = _select("actions", ACTION_COLUMNS, vm_uuid=vm_uuid, action=action)
        return [dict(zip(ACTION_COLUMNS, r), detail=json.loads(r[7] or "{}")) for r in self.db.execute(q + " ORDER BY id", args)]

    def update_failover(self, failover_id, **fields):
        bad = set(fields) - set(FAILOVER_COLUMNS[9:17])
        if bad:
            raise HistoryError("Cannot update failover columns %s" % ", ".join(sorted(bad)))
        if "outcome" in fields and fields["outcome"] not in OUTCOMES + (None,):
            raise HistoryError("outcome must be one of %s, not %r" % (", ".join(OUTCOMES), fields["outcome"]))
        if "label_evidence" in fields:
            fields["label_evidence"] = json.dumps(fields["label_evidence"])
        cols = sorted(fields)
        self._insert("UPDATE failovers SET %s WHERE id = ?" % ", ".join("%s = ?" % c for c in cols),
                     [fields[c] for c in cols] + [failover_id])

    # -- tuning the analysis keeps (the failover threshold, when the model was last retrained) ----
    def tuning(self, key, default=None):
        row = self.db.execute("SELECT value FROM tuning WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_tuning(self, key, value, why=None):
        self._insert("INSERT INTO tuning (key, value, at, why) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                     "value = excluded.value, at = excluded.at, why = excluded.why", (key, json.dumps(value), utcnow(), why))

    def _insert(self, sql, args):
        try:
            self.db.execute("BEGIN IMMEDIATE")
            cur = self.db.execute(sql, args)
            self.db.execute("COMMIT")
            return cur.lastrowid
        except sqlite3.Error as e:
            self.db.execute("ROLLBACK")
            raise HistoryError("Writing to %s failed: %s" % (self.path, e)) from None
