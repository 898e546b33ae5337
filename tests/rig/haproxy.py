"""A Debian HAProxy with its admin runtime API socket, in a temp dir."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from ansible_collections.predictive.mirroring.plugins.module_utils.traffic import TrafficError
from ansible_collections.predictive.mirroring.plugins.module_utils.traffic.haproxy import HAProxy as RuntimeAPI

from .procs import RigError, free_port, stop_process, wait_for


class HAProxy:
    """haproxy -db (foreground) with `stats socket ... level admin`.

    backends: {"app": [("web1", "127.0.0.1:8081", "")...]} — the third item
    holds extra server options (e.g. "backup", "weight 0").
    """

    def __init__(self, backends: dict[str, list[tuple[str, str, str]]] | None = None, workdir: str | None = None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="haproxy-")
        self.backends = backends or {"app": []}
        self.socket = os.path.join(self.workdir, "admin.sock")
        self.frontends = {name: free_port() for name in self.backends}
        self.config_extra: list[str] = []  # more lines for the defaults section
        self.proc: subprocess.Popen | None = None

    def config(self) -> str:
        lines = [
            "global",
            f"    stats socket {self.socket} mode 600 level admin expose-fd listeners",
            f"    server-state-file {self.workdir}/state",
            "defaults",
            "    mode http",
            "    timeout connect 2s",
            "    timeout client 10s",
            "    timeout server 10s",
            "    option redispatch",
            "    retries 3",
        ] + self.config_extra
        for name, servers in self.backends.items():
            lines += [f"frontend fe_{name}", f"    bind 127.0.0.1:{self.frontends[name]}", f"    default_backend {name}",
                      f"backend {name}", "    balance roundrobin", "    option httpchk GET /health",
                      "    default-server inter 500ms fall 2 rise 2"]
            for server, addr, opts in servers:
                lines.append(f"    server {server} {addr} check {opts}".rstrip())
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20.0) -> "HAProxy":
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not os.path.exists(binary):
            raise RigError("haproxy is not installed: run scripts/bootstrap.sh")
        cfg = os.path.join(self.workdir, "haproxy.cfg")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(self.config())
        self.log = os.path.join(self.workdir, "haproxy.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([binary, "-db", "-f", cfg], stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                         start_new_session=True)
        wait_for(lambda: os.path.exists(self.socket) and self._answers(), timeout, "haproxy", self.proc, self.log)
        return self

    def _answers(self) -> bool:
        try:
            return "Name: HAProxy" in self.command("show info")
        except TrafficError:
            return False

    def command(self, cmd: str) -> str:
        """Send one runtime API command and return its answer."""
        return RuntimeAPI(self.socket).command(cmd)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
