"""Steady load for switch-over measurements: keep-alive HTTP GETs through HAProxy, and committed writes to PostgreSQL."""
from __future__ import annotations

import http.client
import threading
import time

try:
    import psycopg
except ImportError:  # the HTTP load alone needs nothing more
    psycopg = None


class HttpLoad:
    """clients threads sending GET / back to back; log of (sent, answered, body or None for a failure)."""

    def __init__(self, port, clients=4, timeout=10):
        self.port = port
        self.clients = clients
        self.timeout = timeout
        self.log = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []

    def worker(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        while not self.stopping.is_set():
            t0 = time.monotonic()
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                body = resp.read().decode()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                ok, body = False, None
            with self.lock:
                self.log.append((t0, time.monotonic(), body if ok else None))

    def start(self):
        self.threads = [threading.Thread(target=self.worker, daemon=True) for _i in range(self.clients)]
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(self.timeout + 5)
        return self.log

    def run(self, seconds, events):
        """Run for `seconds`, calling each (at, action) of `events` at its time; the log."""
        start = time.monotonic()
        self.start()
        for at, action in events:
            time.sleep(max(0.0, start + at - time.monotonic()))
            action()
        time.sleep(max(0.0, start + seconds - time.monotonic()))
        return self.stop()

    @property
    def failed(self):
        return sum(1 for r in self.log if r[2] is None)

    def served_by(self, name):
        return sum(1 for r in self.log if r[2] == name)


class Writer:
    """Commits one row at a time into `table` (id int primary key) through a multi-host DSN that follows the
    read-write server; `acked` holds the ids whose COMMIT returned."""

    def __init__(self, dsn, table="ledger"):
        self.dsn = dsn
        self.table = table
        self.acked = []
        self.errors = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.work, daemon=True)

    def work(self):
        n, conn = 0, None
        while not self.stopping.is_set():
            try:
                if conn is None:
                    conn = psycopg.connect(self.dsn, autocommit=True)
                n += 1
                conn.execute("INSERT INTO %s VALUES (%%s)" % self.table, (n,))
                self.acked.append(n)
            except psycopg.Error:
                self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
        if conn is not None:
            conn.close()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.thread.join(15)
        return self.acked

    def lost(self, conninfo):
        """Acknowledged ids missing from the table on the server at conninfo."""
        with psycopg.connect(conninfo, autocommit=True) as c:
            present = {r[0] for r in c.execute("SELECT id FROM %s" % self.table)}
        return sorted(set(self.acked) - present)
