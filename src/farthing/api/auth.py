"""`/v1/auth`: people sign up, sign in (password or passkey), sign out and reset a password; a session
cookie then stands in for an API key (with a CSRF token on every unsafe request). `/v1/users`: the
operator adds merchant staff and operators."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, StrictStr

from farthing.api.deps import PRINTABLE, InModel, PlatformDep, PrincipalDep
from farthing.errors import ErrorCode, PlatformError
from farthing.services.users import SESSION_COOKIE, Session, User, session_cookie

router = APIRouter(tags=["auth"])


class SignUpIn(InModel):
    email: StrictStr = Field(max_length=254)
    password: StrictStr = Field(max_length=1024)
    name: StrictStr = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    country: StrictStr | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="where the payer lives (its billing country: tax evidence)"
    )


class SignInIn(InModel):
    email: StrictStr = Field(max_length=254)
    password: StrictStr = Field(max_length=1024)


class ResetIn(InModel):
    email: StrictStr = Field(max_length=254)


class ResetConfirmIn(InModel):
    token: StrictStr = Field(max_length=200)
    password: StrictStr = Field(max_length=1024)


class UserIn(InModel):
    role: Literal["merchant_staff", "operator"]
    email: StrictStr = Field(max_length=254)
    password: StrictStr = Field(max_length=1024)
    merchant: StrictStr | None = None


class UserOut(BaseModel):
    id: str
    object: Literal["user"] = "user"
    role: str
    party: str | None
    mode: str


class SessionOut(BaseModel):
    object: Literal["session"] = "session"
    user: UserOut
    csrf_token: str = Field(description="send it as X-CSRF-Token with every POST, PUT, PATCH or DELETE")
    expires_ms: int


class PasskeyIn(InModel):
    credential: dict[str, Any]


class PasskeyOptionsOut(BaseModel):
    ceremony: str
    publicKey: dict[str, Any]


def _user_out(u: User) -> UserOut:
    return UserOut(id=u.id, role=u.role, party=u.party_id, mode=u.mode)


def _session_out(request: Request, response: Response, s: Session) -> SessionOut:
    response.set_cookie(**session_cookie(s.token, request.url.scheme, request.url.hostname or ""))
    return SessionOut(user=_user_out(s.user), csrf_token=s.csrf_token, expires_ms=s.expires_ms)


@router.post("/v1/auth/signup", status_code=201, response_model=UserOut)
def sign_up(body: SignUpIn, platform: PlatformDep) -> UserOut:
    """A payer opens an account: a customer of its own, and a user to sign in with."""
    return _user_out(platform.identity.users.sign_up(body.email, body.password, body.name, country=body.country))


@router.post("/v1/auth/signin", response_model=SessionOut)
def sign_in(platform: PlatformDep, body: SignInIn, request: Request, response: Response) -> SessionOut:
    """Sign in with a password: sets the session cookie (HttpOnly, SameSite=Lax, Secure off localhost)."""
    ip = request.client.host if request.client else None
    agent = request.headers.get("user-agent")
    return _session_out(request, response, platform.identity.users.sign_in(body.email, body.password, ip, agent))


@router.post("/v1/auth/passkey_ceremonies", status_code=201, response_model=PasskeyOptionsOut)
def passkey_signin_options(platform: PlatformDep) -> PasskeyOptionsOut:
    """Start signing in with a passkey (no email needed: the passkey names its owner)."""
    ceremony, options = platform.identity.passkeys.signin_options()
    return PasskeyOptionsOut(ceremony=ceremony, publicKey=options)


@router.post("/v1/auth/passkey_ceremonies/{ceremony_id}/complete", response_model=SessionOut)
def passkey_sign_in(
    platform: PlatformDep, ceremony_id: str, body: PasskeyIn, request: Request, response: Response
) -> SessionOut:
    """Finish signing in with the passkey's assertion (user verification required)."""
    party = platform.identity.passkeys.sign_in(ceremony_id, body.credential)
    agent = request.headers.get("user-agent")
    return _session_out(request, response, platform.identity.users.session_for_party(party, agent))


@router.post("/v1/auth/signout", status_code=204, response_class=Response)
def sign_out(request: Request, response: Response, principal: PrincipalDep, platform: PlatformDep) -> None:
    """End this session (the cookie and its CSRF token stop working at once)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None or not principal.key_id.startswith("session:"):
        raise PlatformError(ErrorCode.validation_failed, "there is no session to end: this is an API key")
    platform.identity.users.sign_out(cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/v1/auth/me", response_model=UserOut)
def me(request: Request, principal: PrincipalDep, platform: PlatformDep) -> UserOut:
    """The signed-in person."""
    users = platform.identity.users
    cookie = request.cookies.get(SESSION_COOKIE)
    agent = request.headers.get("user-agent")
    found = users.session(cookie, agent) if cookie and principal.key_id.startswith("session:") else None
    if found is None:
        raise PlatformError(ErrorCode.validation_failed, "this is an API key, not a signed-in person")
    return _user_out(found[0])


@router.post("/v1/auth/password_resets", status_code=202)
def request_reset(body: ResetIn, platform: PlatformDep) -> dict[str, str]:
    """Mail a one-time reset token to the address, if it has an account (the answer never says)."""
    platform.identity.users.request_reset(body.email)
    return {"object": "password_reset", "status": "sent_if_known"}


@router.post("/v1/auth/password_resets/confirm", status_code=204, response_class=Response)
def confirm_reset(body: ResetConfirmIn, platform: PlatformDep) -> None:
    """Set a new password with the mailed token (used once); every session of the account ends."""
    platform.identity.users.reset(body.token, body.password)


@router.post("/v1/users", status_code=201, response_model=UserOut)
def add_user(body: UserIn, principal: PrincipalDep, platform: PlatformDep) -> UserOut:
    """The operator adds a merchant's staff member or another operator."""
    return _user_out(platform.identity.users.add(principal, body.role, body.email, body.password, body.merchant))
