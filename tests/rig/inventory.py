"""Reading ansible-inventory --list output."""
from __future__ import annotations


def plain(value):
    """ansible-inventory --list marks inventory strings untrusted ({"__ansible_unsafe": ...}); unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
