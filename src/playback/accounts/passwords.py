"""Password hashing with argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the handle does not exist, so that timing does not reveal which handles do.
_DUMMY_HASH = _hasher.hash("playback-dummy-password")


def use_fast_parameters() -> None:
    """Cheap hashing for test suites, which hash thousands of passwords. Never in production:
    existing hashes keep verifying either way, and are upgraded on the next login."""
    global _hasher, _DUMMY_HASH  # noqa: PLW0603
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _DUMMY_HASH = _hasher.hash("playback-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
