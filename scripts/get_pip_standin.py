"""Stand-in for ansible-test's get-pip.py bootstrap (its download host is not reachable here).

ansible-test runs this file as `python get_pip_<version>.py [pip options] pip==<version> ...`
inside a fresh virtual environment: bring pip in with ensurepip, then install
what it asked for from the package index.
"""
import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"] + args)


if __name__ == "__main__":
    main()
