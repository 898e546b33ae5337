"""Re-IP rules: each address keeps its place in the subnet; bad rules and uncovered addresses refused in one line."""
from __future__ import annotations

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import reip
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.placement import (
    customization_spec, guest_hostname)

RULES = [{"primary": "10.1.0.0/24", "secondary": "10.2.0.0/24", "gateway": "10.2.0.1",
          "dns_servers": ["10.2.0.53"], "dns_domain": "dr.example"},
         {"primary": "192.168.8.0/22", "secondary": "172.16.4.0/22"}]


def test_each_address_keeps_its_place_with_the_rules_gateway_and_dns():
    rules = reip.parse_rules(RULES)
    nics = reip.mirror_nics(rules, [["fe80::1", "10.1.0.11"], ["192.168.9.200"]], "db01")
    assert [n["address"] for n in nics] == ["10.2.0.11", "172.16.5.200"]
    assert nics[0]["prefix"] == 24 and nics[0]["gateway"] == ["10.2.0.1"] and nics[0]["dns_servers"] == ["10.2.0.53"]
    assert nics[1]["prefix"] == 22 and nics[1]["gateway"] == [] and nics[1]["dns_domain"] is None
    assert reip.addresses_text(nics) == "10.2.0.11,172.16.5.200"
    spec = customization_spec(nics, guest_hostname("db01.prod.example", "DC0_C0_RP0_VM1"))
    assert [m.adapter.ip.ipAddress for m in spec.nicSettingMap] == ["10.2.0.11", "172.16.5.200"]
    assert [m.adapter.subnetMask for m in spec.nicSettingMap] == ["255.255.255.0", "255.255.252.0"]
    assert spec.identity.hostName.name == "db01" and spec.identity.domain == "dr.example"
    assert guest_hostname(None, "DC0_C0_RP0_VM1") == "DC0-C0-RP0-VM1"


@pytest.mark.parametrize("rules, says", [
    ([{"primary": "10.1.0.0/24", "secondary": "10.2.0.0/23"}], "the same size"),
    ([{"primary": "10.1.0.5/24", "secondary": "10.2.0.0/24"}], "host bits set"),
    ([{"primary": "10.1.0.0/24", "secondary": "10.2.0.0/24", "gateway": "10.3.0.1"}], "not in the secondary subnet"),
    ([{"primary": "10.1.0.0/24", "secondary": "10.2.0.0/24", "gatway": "10.2.0.1"}], "did you mean gateway"),
    ([{"primary": "10.1.0.0/24", "secondary": "10.2.0.0/24", "dns_servers": ["10.2.0.53; rm -rf /"]}],
     "is not an IPv4 address"),
    ([{"primary": "10.1.0.0/24", "secondary": "10.2.0.0/24"}, {"primary": "10.1.0.0/25", "secondary": "10.3.0.0/25"}],
     "both cover"),
    ([{"primary": "fd00::/64", "secondary": "fd01::/64"}], "not IPv4"),
    ([{"primary": "10.1.0.0/24"}], "needs primary and secondary"),
    ("10.1.0.0/24", "must be a list"),
])
def test_a_bad_rule_is_refused_with_its_index(rules, says):
    with pytest.raises(MirroringError) as e:
        reip.parse_rules(rules)
    assert says in str(e.value)


def test_an_address_no_rule_covers_or_none_known_is_refused_by_name():
    rules = reip.parse_rules(RULES)
    with pytest.raises(MirroringError, match=r"address 10\.9\.0\.4 of web01 \(NIC 1\) is in no re-IP rule's subnet"):
        reip.mirror_nics(rules, [["10.9.0.4"]], "web01")
    with pytest.raises(MirroringError, match=r"NIC 2 of web01 has no IPv4 address known to vCenter"):
        reip.mirror_nics(rules, [["10.1.0.4"], []], "web01")
    with pytest.raises(MirroringError, match="has no NIC"):
        reip.mirror_nics(rules, [], "web01")


def test_network_map_takes_names_only():
    assert reip.parse_network_map({"VM Network": "DR Network"}) == {"VM Network": "DR Network"}
    with pytest.raises(MirroringError, match="not a pair of port group names"):
        reip.parse_network_map({"VM Network": ""})


def test_a_mirror_keeps_its_addresses_while_the_primarys_are_unknown():
    rules = reip.parse_rules(RULES)
    with pytest.raises(reip.AddressUnknown):
        reip.mirror_nics(rules, [[]], "db01")  # VMware Tools of a primary that is down report nothing
    kept = reip.kept_nics(rules, "10.2.0.11,172.16.5.200", "db01")
    assert kept == reip.mirror_nics(rules, [["10.1.0.11"], ["192.168.9.200"]], "db01")
    with pytest.raises(MirroringError, match="the mirror of db01 is on 10.7.0.1, in no re-IP rule's secondary subnet"):
        reip.kept_nics(rules, "10.7.0.1", "db01")
