"""ansible-builder create: the execution environment's build context carries the collection and its needs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def test_builder_context_has_the_collection_and_its_python_and_system_needs(tmp_path):
    # the repository as a user clones it (tracked files and new ones, nothing ignored)
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    with tarfile.open(tmp_path / "src.tar", "w") as tar:
        for f in files:
            if not f.startswith("ansible_collections/"):
                tar.add(os.path.join(ROOT, f), arcname=f)
    src = tmp_path / "src"
    with tarfile.open(tmp_path / "src.tar") as tar:
        tar.extractall(src, filter="tar")
    with open(src / "galaxy.yml", encoding="utf-8") as f:
        version = yaml.safe_load(f)["version"]
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", "build/"], cwd=src,
                   check=True, capture_output=True)
    proc = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c",
                           str(tmp_path / "context")], cwd=src, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    build = tmp_path / "context" / "_build"
    pip = (build / "requirements.txt").read_text()
    for need in ("pyvmomi", "psycopg", "scikit-learn", "joblib", "scipy", "matplotlib", "requests", "cryptography"):
        assert need in pip
    assert "gcc" in (build / "bindep.txt").read_text()
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    [entry] = galaxy["collections"]
    tarball = build / entry["name"]
    assert entry["name"].endswith("-%s.tar.gz" % version) and tarball.exists()
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        names = tar.getnames()
    assert manifest["collection_info"]["namespace"] == "predictive" and manifest["collection_info"]["version"] == version
    assert "meta/execution-environment.yml" in names and "plugins/modules/vm_failover.py" in names
    containerfile = next(p for p in (tmp_path / "context").iterdir() if p.name in ("Containerfile", "Dockerfile"))
    text = containerfile.read_text()
    assert "ansible-galaxy collection install" in text and "introspect" in text
