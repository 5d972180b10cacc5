"""The password rules for staff accounts (OWASP ASVS 5.0 V6, 等保 2.0 身份鉴别).

Length first (``PASSWORD_MIN_LENGTH``, 12 by default), then refusal of common passwords
(zxcvbn's list of the 30,000 most common, also with digits or symbols tacked on), of the
account's own e-mail and of one repeated character. Composition classes
(``PASSWORD_MIN_CLASSES``) and rotation (``PASSWORD_MAX_AGE_DAYS``) are off unless an
assessor requires them; NIST SP 800-63B advises against both.
"""

import re
from datetime import UTC, timedelta
from functools import cache

from flask import current_app
from flask_babel import gettext as _

MAX_LENGTH = 200
CLASSES = (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    lowered = password.lower()
    if lowered in common_passwords():
        return True
    # "password2026!", "qwerty123456": a common word with digits or symbols around it.
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)
    return len(core) >= 4 and core in common_passwords() and len(core) * 2 >= len(lowered) - 4


def problems(password: str, email: str = "") -> list[str]:
    """What is wrong with a new password, as messages that say what to do."""
    config = current_app.config
    minimum = int(config.get("PASSWORD_MIN_LENGTH", 12))
    if len(password) < minimum:
        return [_("密码至少需要 %(n)d 个字符，建议使用几个词组成的短语", n=minimum)]
    if len(password) > MAX_LENGTH:
        return [_("密码不能超过 %(n)d 个字符", n=MAX_LENGTH)]
    found = []
    if is_common(password) or len(set(password)) <= 2:
        found.append(_("这个密码过于常见，容易被猜到，请换一个"))
    local = email.split("@", 1)[0].lower()
    if local and len(local) >= 4 and local in password.lower():
        found.append(_("密码不能包含您的电子邮箱名"))
    classes = int(config.get("PASSWORD_MIN_CLASSES", 0))
    if classes and sum(bool(re.search(c, password)) for c in CLASSES) < classes:
        found.append(_("密码需要包含大写字母、小写字母、数字、符号中的至少 %(n)d 类", n=classes))
    return found


def expired(user, now) -> bool:
    """The password is older than ``PASSWORD_MAX_AGE_DAYS`` (0: never); a password whose
    age is unknown counts as expired when rotation is on."""
    days = int(current_app.config.get("PASSWORD_MAX_AGE_DAYS", 0))
    if not days:
        return False
    changed = user.password_changed_at
    if changed is None:
        return True
    if changed.tzinfo is None:
        changed = changed.replace(tzinfo=UTC)
    return now - changed > timedelta(days=days)
