#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lb_pool
short_description: Set the servers of a load-balancer backend (the Traffic Director)
version_added: "0.1.0"
description:
  - Brings the named servers of one backend to the given state (C(ready), C(drain), C(maint)) and weight, adding a server the
    backend does not have yet. Servers not named are left alone.
  - New serving servers are made ready before others are drained, and a change that would leave the backend with no serving
    server (ready, weight above 0, health checks passing) is refused before anything is sent.
  - A server going from serving to C(maint) is drained first and moved to maintenance once its sessions reach 0, or when
    O(drain_timeout) runs out.
  - Reads the state back from the load balancer after the change. Idempotent, with check mode and diff.
  - Provider V(haproxy) talks to HAProxy's runtime API (a C(stats socket ... level admin)); adding servers needs HAProxy 2.4 or later.
author:
  - predictive.mirroring developers (@predictive-mirroring)
options:
  provider:
    description: The load balancer.
    type: str
    choices: [haproxy]
    default: haproxy
  socket:
    description: The runtime API, a unix socket path or C(host:port).
    type: str
    required: true
  backend:
    description: The backend to change.
    type: str
    required: true
  servers:
    description: The servers to set.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Server name in the backend (letters, digits, C(_), C(.), C(:), C(-)).
        type: str
        required: true
      state:
        description: Its state. V(absent) drains the server, puts it in maintenance and deletes it from the backend.
        type: str
        choices: [ready, drain, maint, absent]
        default: ready
      weight:
        description: Its weight; 0 keeps a ready server out of the rotation. Unset leaves the weight as it is.
        type: int
      address:
        description: C(ip:port), needed only to add a server the backend does not have.
        type: str
  drain_timeout:
    description: Seconds to wait for a server's sessions to reach 0 between C(drain) and C(maint).
    type: float
    default: 30
  allow_empty:
    description:
      - Allow a change that leaves the backend with no serving server. Only for backends that carry no production
        traffic, such as a drill's own backend.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for the runtime API to accept and answer each command.
    type: float
    default: 5.0
notes:
  - Backend and server names are sent only when they are plain identifiers (letters, digits, C(_), C(.), C(:), C(-), at most
    64) and addresses only as C(host:port); anything else - a VM name with a space or a C(;) - is refused before anything
    reaches the socket, because the runtime API reads C(;) and a newline as the start of another command.
"""

EXAMPLES = r"""
- name: Partial level - the mirror is in the pool but takes no traffic
  predictive.mirroring.lb_pool:
    socket: /run/haproxy/admin.sock
    backend: app
    servers:
      - {name: web01, state: ready, weight: 100}
      - {name: web01-mirror, state: ready, weight: 0, address: 10.1.0.21:8080}
  delegate_to: localhost

- name: Fail over - the mirror serves, the primary is drained then put in maintenance
  predictive.mirroring.lb_pool:
    socket: /run/haproxy/admin.sock
    backend: app
    servers:
      - {name: web01-mirror, state: ready, weight: 100}
      - {name: web01, state: maint}
  delegate_to: localhost
"""

RETURN = r"""
servers:
  description: The backend's servers as the load balancer reports them after the run.
  returned: always
  type: dict
  sample:
    web01: {address: 10.0.0.11:8080, state: maint, weight: 100, up: true, sessions: 0}
    web01-mirror: {address: 10.1.0.21:8080, state: ready, weight: 100, up: true, sessions: 4}
steps:
  description: What was (or in check mode would be) sent, in order.
  returned: always
  type: list
  elements: list
drained:
  description: Per server moved to maintenance, whether its sessions reached 0 before the timeout.
  returned: always
  type: dict
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.traffic import pool_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(pool_task, dict(
        provider=dict(type="str", choices=["haproxy"], default="haproxy"),
        socket=dict(type="str", required=True),
        backend=dict(type="str", required=True),
        servers=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["ready", "drain", "maint", "absent"], default="ready"),
            weight=dict(type="int"),
            address=dict(type="str"),
        )),
        drain_timeout=dict(type="float", default=30),
        allow_empty=dict(type="bool", default=False),
        timeout=dict(type="float", default=5.0),
    ))


if __name__ == "__main__":
    main()
