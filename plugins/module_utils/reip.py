# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Re-IP of mirrors: the secondary datacenter's address of each NIC from per-subnet rules (as SRM's and Veeam's
re-IP rules), and the network mapping of port groups. Pure logic, no vSphere: the spec is built in
vsphere.placement, the addresses applied with guest customization (CustomizeVM_Task) before the mirror's first
power-on.

A rule maps a primary subnet to a secondary subnet of the same size; a NIC's address keeps its place in the subnet
(10.1.0.11 in 10.1.0.0/24 becomes 10.2.0.11 in 10.2.0.0/24), with the rule's gateway, DNS servers and DNS domain.
"""

from __future__ import annotations

import difflib
import ipaddress

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError

RULE_KEYS = ("primary", "secondary", "gateway", "dns_servers", "dns_domain")


class AddressUnknown(MirroringError):
    """vCenter does not know a NIC's address (VMware Tools not running: a primary that is down, say)."""


def _network(text, what):
    try:
        net = ipaddress.ip_network(str(text), strict=True)
    except ValueError as e:
        raise MirroringError("%s: %s" % (what, e)) from None
    if net.version != 4:
        raise MirroringError("%s: %s is not IPv4 (guest customization re-IPs IPv4 addresses)" % (what, text))
    return net


def _address(text, what):
    try:
        return ipaddress.IPv4Address(str(text))
    except ValueError:
        raise MirroringError("%s: %r is not an IPv4 address" % (what, text)) from None


def parse_rules(rules):
    """The rules as dicts of parsed values, checked whole: unknown keys, subnets of different sizes, a gateway or DNS
    server that is no address, a gateway outside its secondary subnet, two rules for one primary address - each
    refused with the rule's index, before anything is read or changed."""
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise MirroringError("reip must be a list of rules, got %r" % (rules,))
    out = []
    for i, rule in enumerate(rules):
        what = "reip[%d]" % i
        if not isinstance(rule, dict):
            raise MirroringError("%s must be a dict with primary and secondary subnets, got %r" % (what, rule))
        for key in rule:
            if key not in RULE_KEYS:
                near = difflib.get_close_matches(str(key), RULE_KEYS, n=1)
                raise MirroringError("%s has an unknown key %r%s (known: %s)" % (
                    what, key, " - did you mean %s?" % near[0] if near else "", ", ".join(RULE_KEYS)))
        if not rule.get("primary") or not rule.get("secondary"):
            raise MirroringError("%s needs primary and secondary subnets (CIDR, like 10.1.0.0/24)" % what)
        primary = _network(rule["primary"], what + ".primary")
        secondary = _network(rule["secondary"], what + ".secondary")
        if primary.prefixlen != secondary.prefixlen:
            raise MirroringError("%s maps %s to %s: the subnets must be the same size, so each address keeps its place"
                                 % (what, primary, secondary))
        gateway = None
        if rule.get("gateway"):
            gateway = _address(rule["gateway"], what + ".gateway")
            if gateway not in secondary:
                raise MirroringError("%s: gateway %s is not in the secondary subnet %s" % (what, gateway, secondary))
        servers = rule.get("dns_servers") or []
        if not isinstance(servers, list):
            raise MirroringError("%s.dns_servers must be a list of addresses, got %r" % (what, servers))
        servers = [str(_address(s, what + ".dns_servers")) for s in servers]
        domain = rule.get("dns_domain") or None
        if domain is not None and (not isinstance(domain, str) or any(c.isspace() or c in ";,'\"" for c in domain)):
            raise MirroringError("%s.dns_domain must be a domain name, got %r" % (what, domain))
        for j, other in enumerate(out):
            if primary.overlaps(other["primary"]):
                raise MirroringError("reip[%d] and reip[%d] both cover addresses of %s: each primary address needs "
                                     "exactly one rule" % (j, i, primary))
        out.append({"primary": primary, "secondary": secondary, "gateway": gateway, "dns_servers": servers,
                    "dns_domain": domain})
    return out


def moved(rules, address):
    """The rule that covers `address` and its address in the secondary subnet; (None, None) when none does."""
    ip = ipaddress.IPv4Address(address)
    for rule in rules:
        if ip in rule["primary"]:
            return rule, rule["secondary"].network_address + (int(ip) - int(rule["primary"].network_address))
    return None, None


def first_ipv4(addresses):
    for text in addresses or []:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if ip.version == 4 and not ip.is_link_local and not ip.is_loopback:
            return str(ip)
    return None


def mirror_nics(rules, nics, vm_name):
    """Each NIC's settings on the mirror, in the primary's NIC order: [{"address", "prefix", "gateway",
    "dns_servers", "dns_domain", "primary_address"}].

    nics: the primary's NICs in device order, each the list of addresses VMware Tools reports on it. A NIC without
    an IPv4 address known to vCenter, or with one that no rule covers, is refused naming the VM, the NIC and the
    address: the mirror is never brought up on a guessed address.
    """
    if not nics:
        raise MirroringError("%s has no NIC: nothing to re-IP" % vm_name)
    out = []
    for i, addresses in enumerate(nics):
        address = first_ipv4(addresses)
        if address is None:
            raise AddressUnknown("NIC %d of %s has no IPv4 address known to vCenter (are VMware Tools running?): its "
                                 "mirror cannot be re-IP'd" % (i + 1, vm_name))
        rule, new = moved(rules, address)
        if rule is None:
            raise MirroringError("address %s of %s (NIC %d) is in no re-IP rule's subnet (%s)" % (
                address, vm_name, i + 1, ", ".join(str(r["primary"]) for r in rules)))
        out.append(_settings(rule, new))
    return out


def _settings(rule, address):
    return {"address": str(address), "prefix": rule["secondary"].prefixlen,
            "gateway": [str(rule["gateway"])] if rule["gateway"] else [],
            "dns_servers": list(rule["dns_servers"]), "dns_domain": rule["dns_domain"]}


def kept_nics(rules, addresses_attr, vm_name):
    """The settings of a mirror that was re-IP'd before (its mirroring.addresses), from the rules whose secondary
    subnet holds each address: what a new image of it gets while the primary's own addresses are unknown (a primary
    that is down reports none). Refused when the rules no longer cover them."""
    out = []
    for address in [a for a in (addresses_attr or "").split(",") if a]:
        ip = _address(address, "the mirror of %s" % vm_name)
        rule = next((r for r in rules if ip in r["secondary"]), None)
        if rule is None:
            raise MirroringError("the mirror of %s is on %s, in no re-IP rule's secondary subnet (%s), and the "
                                 "primary's addresses are unknown: its mirror cannot be re-IP'd"
                                 % (vm_name, address, ", ".join(str(r["secondary"]) for r in rules)))
        out.append(_settings(rule, ip))
    return out


def addresses_text(nics):
    """What a mirror's mirroring.addresses attribute holds: its addresses in NIC order, comma-separated."""
    return ",".join(n["address"] for n in nics)


def parse_network_map(mapping):
    """{primary port group: secondary port group}, checked: names only, no empty ones."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise MirroringError("network_map must map primary port groups to secondary ones, got %r" % (mapping,))
    for key, value in mapping.items():
        if not isinstance(key, str) or not key.strip() or not isinstance(value, str) or not value.strip():
            raise MirroringError("network_map: %r -> %r is not a pair of port group names" % (key, value))
    return dict(mapping)
