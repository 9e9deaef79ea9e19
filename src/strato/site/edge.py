"""The Lambda@Edge viewer-request function of an ``auth=pool`` site: gate.py's rules in front of every
request, and the sign-in page answered at the edge by Cognito's public API (InitiateAuth with
USER_PASSWORD_AUTH / REFRESH_TOKEN_AUTH, RespondToAuthChallenge: calls an app client without a secret
makes unsigned), so the site needs no hosted-UI domain and looks as it does under ``strato dev``.

Lambda@Edge has no environment variables: ``strato synth`` bakes the pool's issuer, app client, JWKS URL
and Cognito endpoint into ``CONFIG`` (edge_code). CloudFront Functions cannot do this job: their runtime
"restricts access to the network" (no JWKS, no Cognito) and they "can't access the body of the HTTP
request" (the sign-in form) ("Restrictions on CloudFront Functions", CloudFront Developer Guide,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-function-restrictions.html),
and their crypto module offers hashes and HMACs only, no RSA signature check
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-features.html)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from typing import Any

from .gate import (
    ID_COOKIE,
    PAGE,
    PASS,
    REFRESH,
    REFRESH_COOKIE,
    REFRESH_DAYS,
    SIGN_IN,
    TOKEN_HEADERS,
    Keys,
    cleared,
    cookie,
    decide,
    parse_cookies,
    safe_next,
    signin_location,
    signin_path,
    token_body,
    token_path,
    token_refusal,
    token_signed_out,
)
from .signin_page import CHALLENGES, MAX_FORM, parse_form, render

CONFIG: dict[str, str] = {}  # issuer, clientId, jwksUrl, cognitoUrl, prefix, siteName (baked at synth)
COGNITO_TIMEOUT_S = 3.0  # a viewer-request function has 5 s in all
_KEYS: list[Keys] = []


class CognitoError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _fetch_jwks() -> dict:
    with urllib.request.urlopen(CONFIG["jwksUrl"], timeout=COGNITO_TIMEOUT_S) as answer:
        return dict(json.loads(answer.read()))


def keys() -> Keys:
    """One JWKS cache per warm function instance."""
    if not _KEYS:
        _KEYS.append(Keys(_fetch_jwks))
    return _KEYS[0]


def cognito(operation: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One call of Cognito's JSON API (no SigV4: the app client has no secret)."""
    request = urllib.request.Request(
        CONFIG["cognitoUrl"],
        data=json.dumps({"ClientId": CONFIG["clientId"], **payload}).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{operation}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=COGNITO_TIMEOUT_S) as answer:
            return dict(json.loads(answer.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read() or b"{}")
        except ValueError:
            error = {}
        kind = str(error.get("__type", f"HTTP {exc.code}")).rpartition("#")[2]
        raise CognitoError(kind, str(error.get("message") or error.get("Message") or kind)) from None


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    request = event["Records"][0]["cf"]["request"]
    headers = request.get("headers", {})
    jar = parse_cookies(h["value"] for h in headers.get("cookie", []))
    prefix = CONFIG["prefix"]
    wants_token = request["uri"] == token_path(prefix)
    if wants_token:
        refusal = token_refusal(request["method"], lambda name: (headers.get(name) or [{}])[0].get("value"))
        if refusal is not None:
            return _response(403, json.dumps({"message": refusal}), _token_headers())
    outcome, _why = decide(
        request["uri"],
        jar,
        prefix=prefix,
        issuer=CONFIG["issuer"],
        client_id=CONFIG["clientId"],
        keys=keys(),
        now=time.time(),
    )
    if wants_token and outcome in (PASS, SIGN_IN):  # generated at the viewer request: CloudFront never caches it
        if outcome == PASS:
            return _response(200, token_body(jar[ID_COOKIE]), _token_headers())
        return _response(401, token_signed_out(prefix), _token_headers())
    if outcome == PASS:
        request["uri"] = rewrite(request["uri"])
        return dict(request)
    if outcome == PAGE:
        return _page(request)
    back = request["uri"] + ("?" + request["querystring"] if request.get("querystring") else "")
    if outcome == REFRESH:
        try:
            result = cognito(
                "InitiateAuth",
                {"AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": jar[REFRESH_COOKIE]}},
            )["AuthenticationResult"]
            fresh = cookie(prefix, ID_COOKIE, result["IdToken"], int(result.get("ExpiresIn", 3600)), secure=True)
            return _response(302, "", {"location": [back], "set-cookie": [fresh], "cache-control": ["no-store"]})
        except (CognitoError, KeyError, TypeError, OSError):
            location = signin_location(prefix, request["uri"], request.get("querystring", ""))
            return _response(
                302,
                "",
                {"location": [location], "set-cookie": cleared(prefix, secure=True), "cache-control": ["no-store"]},
            )
    location = signin_location(prefix, request["uri"], request.get("querystring", ""))
    return _response(302, "", {"location": [location], "cache-control": ["no-store"]})


def rewrite(uri: str) -> str:
    """The rules of the site's CloudFront Function (deploy.py): a behaviour runs one viewer-request
    function, so a gated site's Lambda@Edge applies them itself once the request may pass."""
    if uri.endswith("/"):
        return uri + "index.html"
    if CONFIG.get("spa") == "true" and "." not in uri.rsplit("/", 1)[-1]:
        return CONFIG["index"]
    return uri


def _page(request: dict[str, Any]) -> dict[str, Any]:
    """GET: the form. POST: one step (password, TOTP code or new password) against Cognito."""
    prefix, name = CONFIG["prefix"], CONFIG["siteName"]
    action = signin_path(prefix)
    if request["method"] == "GET":
        query = parse_form(request.get("querystring", "").encode())
        return _html(200, render(name, action, {"next": safe_next(prefix, query.get("next"))}))
    if request["method"] != "POST":
        return _response(405, "GET or POST\n", {"allow": ["GET, POST"]})
    body = request.get("body") or {}
    raw = body.get("data", "")
    data = base64.b64decode(raw) if body.get("encoding") == "base64" else str(raw).encode()
    if body.get("inputTruncated") or len(data) > MAX_FORM:
        return _response(413, "form too large\n", {})
    form = parse_form(data)
    state = {"next": safe_next(prefix, form.get("next")), "username": form.get("username", "")}
    try:
        result = _step(form)
    except CognitoError as exc:
        return _html(401, render(name, action, {**state, "error": f"{exc} ({exc.kind})"}))
    tokens = result.get("AuthenticationResult")
    if tokens:
        cookies = [cookie(prefix, ID_COOKIE, tokens["IdToken"], int(tokens.get("ExpiresIn", 3600)), secure=True)]
        if tokens.get("RefreshToken"):
            cookies.append(cookie(prefix, REFRESH_COOKIE, tokens["RefreshToken"], REFRESH_DAYS * 86400, secure=True))
        return _response(303, "", {"location": [state["next"]], "set-cookie": cookies, "cache-control": ["no-store"]})
    username = result.get("ChallengeParameters", {}).get("USER_ID_FOR_SRP") or state["username"]
    challenge = {"challenge": str(result.get("ChallengeName", "")), "session": str(result.get("Session", ""))}
    return _html(200, render(name, action, {**state, "username": username, **challenge}))


def _step(form: dict[str, str]) -> dict[str, Any]:
    challenge = form.get("challenge")
    if not challenge:
        return cognito(
            "InitiateAuth",
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": form.get("username", ""), "PASSWORD": form.get("password", "")},
            },
        )
    if challenge not in CHALLENGES:
        raise CognitoError("InvalidParameterException", f"{challenge} cannot be answered on this page")
    answer = (
        {"SOFTWARE_TOKEN_MFA_CODE": form.get("code", "")}
        if challenge == "SOFTWARE_TOKEN_MFA"
        else {"NEW_PASSWORD": form.get("new_password", "")}
    )
    return cognito(
        "RespondToAuthChallenge",
        {
            "ChallengeName": challenge,
            "Session": form.get("session", ""),
            "ChallengeResponses": {"USERNAME": form.get("username", ""), **answer},
        },
    )


def _token_headers() -> dict[str, list[str]]:
    return {name: [value] for name, value in TOKEN_HEADERS.items()}


def _html(status: int, page: str) -> dict[str, Any]:
    return _response(status, page, {"content-type": ["text/html; charset=utf-8"], "cache-control": ["no-store"]})


_REASONS = {
    200: "OK",
    302: "Found",
    303: "See Other",
    401: "Unauthorized",
    403: "Forbidden",
    405: "Method Not Allowed",
    413: "Too Large",
}


def _response(status: int, body: str, headers: dict[str, list[str]]) -> dict[str, Any]:
    """A generated viewer-request response (Lambda@Edge event structure: lower-case keys, each header a
    list of {key, value})."""
    shaped = {
        name: [{"key": "-".join(w.capitalize() for w in name.split("-")), "value": v} for v in values]
        for name, values in headers.items()
    }
    if body and "content-type" not in shaped:
        shaped["content-type"] = [{"key": "Content-Type", "value": "text/plain; charset=utf-8"}]
    return {"status": str(status), "statusDescription": _REASONS.get(status, ""), "headers": shaped, "body": body}
