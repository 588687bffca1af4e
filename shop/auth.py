"""Medusa v2's admin login: ``POST /auth/user/emailpass``, ``/auth/token/refresh``, HS256 JWTs."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable

import jwt
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .answers import AuthToken, Error
from .apikey import bearer_token
from .bodies import EmailPassLogin, TokenRefresh
from .errors import InvalidData, medusa_endpoint, medusa_error
from .operations import errors, request_body, shop_router
from .requestbody import BodyError, Wording, read_model

log = logging.getLogger(__name__)

LOGIN_PATH = "/auth/user/emailpass"
REFRESH_PATH = "/auth/token/refresh"
#: Medusa's default ``jwtExpiresIn`` ("1d").
DEFAULT_TOKEN_LIFETIME_S = 24 * 3600.0
ALGORITHM = "HS256"
#: The one admin user's ids, in the claims Medusa puts in its tokens.
USER_ID = "user_medcam_admin"
AUTH_IDENTITY_ID = "authid_medcam_admin"
_LOGIN_WORDING = Wording(unknown="Unrecognized fields: {names}")


class AdminLogin:
    """The shop's one admin user and the tokens issued to it.

    Tokens are signed with a secret made when the app is created, so a restarted shop
    refuses the tokens of the one before (a real Medusa refuses them after a JWT_SECRET
    change). ``clock`` (unix seconds) sets ``iat``/``exp`` and decides expiry; ``logins``
    and ``refreshes`` count the tokens issued, for tests and logs.
    """

    def __init__(
        self,
        email: str | None,
        password: str | None,
        *,
        clock: Callable[[], float],
        lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S,
    ) -> None:
        if bool(email) != bool(password):
            raise ValueError("admin_email and admin_password must be given together")
        if lifetime_s <= 0:
            raise ValueError(f"token lifetime must be positive, got {lifetime_s}")
        self._email = (email or "").encode("utf-8")
        self._password = (password or "").encode("utf-8")
        self._secret = secrets.token_bytes(32)
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.logins = 0
        self.refreshes = 0

    @property
    def configured(self) -> bool:
        return bool(self._email)

    def credentials_match(self, email: str, password: str) -> bool:
        """Both compared in constant time, and both always compared."""
        email_ok = hmac.compare_digest(email.encode("utf-8", "surrogatepass"), self._email)
        password_ok = hmac.compare_digest(password.encode("utf-8", "surrogatepass"), self._password)
        return self.configured and email_ok and password_ok

    def issue(self) -> str:
        """A new token for the admin user, valid for ``lifetime_s`` from now."""
        now = self.clock()
        claims = {
            "actor_id": USER_ID,
            "actor_type": "user",
            "auth_identity_id": AUTH_IDENTITY_ID,
            "app_metadata": {"user_id": USER_ID},
            "user_metadata": {},
            "iat": int(now),
            "exp": int(now + self.lifetime_s),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def token_valid(self, token: str) -> bool:
        """Whether ``token`` was issued by this app and has not expired (by ``clock``)."""
        if not self.configured:
            return False
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                # Expiry is judged by the injectable clock below, not PyJWT's time.time().
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                         "require": ["exp"]},
            )
        except jwt.PyJWTError:
            return False
        exp = claims.get("exp")
        return isinstance(exp, int | float) and self.clock() < exp


def _unauthorized(message: str) -> Response:
    return medusa_error(401, "unauthorized", message)


def auth_router(login: AdminLogin) -> APIRouter:
    """The two routes; without configured credentials every login and refresh is a 401."""
    router = shop_router()

    @medusa_endpoint
    async def emailpass(request: Request) -> Response:
        try:
            body = read_model(
                await request.body(), EmailPassLogin,
                'an object {"email": ..., "password": ...}', _LOGIN_WORDING,
            )
        except BodyError as exc:
            raise InvalidData(str(exc)) from None
        if not login.credentials_match(body.email, body.password):
            log.info("admin login refused")
            return _unauthorized("Invalid email or password")
        login.logins += 1
        log.info("admin login", extra={"logins": login.logins})
        return JSONResponse({"token": login.issue()})

    @medusa_endpoint
    async def refresh(request: Request) -> Response:
        # Like Medusa, any body is ignored: the bearer token is the whole request.
        token = bearer_token(request.headers.get("authorization"))
        if token is None or not login.token_valid(token):
            return _unauthorized("Unauthorized")
        login.refreshes += 1
        return JSONResponse({"token": login.issue()})

    router.add_api_route(
        LOGIN_PATH, emailpass, methods=["POST"], tags=["auth"],
        summary="Admin login with email and password (Medusa v2's emailpass)",
        description="Answers a JWT for the admin user, valid 24 h by default (Medusa's "
        "jwtExpiresIn); /admin accepts it as a Bearer token. Wrong credentials: 401 "
        "'Invalid email or password'.",
        response_model=AuthToken, response_description="Logged in",
        responses=errors(Error, 400, 401, 413, 429, 500),
        openapi_extra={"security": [], **request_body(EmailPassLogin)},
    )
    router.add_api_route(
        REFRESH_PATH, refresh, methods=["POST"], tags=["auth"],
        summary="A new token for a valid, unexpired login token",
        response_model=AuthToken, response_description="A new token",
        responses=errors(Error, 401, 413, 429, 500),
        openapi_extra={"security": [{"bearerAuth": []}],
                       **request_body(TokenRefresh, required=False)},
    )
    return router
