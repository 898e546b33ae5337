"""Start and stop the real parts the tests and the demo run against.

Each part runs from a temp dir, is stopped by its own PID and leaves nothing
behind. Used by the pytest fixtures (tests/conftest.py), molecule prepare
steps and scripts/demo.py.
"""
