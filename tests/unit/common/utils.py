"""run_module: call a module's main() in-process and return what it exited with."""
from __future__ import annotations

import json
import os
from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result.get("msg"))
        self.result = result
        self.failed = failed


def _exit(self, **kwargs):  # pylint: disable=unused-argument
    raise ModuleExit(kwargs, False)


def _fail(self, msg, **kwargs):  # pylint: disable=unused-argument
    raise ModuleExit(dict(kwargs, msg=msg, failed=True), True)


def run_module(module, args, check_mode=False):
    """Run module.main() with args; return (result, failed). Output is checked for secrets by the caller."""
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), mock.patch.object(basic.AnsibleModule, "exit_json", _exit), \
            mock.patch.object(basic.AnsibleModule, "fail_json", _fail):
        try:
            module.main()
        except ModuleExit as e:
            json.dumps(e.result, default=str)  # what a module returns must serialise
            return e.result, e.failed
    raise AssertionError("module returned without exit_json or fail_json")


def keypair(directory, name="operator"):
    """An Ed25519 key pair as PEM files, as openssl genpkey -algorithm ed25519 writes them: (private, public)."""
    # imported here: the helpers above serve tests that need no cryptography
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # pylint: disable=import-outside-toplevel
    key = Ed25519PrivateKey.generate()
    private, public = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".pub")
    with open(private, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(public, "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public
