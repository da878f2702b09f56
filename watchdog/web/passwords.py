"""Password hashes for the console's users: argon2id (argon2-cffi's PasswordHasher, whose
defaults follow RFC 9106's second recommended option), bcrypt hashes verified too."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
# Verified when the name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY = _HASHER.hash("muni-watchdog: no such user")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored`` (argon2 or bcrypt); slow on purpose."""
    if stored is None:
        try:
            _HASHER.verify(_DUMMY, password)
        except VerificationError:
            pass
        return False
    if stored.startswith("$2"):
        import bcrypt
        try:
            return bcrypt.checkpw(password.encode(), stored.encode())
        except ValueError:
            return False
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
