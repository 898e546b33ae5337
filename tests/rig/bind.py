"""A Debian BIND 9 (named) serving one zone on loopback, updatable with one TSIG key, in a temp dir."""
from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import subprocess
import tempfile

import dns.message
import dns.query
import dns.rdatatype

from .procs import RigError, free_port, stop_process, wait_for


def free_udp_and_tcp_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (named listens on both)."""
    tries = 50
    while tries:
        tries -= 1
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RigError("no port free for both TCP and UDP")


class Bind:
    def __init__(self, zone: str = "app.example.", workdir: str | None = None, key_name: str = "pm-update"):
        self.workdir = workdir or tempfile.mkdtemp(prefix="bind-")
        os.makedirs(self.workdir, exist_ok=True)
        self.zone = zone if zone.endswith(".") else zone + "."
        self.key_name = key_name
        self.key_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self.port = free_udp_and_tcp_port()
        self.control = free_port()
        self.proc: subprocess.Popen | None = None

    def config(self) -> str:
        d = self.workdir
        return f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
key "{self.key_name}" {{ algorithm hmac-sha256; secret "{self.key_secret}"; }};
zone "{self.zone}" {{
    type primary;
    file "{d}/zone.db";
    allow-update {{ key "{self.key_name}"; }};
}};
"""

    def zone_file(self) -> str:
        return f"""$TTL 3600
@   IN SOA ns1.{self.zone} hostmaster.{self.zone} 1 3600 600 86400 60
@   IN NS  ns1.{self.zone}
ns1 IN A   127.0.0.1
"""

    def start(self, timeout: float = 20.0) -> "Bind":
        binary = shutil.which("named") or "/usr/sbin/named"
        if not os.path.exists(binary):
            raise RigError("BIND 9 (named) is not installed: run scripts/bootstrap.sh")
        with open(os.path.join(self.workdir, "named.conf"), "w", encoding="utf-8") as f:
            f.write(self.config())
        with open(os.path.join(self.workdir, "zone.db"), "w", encoding="utf-8") as f:
            f.write(self.zone_file())
        self.log = os.path.join(self.workdir, "named.log")
        with open(self.log, "wb") as log:
            # -g: foreground, logging to stderr; -n 1: one worker thread is plenty for a test
            self.proc = subprocess.Popen([binary, "-g", "-n", "1", "-c", os.path.join(self.workdir, "named.conf")],  # pylint: disable=consider-using-with
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._answers, timeout, "named", self.proc, self.log)
        return self

    def _answers(self) -> bool:
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return "running" in f.read()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def served(self, name: str = "www.app.example.", rtype: str = "A") -> tuple[list[str], int | None]:
        """(addresses, TTL) as this server answers a plain (unsigned) query for name, as a client's resolver would
        ask; ([], None) when it has no such record."""
        answer = dns.query.tcp(dns.message.make_query(name, rtype), "127.0.0.1", port=self.port, timeout=3)
        for rrset in answer.answer:
            if rrset.rdtype == dns.rdatatype.from_text(rtype):
                return sorted(r.to_text() for r in rrset), rrset.ttl
        return [], None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
