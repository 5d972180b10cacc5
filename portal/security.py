"""Secrets the deployment did not set."""

import os
import secrets
from pathlib import Path


def instance_secret_key(instance_path: str) -> str:
    """A random key kept in ``instance/secret_key`` so sessions survive a restart.

    Production sets ``PORTAL_SECRET_KEY``; this keeps ``make run`` free of set-up steps
    without shipping a known key.
    """
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # written earlier, or by another worker just now
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
