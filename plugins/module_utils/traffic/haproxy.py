# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy through its runtime API (stats socket at level admin), unix socket or TCP."""

from __future__ import annotations

import csv
import io
import socket

from ansible_collections.predictive.mirroring.plugins.module_utils.deadline import Deadline, DeadlineExceeded
from ansible_collections.predictive.mirroring.plugins.module_utils.traffic import (Provider, TrafficError, check_address,
                                                                                   check_name, check_weight)

# srv_admin_state bits (HAProxy's SRV_ADMF_*)
_MAINT = 0x01 | 0x02 | 0x04 | 0x20 | 0x40
_DRAIN = 0x08 | 0x10


class HAProxy(Provider):
    name = "haproxy"

    def __init__(self, address, timeout=5.0):
        """address: a unix socket path, or host:port of a TCP stats socket."""
        self.address = address
        self.timeout = timeout

    def command(self, cmd):
        # the runtime API reads ';' and a newline as the start of another command: never send either
        if any(c in cmd for c in ";\r\n\x00"):
            raise TrafficError("refusing to send %r to HAProxy: it holds a command separator" % cmd)
        try:
            if self.address.startswith("/"):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                target = self.address
            else:
                host, _sep, port = self.address.rpartition(":")
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                target = (host, int(port))
            deadline = Deadline(self.timeout)  # the whole exchange, however slowly HAProxy (or a stranger) answers
            with s:
                s.settimeout(deadline.left())
                s.connect(target)
                s.settimeout(deadline.left())
                s.sendall(cmd.encode() + b"\n")
                chunks = []
                while True:
                    s.settimeout(deadline.left())
                    data = s.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
        except (OSError, ValueError, DeadlineExceeded) as e:
            raise TrafficError("Cannot reach the HAProxy runtime API at %s: %s" % (self.address, e)) from None
        return b"".join(chunks).decode(errors="replace")

    def _action(self, cmd):
        answer = self.command(cmd).strip()
        if answer and answer != "New server registered.":
            raise TrafficError("HAProxy refused '%s': %s" % (cmd, answer))

    def servers(self, backend):
        text = self.command("show servers state %s" % check_name("backend", backend))
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if not lines or not lines[0].strip().isdigit():
            raise TrafficError("HAProxy: backend '%s': %s" % (backend, text.strip() or "no answer"))
        sessions = self._sessions(backend)
        out = {}
        for line in lines[2:]:
            f = line.split()
            name, addr, op_state, admin, weight, port = f[3], f[4], int(f[5]), int(f[6]), int(f[7]), f[18]
            state = "maint" if admin & _MAINT else "drain" if admin & _DRAIN else "ready"
            out[name] = {"address": "%s:%s" % (addr, port), "state": state, "weight": weight, "up": op_state == 2,
                         "sessions": sessions.get(name, 0)}
        return out

    def _sessions(self, backend):
        text = self.command("show stat")
        rows = csv.reader(io.StringIO(text.lstrip("# ")))
        header = next(rows, [])
        if "scur" not in header:
            return {}
        px, sv, cur = header.index("pxname"), header.index("svname"), header.index("scur")
        return {r[sv]: int(r[cur] or 0) for r in rows if len(r) > cur and r[px] == backend
                and r[sv] not in ("FRONTEND", "BACKEND")}

    def set_state(self, backend, server, state):
        if state not in ("ready", "drain", "maint"):
            raise TrafficError("server state %r is refused: want ready, drain or maint" % (state,))
        self._action("set server %s/%s state %s" % (check_name("backend", backend), check_name("server", server), state))

    def set_weight(self, backend, server, weight):
        self._action("set server %s/%s weight %d" % (check_name("backend", backend), check_name("server", server),
                                                     check_weight(int(weight))))

    def del_server(self, backend, server):
        answer = self.command("del server %s/%s" % (check_name("backend", backend), check_name("server", server))).strip()
        if answer != "Server deleted.":
            raise TrafficError("HAProxy refused to delete %s/%s: %s" % (backend, server, answer))

    def add_server(self, backend, server, address, weight):
        # a dynamic server starts in maintenance; the plan then sets its state
        self._action("add server %s/%s %s weight %d check" % (check_name("backend", backend), check_name("server", server),
                                                              check_address(address), check_weight(int(weight))))
        self._action("enable health %s/%s" % (backend, server))
