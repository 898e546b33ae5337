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
    """clients threads sending GET / back to back; log of (sent, answered, body or None for a failure, address).

    resolve: a client that finds the service by name - a callable giving (address, TTL) as DNS answers; each client
    asks again once its answer's TTL has passed (as a caching resolver does) and connects to where the address leads
    (a new connection when it changed). routes: where each address leads, {address: "host:port"} - the network
    between the clients and the VMs, which this machine does not have. Without resolve, 127.0.0.1:port.
    interval: each client's pause between requests - a steady load, not a saturating one: back to back, the clients
    took a core from the playbooks they measure."""

    def __init__(self, port=None, clients=4, timeout=10, resolve=None, routes=None, interval=0.002):
        self.port = port
        self.interval = interval
        self.clients = clients
        self.timeout = timeout
        self.resolve = resolve
        self.routes = routes or {}
        self.log = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []

    def worker(self):
        address, expires, conn = "127.0.0.1", float("inf"), None
        if self.resolve:
            address, expires = None, 0.0  # asked at the first request
        else:
            conn = self._connection(address)
        while not self.stopping.is_set():
            t0 = time.monotonic()
            if t0 >= expires:
                was = address
                try:
                    address, expires = self._resolved()
                except Exception as e:  # pylint: disable=broad-except
                    # the name did not resolve: a failed request for this client; it asks again a second later
                    with self.lock:
                        self.log.append((t0, time.monotonic(), None, "no answer for the name: %s" % e))
                    expires = time.monotonic() + 1
                    time.sleep(0.1)
                    continue
                if address != was:
                    if conn is not None:
                        conn.close()
                    conn = self._connection(address)
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                body = resp.read().decode()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = self._connection(address)
                ok, body = False, None
            with self.lock:
                self.log.append((t0, time.monotonic(), body if ok else None, address))
            self.stopping.wait(self.interval)

    def _connection(self, address):
        if self.resolve:
            # an address with no route here is a failed request (port 1 refuses), as an unreachable one is
            host, port = self.routes.get(address, "127.0.0.1:1").rsplit(":", 1)
            return http.client.HTTPConnection(host, int(port), timeout=self.timeout)
        return http.client.HTTPConnection(address, self.port, timeout=self.timeout)

    def _resolved(self):
        address, ttl = self.resolve()
        return address, time.monotonic() + ttl

    def first_use(self, address):
        """When a client first sent a request to `address` (monotonic seconds), or None."""
        return min((r[0] for r in self.log if r[3] == address), default=None)

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
    read-write server; `acked` holds the ids whose COMMIT returned. interval: the pause between commits."""

    def __init__(self, dsn, table="ledger", interval=0.002):
        self.dsn = dsn
        self.interval = interval
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
                self.stopping.wait(self.interval)
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
