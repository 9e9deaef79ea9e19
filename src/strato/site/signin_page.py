"""The sign-in page of an ``auth=pool`` site, hosted-UI-like: username and password, then the code from
an authenticator app (SOFTWARE_TOKEN_MFA) or a new password (NEW_PASSWORD_REQUIRED). One copy, rendered by
``strato dev`` and by the Lambda@Edge function (standard library only, like gate.py), so the page and its
form fields are the same locally and on AWS."""

from __future__ import annotations

import html
from urllib.parse import parse_qs

MAX_FORM = 16 * 1024
CHALLENGES = ("SOFTWARE_TOKEN_MFA", "NEW_PASSWORD_REQUIRED")
_CODE = '<label>Code from your authenticator app <input name="code" autocomplete="one-time-code" autofocus></label>'
_NEW_PASSWORD = (
    '<label>New password <input name="new_password" type="password" autocomplete="new-password" autofocus></label>'
)
_PASSWORD = (
    '<label>Username <input name="username" autocomplete="username" autofocus></label>'
    '<label>Password <input name="password" type="password" autocomplete="current-password"></label>'
)


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body -> field: first value."""
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def render(site_name: str, action: str, state: dict[str, str]) -> str:
    """The page for ``state`` (next, challenge, session, username, error)."""
    challenge = state.get("challenge", "")
    if challenge == "SOFTWARE_TOKEN_MFA":
        fields = _CODE
    elif challenge == "NEW_PASSWORD_REQUIRED":
        fields = _NEW_PASSWORD
    elif challenge:
        fields = f"<p>{html.escape(challenge)} cannot be answered on this page.</p>"
    else:
        fields = _PASSWORD
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(state[k])}">'
        for k in ("next", "challenge", "session", "username")
        if state.get(k) and not (k == "username" and not challenge)
    )
    error = f'<p role="alert" id="error">{html.escape(state["error"])}</p>' if state.get("error") else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sign in</title></head><body>"
        f"<h1>Sign in to {html.escape(site_name)}</h1>{error}"
        f'<form method="post" action="{html.escape(action)}">{hidden}{fields}'
        '<button type="submit">Sign in</button></form></body></html>'
    )
