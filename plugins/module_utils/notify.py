# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Webhook notifications: a JSON POST with retries under one deadline, never an exception.

Payloads: ``json`` (the collection's own document), ``slack`` (an incoming webhook: ``text`` plus Block Kit
``blocks``) and ``teams`` (a Teams workflow webhook: a message with one Adaptive Card attachment). The URL of a
Slack or Teams webhook is its credential, so no message here ever contains it: errors name the host only.
"""

from __future__ import annotations

import datetime
import time

from ansible_collections.predictive.mirroring.plugins.module_utils.deadline import DeadlineExceeded, call_within
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError

try:
    import requests
    HAS_REQUESTS, REQUESTS_IMPORT_ERROR = True, None
except ImportError as _e:  # pragma: no cover - requests is in requirements.txt
    HAS_REQUESTS, REQUESTS_IMPORT_ERROR = False, _e

FORMATS = ("json", "slack", "teams")
EVENTS = ("failover", "refusal", "rpo_violation", "failback", "drill")
RETRY_STATUS = (408, 425, 429, 500, 502, 503, 504)


def payload(fmt, event, summary, details=None, at=None):
    """The request body for a format."""
    details = {k: details[k] for k in sorted(details or {})}
    at = at or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    if fmt == "json":
        return {"source": "predictive.mirroring", "event": event, "summary": summary, "details": details, "at": at}
    facts = [(str(k), v if isinstance(v, str) else str(v)) for k, v in details.items()]
    if fmt == "slack":
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*%s*" % summary}}]
        if facts:
            blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": "*%s*\n%s" % f} for f in facts[:10]]})
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "predictive.mirroring %s at %s" % (event, at)}]})
        return {"text": summary, "blocks": blocks}
    if fmt == "teams":
        card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
                "body": [{"type": "TextBlock", "text": summary, "weight": "Bolder", "wrap": True},
                         {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]},
                         {"type": "TextBlock", "text": "predictive.mirroring %s at %s" % (event, at), "isSubtle": True,
                          "size": "Small", "wrap": True}]}
        return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                    "contentUrl": None, "content": card}]}
    raise MirroringError("format must be one of %s, not %r" % (", ".join(FORMATS), fmt))


def _host(url):
    try:
        return requests.utils.urlparse(url).hostname or "the webhook"
    except Exception:  # pylint: disable=broad-except
        return "the webhook"


def send(url, body, timeout=10.0, retries=3, backoff=1.0, verify=True, sleep=time.sleep, clock=time.monotonic):
    """POST body as JSON until a 2xx answer, at most 1 + retries attempts, all within timeout seconds: each attempt
    is cut off when the time is up, however slowly the receiver drips its answer. Retries on connection errors, timeouts, 408/425/429 and 5xx, with
    doubling backoff (a 429's Retry-After honoured) cut short by the deadline. Returns {delivered, attempts, status,
    error, seconds}; never raises. verify: True, False or a CA bundle path."""
    started = clock()
    deadline = started + float(timeout)
    result = {"delivered": False, "attempts": 0, "status": None, "error": None}
    if not HAS_REQUESTS:
        result["error"] = "the Python library requests is missing: %s" % REQUESTS_IMPORT_ERROR
        return dict(result, seconds=0.0)
    host, wait = _host(url), float(backoff)
    for attempt in range(int(retries) + 1):
        left = deadline - clock()
        if left <= 0.05:
            break
        result["attempts"] = attempt + 1
        retry_after = None
        try:
            r = call_within(left, requests.post, url, json=body, timeout=(left, left), verify=verify,
                            allow_redirects=False, headers={"User-Agent": "predictive.mirroring"})
            result["status"] = r.status_code
            if 200 <= r.status_code < 300:
                result.update(delivered=True, error=None)
                break
            result["error"] = "%s answered HTTP %d" % (host, r.status_code)
            if r.status_code not in RETRY_STATUS:
                break  # a wrong URL or payload: asking again will not help
            if r.status_code == 429 and (r.headers.get("Retry-After") or "").isdigit():
                retry_after = float(r.headers["Retry-After"])
        except (requests.Timeout, DeadlineExceeded):
            result["error"] = "%s did not answer within the %.1f s left of the %.1f s timeout" % (host, left, timeout)
        except requests.RequestException as e:  # the message would carry the URL, which is the credential
            result["error"] = "%s: %s" % (host, type(e).__name__)
        pause = min(retry_after if retry_after is not None else wait, deadline - clock())
        if attempt < int(retries) and pause > 0:
            sleep(pause)
        wait *= 2
    return dict(result, seconds=round(clock() - started, 3))


def webhook(p, task):
    """The notify_webhook module: one notification, retried; a failed delivery warns and never fails the play."""
    if not p["url"].startswith(("https://", "http://")):
        raise MirroringError("url must be an http:// or https:// webhook")
    if p["timeout"] <= 0 or p["retries"] < 0 or p["backoff"] < 0:
        raise MirroringError("timeout must be above 0, retries and backoff 0 or more")
    body = payload(p["format"], p["event"], p["summary"], p["details"])
    if task.check_mode:
        return dict(changed=False, delivered=False, attempts=0, status=None, error=None, seconds=0.0,
                    msg="check mode: nothing sent")
    verify = p["ca_path"] if p["validate_certs"] and p["ca_path"] else p["validate_certs"]
    result = send(p["url"], body, timeout=p["timeout"], retries=p["retries"], backoff=p["backoff"], verify=verify)
    if not result["delivered"]:
        task.warn("The %s notification was not delivered after %d attempt(s) in %.1f s: %s"
                  % (p["event"], result["attempts"], result["seconds"], result["error"]))
    return dict(result, changed=False)
