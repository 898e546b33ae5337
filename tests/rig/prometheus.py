"""Debian's Prometheus, node_exporter and Alertmanager on loopback, and a webhook receiver that keeps what it gets."""
from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
import time

import requests

from .procs import RigError, free_port, stop_process, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = os.path.join(ROOT, "extensions", "prometheus", "alerts.yml")


def _binary(name):
    path = shutil.which(name) or os.path.join("/usr/bin", name)
    if not os.path.exists(path):
        raise RigError("%s is not installed: run scripts/bootstrap.sh" % name)
    return path


class _Process:
    name = "process"

    def __init__(self, workdir):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.log = os.path.join(workdir, "%s.log" % self.name)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _start(self, argv, ready_path, timeout=30.0):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                         start_new_session=True, cwd=self.workdir)
        wait_for(lambda: self._ready(ready_path), timeout, self.name, self.proc, self.log)
        return self

    def _ready(self, path):
        try:
            return requests.get(self.url + path, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


class NodeExporter(_Process):
    """prometheus-node-exporter with only the textfile collector, reading textfile_dir."""
    name = "node_exporter"

    def __init__(self, workdir):
        super().__init__(workdir)
        self.textfile_dir = os.path.join(workdir, "textfile")
        os.makedirs(self.textfile_dir, exist_ok=True)

    def start(self):
        return self._start([_binary("prometheus-node-exporter"), "--web.listen-address=127.0.0.1:%d" % self.port,
                            "--collector.disable-defaults", "--collector.textfile",
                            "--collector.textfile.directory=" + self.textfile_dir], "/metrics")


class Alertmanager(_Process):
    """prometheus-alertmanager, no cluster, routing everything to one webhook at once."""
    name = "alertmanager"

    def start(self, webhook_url):
        config = os.path.join(self.workdir, "alertmanager.yml")
        with open(config, "w", encoding="utf-8") as f:
            json.dump({"route": {"receiver": "test", "group_by": ["alertname", "vm"], "group_wait": "0s",
                                 "group_interval": "1s", "repeat_interval": "1h"},
                       "receivers": [{"name": "test", "webhook_configs": [{"url": webhook_url, "send_resolved": False}]}]},
                      f)
        return self._start([_binary("prometheus-alertmanager"), "--config.file=" + config,
                            "--storage.path=" + os.path.join(self.workdir, "data"),
                            "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address="], "/-/ready")


class Prometheus(_Process):
    """prometheus scraping `targets` every second and evaluating the collection's alert rules every second."""
    name = "prometheus"

    def start(self, targets, alertmanager=None, rules=RULES):
        os.makedirs(os.path.join(self.workdir, "data"), exist_ok=True)
        rules_copy = os.path.join(self.workdir, "alerts.yml")
        shutil.copy(rules, rules_copy)
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": [rules_copy],
                  "scrape_configs": [{"job_name": "node", "static_configs": [{"targets": targets}]}]}
        if alertmanager is not None:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:%d" % alertmanager.port]}]}]}
        path = os.path.join(self.workdir, "prometheus.yml")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(config, f)
        return self._start([_binary("prometheus"), "--config.file=" + path,
                            "--storage.tsdb.path=" + os.path.join(self.workdir, "data"),
                            "--web.listen-address=127.0.0.1:%d" % self.port], "/-/ready")

    def query(self, promql):
        """The instant vector of a PromQL query: [(labels, value)]."""
        r = requests.get(self.url + "/api/v1/query", params={"query": promql}, timeout=5)
        r.raise_for_status()
        return [(s["metric"], float(s["value"][1])) for s in r.json()["data"]["result"]]

    def wait_query(self, promql, predicate, timeout=30.0):
        """Poll a query until predicate(result) holds; the result."""
        deadline, result = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            result = self.query(promql)
            if predicate(result):
                return result
            time.sleep(0.5)
        raise AssertionError("%s: %r after %.0f s" % (promql, result, timeout))


class Receiver:
    """A webhook receiver: answers each POST with the next of `answers` (the last repeats) and keeps the JSON bodies.
    silent=True: accepts and never answers, as a dead receiver does. drip=seconds: answers one byte of its status
    line every that many seconds, for as long as the client listens. on_request: called as each POST arrives, its
    return value kept in `seen` (what the world looked like when the notification came)."""

    def __init__(self, answers=(200,), silent=False, drip=None, on_request=None):
        self.answers, self.bodies, self.silent, self.drip = list(answers), [], silent, drip
        self.on_request, self.seen = on_request, []
        self.stopped = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # pylint: disable=invalid-name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.on_request:
                    receiver.seen.append(receiver.on_request())
                if receiver.drip:
                    receiver.bodies.append(json.loads(body or b"null"))
                    for byte in b"HTTP/1.1 200 OK\r\n" * 100:
                        if receiver.stopped.wait(receiver.drip):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    return
                if receiver.silent:
                    receiver.stopped.wait(120)
                    return
                receiver.bodies.append(json.loads(body or b"null"))
                status = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook/secret-token" % self.server.server_address[1]

    def wait(self, predicate, timeout=30.0, what="a notification"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [b for b in list(self.bodies) if predicate(b)]
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError("%s did not arrive in %.0f s; got %r" % (what, timeout, self.bodies))

    def stop(self):
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()
