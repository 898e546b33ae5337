#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: notify_webhook
short_description: Tell someone - a failover, a refusal, an RPO violation - by webhook, never failing the run
version_added: "0.3.0"
description:
  - POSTs a JSON notification to O(url) - the collection's own document, a Slack incoming webhook's message or a
    Microsoft Teams workflow webhook's Adaptive Card (O(format)).
  - Retries on connection errors, timeouts, HTTP 408, 425, 429 (honouring C(Retry-After)) and 5xx with doubling
    backoff, all within O(timeout) seconds in total. A receiver that never answers costs O(timeout), no more.
  - Never fails the task it runs in (a failover is not undone because nobody could be told); an undelivered
    notification is a warning and RV(delivered=false). Only invalid options fail.
author:
  - predictive.mirroring developers (@predictive-mirroring)
options:
  url:
    description:
      - The webhook. A Slack or Teams webhook URL is a credential; it is never printed, and errors name its host only.
      - Falls back to E(PM_NOTIFY_URL).
    type: str
    required: true
  format:
    description: V(json) (C(source), C(event), C(summary), C(details), C(at)), V(slack) or V(teams).
    type: str
    choices: [json, slack, teams]
    default: json
  event:
    description: What happened.
    type: str
    required: true
    choices: [failover, refusal, rpo_violation, failback, drill]
  summary:
    description: One line for a person.
    type: str
    required: true
  details:
    description: Facts to go with it (VM, FPS, reasons, mirror, ...); shown as fields in Slack and Teams.
    type: dict
    default: {}
  timeout:
    description: Seconds for the whole notification, retries included.
    type: float
    default: 10
  retries:
    description: Attempts after the first.
    type: int
    default: 3
  backoff:
    description: Seconds before the first retry; doubled before each next one.
    type: float
    default: 1
  validate_certs:
    description: Verify the receiver's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: A CA bundle to verify it with.
    type: path
notes:
  - Supports check mode (nothing is sent).
"""

EXAMPLES = r"""
- name: Tell the on-call channel
  predictive.mirroring.notify_webhook:
    url: "{{ mirroring_notify_url }}"
    format: slack
    event: failover
    summary: "db01 failed over to db01-mirror (predictive, FPS 92)"
    details: {vm: db01, fps: 92, mirror: db01-mirror}
"""

RETURN = r"""
delivered:
  description: Whether a 2xx answer came back.
  returned: always
  type: bool
attempts:
  description: Requests made.
  returned: always
  type: int
status:
  description: The last HTTP status, or null when none came back.
  returned: always
  type: int
error:
  description: Why it was not delivered (the host and the error, never the URL), or null.
  returned: always
  type: str
seconds:
  description: How long it took.
  returned: always
  type: float
"""

from ansible.module_utils.basic import env_fallback

from ansible_collections.predictive.mirroring.plugins.module_utils.notify import EVENTS, FORMATS, webhook
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(webhook, dict(
        url=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["PM_NOTIFY_URL"])),
        format=dict(type="str", default="json", choices=list(FORMATS)),
        event=dict(type="str", required=True, choices=list(EVENTS)),
        summary=dict(type="str", required=True),
        details=dict(type="dict", default={}),
        timeout=dict(type="float", default=10.0),
        retries=dict(type="int", default=3),
        backoff=dict(type="float", default=1.0),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
    ))


if __name__ == "__main__":
    main()
