# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS that follows the service: one record set held at the addresses and the TTL asked for, by RFC 2136 dynamic
updates signed with TSIG (RFC 8945), read back from the zone's primary server.

Every exchange goes over TCP with one deadline for the whole exchange (dnspython's `timeout` is the time left for
the query as a whole, not per read). Names and values are checked before anything is sent; the TSIG secret is never
part of a message or a result.
"""

from __future__ import annotations

import binascii
import ipaddress
import re
import traceback

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import FULL, MINIMAL, PARTIAL
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import DnsError, require

try:
    import dns.exception
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()


TYPES = ("A", "AAAA", "CNAME")
ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512")
# the TTL a record gets by the level of the VM behind it: as the risk rises, clients re-resolve sooner, so a
# failover's address change reaches them within seconds instead of an hour
DEFAULT_TTL_BY_LEVEL = {MINIMAL: 3600, PARTIAL: 300, FULL: 30}
MAX_TTL = 604800
LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")  # used with fullmatch: `$` would let a trailing newline in


def check_name(name, zone):
    """The absolute owner name of `name` (relative to zone, or absolute within it); refused otherwise."""
    for what, value in (("zone", zone), ("name", name)):
        if not isinstance(value, str) or not value.strip(".") or len(value) > 253 or \
                not all(LABEL.fullmatch(label) for label in value.strip(".").split(".")):
            raise DnsError("%s %r is not a DNS name (letters, digits, _ and -, labels joined by dots)" % (what, value))
    origin = dns.name.from_text(zone)
    owner = dns.name.from_text(name) if name.endswith(".") else dns.name.from_text(name, origin)
    if not owner.is_subdomain(origin) or owner == origin:
        raise DnsError("name %s is not inside zone %s" % (owner.to_text(), origin.to_text()))
    return owner, origin


def check_values(rtype, values):
    """The record's values in their canonical text, sorted; refused when one is not of the type."""
    if rtype not in TYPES:
        raise DnsError("type %r: want one of %s" % (rtype, ", ".join(TYPES)))
    if not values:
        raise DnsError("a present record needs at least one value")
    out = set()
    for value in values:
        try:
            if rtype == "A":
                out.add(str(ipaddress.IPv4Address(value)))
            elif rtype == "AAAA":
                out.add(str(ipaddress.IPv6Address(value)))
            else:
                if len(values) != 1:
                    raise DnsError("a CNAME has exactly one value, got %d" % len(values))
                if not value.endswith(".") or not all(LABEL.fullmatch(lbl) for lbl in value.strip(".").split(".")):
                    raise DnsError("CNAME value %r must be an absolute DNS name (ending in a dot)" % value)
                out.add(value.lower())
        except ValueError:
            raise DnsError("value %r is not an %s address" % (value, "IPv4" if rtype == "A" else "IPv6")) from None
    return sorted(out)


def check_ttl(ttl):
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= MAX_TTL:
        raise DnsError("ttl must be a whole number of seconds within 1..%d, got %r" % (MAX_TTL, ttl))
    return ttl


def ttl_for_level(level, table=None):
    """The TTL of a record whose VM is at `level` (table: {level: seconds}, the defaults for what it leaves out)."""
    merged = dict(DEFAULT_TTL_BY_LEVEL, **(table or {}))
    unknown = sorted(set(merged) - set(DEFAULT_TTL_BY_LEVEL))
    if unknown:
        raise DnsError("ttl_by_level has unknown levels %s: want minimal, partial, full" % ", ".join(unknown))
    if level not in merged:
        raise DnsError("level %r: want minimal, partial or full" % (level,))
    return check_ttl(merged[level])


class Zone:
    """One zone on its primary server, updated with TSIG."""

    def __init__(self, server, zone, key_name, key_secret, key_algorithm="hmac-sha256", port=53, timeout=5.0):
        require("dnspython", HAS_DNSPYTHON, DNSPYTHON_IMPORT_ERROR)
        try:
            self.server = str(ipaddress.ip_address(server))
        except ValueError:
            raise DnsError("server %r must be the IP address of the zone's primary server" % (server,)) from None
        if not 1 <= int(port) <= 65535:
            raise DnsError("port must be within 1..65535, got %s" % port)
        if not 0 < float(timeout) <= 300:
            raise DnsError("timeout must be within 0..300 seconds, got %s" % timeout)
        if key_algorithm not in ALGORITHMS:
            raise DnsError("key_algorithm %r: want one of %s" % (key_algorithm, ", ".join(ALGORITHMS)))
        if not isinstance(key_name, str) or not key_name.strip(".") or \
                not all(LABEL.fullmatch(label) for label in key_name.strip(".").split(".")):
            raise DnsError("key_name %r is not a DNS name" % (key_name,))
        try:
            self.keyring = dns.tsigkeyring.from_text({key_name: key_secret})
        except (binascii.Error, ValueError, TypeError, dns.exception.DNSException):
            raise DnsError("key_secret of TSIG key %s is not base64" % key_name) from None
        self.key_name = dns.name.from_text(key_name)
        self.algorithm = dns.name.from_text(key_algorithm)
        self.port = int(port)
        self.timeout = float(timeout)
        self.zone = zone
        self.where = "%s port %d" % (self.server, self.port)

    def _exchange(self, message, what):
        try:
            answer = dns.query.tcp(message, self.server, port=self.port, timeout=self.timeout)
        except dns.exception.Timeout:
            raise DnsError("DNS server %s gave no complete answer to %s within %.0f s (timeout)"
                           % (self.where, what, self.timeout)) from None
        except dns.tsig.PeerError as e:
            raise DnsError("DNS server %s refused the TSIG signature of %s (%s): check key_name, key_secret and "
                           "key_algorithm" % (self.where, what, type(e).__name__)) from None
        except (OSError, EOFError, dns.exception.DNSException) as e:
            raise DnsError("DNS server %s failed %s: %s" % (self.where, what, e or type(e).__name__)) from None
        rcode = answer.rcode()
        if rcode != dns.rcode.NOERROR and not (what.startswith("read") and rcode == dns.rcode.NXDOMAIN):
            hint = {dns.rcode.REFUSED: ": the server does not allow this key to update (allow-update / update-policy)",
                    dns.rcode.NOTAUTH: ": the server is not authoritative for the zone or the key is unknown to it",
                    dns.rcode.NOTZONE: ": the name is outside the zone"}.get(rcode, "")
            raise DnsError("DNS server %s answered %s to %s%s" % (self.where, dns.rcode.to_text(rcode), what, hint))
        return answer

    def read(self, name, rtype):
        """(values sorted, ttl) of the record set, or ([], None) when there is none."""
        owner, _origin = check_name(name, self.zone)
        query = dns.message.make_query(owner, rtype)
        query.use_tsig(self.keyring, keyname=self.key_name, algorithm=self.algorithm)
        answer = self._exchange(query, "read %s %s" % (owner.to_text(), rtype))
        for rrset in answer.answer:
            if rrset.name == owner and rrset.rdtype == dns.rdatatype.from_text(rtype):
                return sorted(r.to_text().lower() if rtype == "CNAME" else r.to_text() for r in rrset), rrset.ttl
        return [], None

    def write(self, name, rtype, values, ttl):
        """Replace the record set (values None: delete it), in one signed update."""
        owner, origin = check_name(name, self.zone)
        update = dns.update.UpdateMessage(origin, keyring=self.keyring, keyname=self.key_name,
                                          keyalgorithm=self.algorithm)
        if values is None:
            update.delete(owner, rtype)
        else:
            update.replace(owner, ttl, rtype, *values)
        self._exchange(update, "update %s %s" % (owner.to_text(), rtype))


def record_task(p, task):
    """The dns_record module: hold one record set at its values and TTL (or absent); read back after a change."""
    rtype = p["type"]
    owner, _origin = check_name(p["name"], p["zone"])
    ttl = p["ttl"]
    if p["level"] is not None:
        if ttl is not None:
            raise DnsError("give ttl or level, not both")
        ttl = ttl_for_level(p["level"], p["ttl_by_level"])
    values = None
    if p["state"] == "present":
        values = check_values(rtype, p["values"] or [])
        ttl = check_ttl(3600 if ttl is None else ttl)
    zone = Zone(p["server"], p["zone"], p["key_name"], p["key_secret"], p["key_algorithm"], p["port"], p["timeout"])
    have, have_ttl = zone.read(owner.to_text(), rtype)
    before = {"values": have, "ttl": have_ttl}
    after = {"values": values or [], "ttl": ttl if values else None}
    result = {"name": owner.to_text(), "type": rtype, "before": before}
    if before == after:
        result["record"] = before
        return result
    task.changed = True
    if task.diff:
        result["diff"] = {"before": before, "after": after}
    if task.check_mode:
        result["record"] = after
        return result
    zone.write(owner.to_text(), rtype, values, ttl)
    got, got_ttl = zone.read(owner.to_text(), rtype)
    result["record"] = {"values": got, "ttl": got_ttl}
    if result["record"] != after:
        raise DnsError("DNS server %s accepted the update of %s %s but serves %s (ttl %s), not %s (ttl %s)" % (
            zone.where, owner.to_text(), rtype, got, got_ttl, after["values"], after["ttl"]), record=result["record"])
    return result
