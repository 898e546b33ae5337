# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of every module that talks to vCenter.
    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - The vCenter server's name or address.
      - Falls back to the E(VMWARE_HOST) environment variable, which AWX's VMware credential sets.
      - Required unless set in the environment.
    type: str
  username:
    description:
      - The vCenter user. Falls back to E(VMWARE_USER).
    type: str
    aliases: [user]
  password:
    description:
      - The vCenter user's password. Falls back to E(VMWARE_PASSWORD). Never logged.
    type: str
    aliases: [pass, pwd]
  port:
    description:
      - The vCenter HTTPS port. Falls back to E(VMWARE_PORT).
    type: int
    default: 443
  validate_certs:
    description:
      - Verify vCenter's TLS certificate. Falls back to E(VMWARE_VALIDATE_CERTS).
      - Turn off only for a lab vCenter whose certificate you cannot give in O(ca_path).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file, or an OpenSSL hashed directory, of CA certificates to verify vCenter's certificate with, instead of the system's.
      - Falls back to E(VMWARE_CA_PATH).
    type: path
  timeout:
    description:
      - Seconds to wait for vCenter to accept the connection and to answer each call (not a task's duration).
      - A vCenter that accepts the connection and never answers fails the module after this long, with one line.
      - The limit is on each call as a whole, the login included, not on each read, so a vCenter or a link that
        answers a byte at a time cannot hold a call longer either.
      - Falls back to E(VMWARE_TIMEOUT).
    type: int
    default: 60
"""

    # The same options for the inventory plugin, with their env: and ini: sources.
    PLUGIN = r"""
options:
  hostname:
    description: The vCenter server's name or address.
    type: str
    env:
      - name: VMWARE_HOST
  username:
    description: The vCenter user.
    type: str
    env:
      - name: VMWARE_USER
  password:
    description: The vCenter user's password. Never logged.
    type: str
    env:
      - name: VMWARE_PASSWORD
  port:
    description: The vCenter HTTPS port.
    type: int
    default: 443
    env:
      - name: VMWARE_PORT
  validate_certs:
    description:
      - Verify vCenter's TLS certificate. Turn off only for a lab vCenter whose certificate you cannot give in O(ca_path).
      - Only a boolean (V(true)/V(false), V(yes)/V(no), V(1)/V(0), V(on)/V(off)) is accepted; any other value (a typo)
        stops the inventory instead of turning verification off.
    type: raw
    default: true
    env:
      - name: VMWARE_VALIDATE_CERTS
  ca_path:
    description:
      - A PEM file, or an OpenSSL hashed directory, of CA certificates to verify vCenter's certificate with.
      - Empty uses the system's CA store.
    type: str
    env:
      - name: VMWARE_CA_PATH
  timeout:
    description:
      - Seconds to wait for each vCenter to accept the connection and to answer each call.
      - A vCenter that accepts the connection and never answers fails the inventory after this long, naming it.
      - The limit is on each call as a whole, not on each read.
    type: int
    default: 60
    env:
      - name: VMWARE_TIMEOUT
"""
