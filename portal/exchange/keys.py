"""API keys: issued and revoked by admins (or operators on the command line), one partner
and one region tree each, with scopes.

A key reads ``zx_<prefix>_<secret>``: the prefix (8 hex characters) is public and finds the
row; only the SHA-256 of the whole key is stored, and it is compared in constant time. The
secret is 32 random bytes, so a fast hash is as safe as a slow one here (as for access codes,
``portal.intake.tickets``), and it survives a change of PORTAL_SECRET_KEY. The key is shown
once, when issued. Issuing and revoking write audit events.
"""

import hashlib
import hmac
import re
import secrets

from flask_babel import gettext as _

from portal import audit
from portal.extensions import db
from portal.models import API_SCOPES, ApiKey, Region, User, utcnow

KEY_PATTERN = re.compile(r"^zx_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")
PARTNER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_DUMMY_HASH = "0" * 64


class ApiKeyError(ValueError):
    """A key that cannot be issued as asked; the message is for the admin."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue(partner: str, region: Region | None, scopes, *, by: User | None = None,
          note: str = "") -> tuple[ApiKey, str]:
    """A new key (added to the session, with its audit event) and its secret, which is
    not kept anywhere: the caller shows it once."""
    partner = (partner or "").strip().lower()
    if not PARTNER_PATTERN.match(partner):
        raise ApiKeyError(_("合作方标识只能使用小写字母、数字和 . _ -，如 shanxi-province"))
    if region is None:
        raise ApiKeyError(_("选择密钥可访问的区域"))
    scopes = [s for s in API_SCOPES if s in set(scopes or ())]
    if not scopes:
        raise ApiKeyError(_("至少选择一项权限"))
    for _attempt in range(5):
        prefix = secrets.token_hex(4)
        if db.session.scalar(db.select(ApiKey.id).filter_by(prefix=prefix)) is None:
            break
    secret = f"zx_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(prefix=prefix, secret_hash=digest(secret), partner=partner, region=region,
                 scopes=" ".join(scopes), note=(note or "").strip(), created_by=by,
                 created_at=utcnow())
    db.session.add(key)
    db.session.flush()
    audit.record("apikey_issue", "api_key", prefix,
                 {"partner": partner, "region": region.slug, "scopes": scopes}, actor=by)
    return key, secret


def revoke(key: ApiKey, *, by: User | None = None) -> bool:
    """Revoke the key (True), or nothing when it already was (False)."""
    if key.revoked_at is not None:
        return False
    key.revoked_at, key.revoked_by = utcnow(), by
    audit.record("apikey_revoke", "api_key", key.prefix,
                 {"partner": key.partner, "region": key.region.slug}, actor=by)
    return True


def find(prefix: str) -> ApiKey | None:
    return db.session.scalars(db.select(ApiKey).filter_by(prefix=(prefix or "")[:16])).first()


def listing() -> list[ApiKey]:
    return list(db.session.scalars(db.select(ApiKey).order_by(
        ApiKey.revoked_at.is_not(None), ApiKey.partner, ApiKey.created_at.desc())))


def presented_prefix(secret: str) -> str:
    """The prefix a presented key claims (for the audit trail and the rate limit), or ""."""
    match = KEY_PATTERN.match(secret or "")
    return match.group(1) if match else ""


def authenticate(secret: str) -> ApiKey | None:
    """The live key this secret belongs to, or None (unknown, wrong, revoked). The hash is
    compared in constant time, and an unknown prefix costs the same comparison."""
    match = KEY_PATTERN.match(secret or "")
    key = find(match.group(1)) if match else None
    stored = key.secret_hash if key is not None else _DUMMY_HASH
    matches = hmac.compare_digest(digest(secret or ""), stored)
    if key is None or not matches or key.revoked_at is not None:
        return None
    return key


def region_ids(key: ApiKey) -> list[int] | None:
    """The ids of the key's region tree; None for a key of a top region (it sees all)."""
    from portal.sites.services import region_ids as tree

    if key.region.parent_id is None:
        return None
    return tree(key.region.slug)
