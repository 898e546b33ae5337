"""The built tarball ships the collection and nothing of the work tree's by-products."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def run(*argv, cwd=ROOT, env=None):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=True, timeout=300,
                          env=dict(os.environ, **(env or {})))


def test_build_then_install_into_an_empty_path(tmp_path):
    run(os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), "--force")
    tarballs = [p for p in os.listdir(tmp_path) if p.endswith(".tar.gz")]
    assert tarballs == ["predictive-mirroring-0.1.0.tar.gz"]
    with tarfile.open(tmp_path / tarballs[0]) as tar:
        names = tar.getnames()
    for unwanted in (".venv", ".build", "tests/output", "ansible_collections", ".git", "scripts", "__pycache__"):
        assert not any(n == unwanted or n.startswith(unwanted + "/") or "/%s/" % unwanted in n for n in names), unwanted
    for wanted in ("plugins/inventory/vsphere_fps.py", "plugins/modules/fps_train.py", "models/default/model.joblib",
                   "models/default/model.json", "models/default/model.trees", "meta/runtime.yml", "README.md"):
        assert wanted in names, wanted
    assert all(not n.endswith(".pyc") for n in names)

    dest = tmp_path / "installed"
    # from outside the work tree, as a user would: its ansible.cfg points at the collection in place
    run(os.path.join(BIN, "ansible-galaxy"), "collection", "install", str(tmp_path / tarballs[0]), "-p", str(dest),
        cwd=str(tmp_path), env={"ANSIBLE_COLLECTIONS_PATH": str(dest)})
    installed = dest / "ansible_collections" / "predictive" / "mirroring"
    assert (installed / "models" / "default" / "model.joblib").is_file()
    out = run(os.path.join(BIN, "ansible-doc"), "-t", "inventory", "predictive.mirroring.vsphere_fps",
              cwd=str(tmp_path), env={"ANSIBLE_COLLECTIONS_PATH": str(dest)}).stdout
    assert "fps_minimal" in out
    listed = run(os.path.join(BIN, "ansible-galaxy"), "collection", "list", "-p", str(dest), "predictive.mirroring",
                 cwd=str(tmp_path), env={"ANSIBLE_COLLECTIONS_PATH": str(dest)}).stdout
    assert str(dest / "ansible_collections") in listed and "predictive.mirroring 0.1.0" in listed
