# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Traffic Director: one interface over load-balancer providers, one file per provider.

A provider reports a backend's servers as
    {name: {"address": "ip:port", "state": "ready"|"drain"|"maint", "weight": int,
            "up": bool (health checks pass), "sessions": int}}
and can set a server's state and weight and add a server. Pool changes are
planned here, provider-independently: the desired pool is checked to keep at
least one serving server (ready, weight > 0, up) before anything is sent.
"""

from __future__ import annotations

import ipaddress
import re
import time

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import TrafficError

STATES = ("ready", "drain", "maint", "absent")
# what a load balancer's backend and server names may hold (HAProxy's own rule for identifiers): nothing a
# command language could read as a separator, a quote or a second command
NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
MAX_WEIGHT = 256


class Provider:
    """Interface of a load-balancer provider."""

    name = "provider"

    def servers(self, backend):
        raise NotImplementedError

    def set_state(self, backend, server, state):
        raise NotImplementedError

    def set_weight(self, backend, server, weight):
        raise NotImplementedError

    def add_server(self, backend, server, address, weight):
        raise NotImplementedError

    def del_server(self, backend, server):
        raise NotImplementedError


def check_name(kind, value):
    """A backend or server name, refused unless it is a plain identifier."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise TrafficError("%s name %r is refused: only letters, digits, '_', '.', ':' and '-' (at most 64) are sent to the "
                           "load balancer; rename it or set the name explicitly (mirroring_lb_primary_server / "
                           "mirroring_lb_mirror_server)" % (kind, value))
    return value


def check_address(value):
    """host:port (IPv4, [IPv6] or a DNS name), refused otherwise."""
    if not isinstance(value, str):
        raise TrafficError("server address %r is refused: want host:port" % (value,))
    host, sep, port = value.rpartition(":")
    ok = bool(sep) and port.isdigit() and 0 < int(port) < 65536
    if ok and host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            ok = False
    elif ok:
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            ok = bool(HOSTNAME_RE.fullmatch(host)) and not host.replace(".", "").isdigit()
    if not ok:
        raise TrafficError("server address %r is refused: want host:port (an IPv4 address, [an IPv6 address] or a DNS name, "
                           "and a port 1-65535)" % (value,))
    return value


def check_weight(value):
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_WEIGHT:
        raise TrafficError("weight %r is refused: want a whole number 0-%d" % (value, MAX_WEIGHT))
    return value


def check_desired(backend, desired):
    """Every name, address, state and weight of a desired pool, checked before anything is sent."""
    check_name("backend", backend)
    for name, want in desired.items():
        check_name("server", name)
        if want.get("state") not in STATES:
            raise TrafficError("server %s: state must be one of %s, got %r" % (name, ", ".join(STATES), want.get("state")))
        if want.get("address") is not None:
            check_address(want["address"])
        if want.get("weight") is not None:
            check_weight(want["weight"])


def serving(pool):
    return sorted(n for n, s in pool.items() if s["state"] == "ready" and s["weight"] > 0 and s.get("up", True))


def plan_pool(current, desired, allow_empty=False):
    """Steps that turn `current` into `desired` (both {server: {...}}), and the pool after them.

    desired entries: {"state": ..., "weight": int or None, "address": "ip:port" or None}.
    Servers not named in `desired` are left as they are. Steps make the new
    serving servers ready before others are drained, so that traffic always
    has somewhere to go.
    """
    after = {n: dict(s) for n, s in current.items()}
    adds, raises, lowers = [], [], []
    for name, want in desired.items():
        if want["state"] not in STATES:
            raise TrafficError("server %s: state must be one of %s, got %r" % (name, ", ".join(STATES), want["state"]))
        have = current.get(name)
        if want["state"] == "absent":
            if have is not None:
                if have["state"] != "maint":
                    lowers.append(("state", name, "maint"))
                lowers.append(("del", name))
                del after[name]
            continue
        if have is None:
            if not want.get("address"):
                raise TrafficError("server %s is not in the backend and no address was given to add it" % name)
            adds.append(("add", name, want["address"], want.get("weight") if want.get("weight") is not None else 1))
            have = after[name] = {"address": want["address"], "state": "maint", "up": True, "sessions": 0,
                                  "weight": want.get("weight") if want.get("weight") is not None else 1}
        if want.get("weight") is not None and want["weight"] != have["weight"]:
            (raises if want["weight"] > have["weight"] else lowers).append(("weight", name, want["weight"]))
            after[name]["weight"] = want["weight"]
        if want["state"] != have["state"]:
            (raises if want["state"] == "ready" else lowers).append(("state", name, want["state"]))
            after[name]["state"] = want["state"]
    if not serving(after) and not allow_empty:
        raise TrafficError("refusing: the pool would have no serving server (ready, weight > 0, health checks passing); "
                           "now serving: %s" % (", ".join(serving(current)) or "none"))
    return adds + raises + lowers, after


def apply_pool(provider, backend, steps):
    for step in steps:
        if step[0] == "add":
            provider.add_server(backend, step[1], step[2], step[3])
        elif step[0] == "weight":
            provider.set_weight(backend, step[1], step[2])
        elif step[0] == "state":
            provider.set_state(backend, step[1], step[2])
        elif step[0] == "del":
            provider.del_server(backend, step[1])


def drain_then_maint(provider, backend, steps, timeout, clock=time.monotonic, sleep=time.sleep):
    """Apply steps, each ready->maint split into drain, a bounded wait for 0 sessions, maint. Returns {server: drained}."""
    drained = {}
    for step in steps:
        if step[0] == "state" and step[2] == "maint":
            provider.set_state(backend, step[1], "drain")
            deadline = clock() + timeout
            while provider.servers(backend)[step[1]]["sessions"] > 0 and clock() < deadline:
                sleep(0.05)
            drained[step[1]] = provider.servers(backend)[step[1]]["sessions"] == 0
        apply_pool(provider, backend, [step])
    return drained


def not_as_asked(desired, after):
    """The servers of `desired` that `after` (the provider's pool read back) does not show as asked."""
    return [n for n, want in desired.items() if (want["state"] == "absent") != (n not in after)
            or (n in after and (after[n]["state"] != want["state"]
                                or (want.get("weight") is not None and after[n]["weight"] != want["weight"])))]


def ensure_pool(provider, backend, servers, allow_empty=False, drain_timeout=30.0, check_mode=False):
    """(changed, before, after, steps, drained): bring the named servers of a backend to their desired state.

    Every name, address, state and weight is checked before anything reaches the provider; the pool is read back
    after the change and any server not as asked is an error."""
    desired = {s["name"]: s for s in servers}
    if len(desired) != len(servers):
        raise TrafficError("servers names a server twice")
    check_desired(backend, desired)
    before = provider.servers(backend)
    steps, after = plan_pool(before, desired, allow_empty=allow_empty)
    drained = {}
    if steps and not check_mode:
        drained = drain_then_maint(provider, backend, steps, drain_timeout)
        after = provider.servers(backend)
        wrong = not_as_asked(desired, after)
        if wrong:
            raise TrafficError("%s reports %s not as asked after the change: %s"
                               % (provider.name, ", ".join(wrong), {n: after.get(n) for n in wrong}))
    return bool(steps), {n: before.get(n) for n in desired}, after, steps, drained


def pool_task(p, task):
    """The lb_pool module."""
    from ansible_collections.predictive.mirroring.plugins.module_utils.traffic.haproxy import HAProxy  # pylint: disable=import-outside-toplevel
    provider = HAProxy(p["socket"], timeout=p["timeout"])
    changed, before, after, steps, drained = ensure_pool(provider, p["backend"], p["servers"], p["allow_empty"],
                                                         p["drain_timeout"], task.check_mode)
    return dict(changed=changed, servers=after, steps=[list(s) for s in steps], drained=drained,
                diff={"before": before, "after": {n: after.get(n) for n in before}})
