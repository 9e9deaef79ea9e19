"""What sign-in returns: tokens, or a challenge to answer first (Cognito's InitiateAuth shapes)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass, field


@dataclass
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str | None  # None on refresh: Cognito keeps the original refresh token
    expires_in: int
    token_type: str = "Bearer"


@dataclass
class Challenge:
    """``name`` is NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA or MFA_SETUP; pass ``session`` back."""

    name: str
    session: str
    parameters: dict[str, str] = field(default_factory=dict)
