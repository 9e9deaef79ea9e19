"""Password policy (Cognito's options and messages) and storage (scrypt, from the standard library)."""

from __future__ import annotations

import os

from ..core.errors import AuthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass

SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = True
    temporary_password_days: int = 7

    def check(self, password: str) -> None:
        """Raise InvalidPasswordException naming every rule the password breaks."""
        if not isinstance(password, str):
            raise AuthError("Password must be a string", "InvalidParameterException")
        broken = []
        if len(password) < self.min_length:
            broken.append(f"be at least {self.min_length} characters long")
        if self.require_uppercase and not any(c.isupper() for c in password):
            broken.append("contain an uppercase letter")
        if self.require_lowercase and not any(c.islower() for c in password):
            broken.append("contain a lowercase letter")
        if self.require_numbers and not any(c.isdigit() for c in password):
            broken.append("contain a number")
        if self.require_symbols and not any(c in SYMBOLS for c in password):
            broken.append("contain a symbol such as ! @ # $ %")
        if len(password) > 256:
            broken.append("be at most 256 characters long")
        if any("\ud800" <= c <= "\udfff" for c in password):  # a lone surrogate: not text Cognito accepts
            broken.append("be valid Unicode text")
        if broken:
            raise AuthError(
                "Password did not conform with policy: it must " + ", ".join(broken) + ".", "InvalidPasswordException"
            )


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    import hashlib  # loaded by the first hash, not by declaring a user pool (cold start)

    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


_DUMMY: list[str] = []


def dummy_hash() -> str:
    """A stored-password stand-in for users who do not exist: checking against it costs what a real check
    does, so sign-in's timing does not say whether a username exists."""
    if not _DUMMY:
        _DUMMY.append(hash_password(os.urandom(16).hex()))
    return _DUMMY[0]


def check_password(password: str, stored: str) -> bool:
    _, salt, digest = stored.split("$")
    import hashlib
    import hmac

    candidate = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest)
