"""Ticket numbers and access codes.

A ticket number is random (D-/C- and ten base-32 characters, 50 bits): it reveals neither
the order of submissions nor how many there are. The access code is 80 bits from
``secrets``, shown once and mailed; only a keyed hash (HMAC-SHA-256 under a key derived
from the secret key) is stored. The code is random and long, so a fast keyed hash is as
safe here as a slow password hash and keeps submissions cheap; rotating PORTAL_SECRET_KEY
invalidates outstanding codes.
"""

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
PREFIX = {"demand": "D", "complaint": "C"}


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_ticket(kind: str) -> str:
    return f"{PREFIX[kind]}-{_random(10)}"


def new_access_code() -> str:
    code = _random(16)
    return "-".join(code[i:i + 4] for i in range(0, 16, 4))


def normalise_code(code: str) -> str:
    """What a person types: any case, spaces or dashes, O for 0 and I/L for 1."""
    cleaned = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return cleaned.translate(str.maketrans("OIL", "011"))


def normalise_ticket(ticket: str) -> str:
    cleaned = "".join(ch for ch in (ticket or "").upper() if ch.isalnum())
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    return f"{cleaned[0]}-{cleaned[1:]}" if len(cleaned) == 11 else cleaned


REPLAY_WINDOW = timedelta(days=1)


def _derived(purpose: bytes) -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, purpose, hashlib.sha256).digest()


def _key() -> bytes:
    return _derived(b"portal access codes v1")


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derived(b"portal sealed access codes v1")))


def seal(code: str) -> str:
    """The code encrypted under the server's key, kept a day for idempotent replays."""
    return _fernet().encrypt(code.encode()).decode()


def unseal(token: str) -> str | None:
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode(),
                                 ttl=int(REPLAY_WINDOW.total_seconds())).decode()
    except InvalidToken:
        return None


def hash_code(code: str) -> str:
    return hmac.new(_key(), normalise_code(code).encode(), hashlib.sha256).hexdigest()


def code_matches(code: str, stored_hash: str | None) -> bool:
    """Constant-time; an unknown ticket (no hash) costs the same as a wrong code."""
    candidate = hash_code(code)
    return hmac.compare_digest(candidate, stored_hash or "0" * len(candidate))
