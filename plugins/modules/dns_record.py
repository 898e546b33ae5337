#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_record
short_description: Hold a DNS record at its addresses and a TTL that follows the mirroring level (RFC 2136, TSIG)
version_added: "0.4.0"
description:
  - Holds one record set (C(A), C(AAAA) or C(CNAME)) of a zone at the given values and TTL, or removes it, with one
    RFC 2136 dynamic update signed with TSIG, sent to the zone's primary server (BIND 9, PowerDNS, Windows DNS with
    TSIG, Infoblox and others accept them). The record set is read first and after the change, over TCP.
  - The TTL can follow the level of the VM behind the record (O(level)). As its risk rises the TTL falls (by default
    an hour at minimal, 5 minutes at partial, 30 seconds at full), so when it is failed over and the record moves to
    the mirror's address, clients follow within seconds instead of waiting out an hour-long cache.
  - Idempotent, with check mode and diff. O(timeout) is a deadline on each exchange as a whole, whatever the server
    does.
requirements:
  - dnspython >= 2.3
author:
  - predictive.mirroring developers (@predictive-mirroring)
options:
  server:
    description: IP address of the zone's primary (the server that accepts updates).
    type: str
    required: true
  port:
    description: Its DNS port.
    type: int
    default: 53
  zone:
    description: The zone, e.g. C(app.example.com).
    type: str
    required: true
  name:
    description: The record's name, relative to O(zone) (C(www)) or absolute within it (C(www.app.example.com.)).
    type: str
    required: true
  type:
    description: The record type.
    type: str
    choices: [A, AAAA, CNAME]
    default: A
  values:
    description: The addresses (or, for C(CNAME), the one absolute target name). Needed when O(state=present).
    type: list
    elements: str
  ttl:
    description: The TTL in seconds (1 to 604800). Unset, and no O(level), 3600. Not with O(level).
    type: int
  level:
    description: The mirroring level of the VM behind the record; the TTL is O(ttl_by_level)'s for it.
    type: str
    choices: [minimal, partial, full]
  ttl_by_level:
    description: The TTL per level; levels left out keep the defaults (minimal 3600, partial 300, full 30).
    type: dict
    default: {}
  state:
    description: Whether the record set exists.
    type: str
    choices: [present, absent]
    default: present
  key_name:
    description: The TSIG key's name, as the server knows it.
    type: str
    required: true
  key_secret:
    description: The TSIG key's secret (base64). Never printed.
    type: str
    required: true
  key_algorithm:
    description: The TSIG algorithm.
    type: str
    choices: [hmac-sha256, hmac-sha384, hmac-sha512]
    default: hmac-sha256
  timeout:
    description: Seconds each exchange with the server may take as a whole.
    type: float
    default: 5.0
notes:
  - Names are letters, digits, C(_) and C(-) in dot-separated labels, and must lie inside O(zone); values are checked
    as addresses of the type; anything else is refused before anything is sent.
"""

EXAMPLES = r"""
- name: The service's name follows its VM's level (TTL 3600 s / 300 s / 30 s)
  predictive.mirroring.dns_record:
    server: 10.0.0.53
    zone: app.example.com
    name: www
    values: ["{{ primary_address }}"]
    level: "{{ mirroring_planned }}"
    key_name: pm-update
    key_secret: "{{ vault_dns_tsig_secret }}"
  delegate_to: localhost

- name: Failover - the name moves to the mirror, clients follow within the full level's 30 s
  predictive.mirroring.dns_record:
    server: 10.0.0.53
    zone: app.example.com
    name: www
    values: ["{{ mirror_address }}"]
    level: full
    key_name: pm-update
    key_secret: "{{ vault_dns_tsig_secret }}"
  delegate_to: localhost
"""

RETURN = r"""
name:
  description: The record's absolute name.
  returned: always
  type: str
  sample: www.app.example.com.
type:
  description: The record type.
  returned: always
  type: str
before:
  description: The record set as the server served it before the run (C(values) sorted, C(ttl); empty and null when absent).
  returned: always
  type: dict
record:
  description: The record set after the run, as the server serves it (in check mode, as it would be).
  returned: always
  type: dict
  sample: {values: [10.1.0.21], ttl: 30}
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import LEVELS
from ansible_collections.predictive.mirroring.plugins.module_utils.dns import record_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(record_task, dict(
        server=dict(type="str", required=True),
        port=dict(type="int", default=53),
        zone=dict(type="str", required=True),
        name=dict(type="str", required=True),
        type=dict(type="str", choices=["A", "AAAA", "CNAME"], default="A"),
        values=dict(type="list", elements="str"),
        ttl=dict(type="int"),
        level=dict(type="str", choices=list(LEVELS)),
        ttl_by_level=dict(type="dict", default={}),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        key_name=dict(type="str", required=True, no_log=False),
        key_secret=dict(type="str", required=True, no_log=True),
        key_algorithm=dict(type="str", choices=["hmac-sha256", "hmac-sha384", "hmac-sha512"], default="hmac-sha256"),
        timeout=dict(type="float", default=5.0),
    ), required_if=[("state", "present", ("values",))], mutually_exclusive=[("ttl", "level")])


if __name__ == "__main__":
    main()
