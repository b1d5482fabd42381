"""Who is asking: an API key's principal, what each kind of key may do, and the checks on it.

Plain values and pure checks (no I/O): the key service (`farthing.services.keys`) makes principals from
stored keys, every other service asks them here whether a caller may do what it asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from farthing.errors import ErrorCode, PlatformError

SCOPES = {
    "operator": "parties:write read",
    "merchant": "read payments:write refunds:write webhooks:write policy:write payouts:write",
    "customer": "payments:write topups:write read",
}
"""What a key of each kind may do at most; a key may be made with fewer (`Keys.new(scopes=…)`). Writes
check their scope; every key may read what its party owns."""
MERCHANT_SCOPES = frozenset(SCOPES["merchant"].split())


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    kind: str  # operator | merchant | customer
    party_id: str | None
    mode: str  # test | live
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class User:
    """A person who signs in: a payer (of a customer party), merchant staff or an operator."""

    id: str
    role: str  # payer | merchant_staff | operator
    party_id: str | None
    mode: str


@dataclass(frozen=True, slots=True)
class SignInRecord:
    """What signing in needs of a stored user: the password's hash and the lockout counters."""

    user: User
    password_hash: str
    failures: int
    locked_until_ms: int


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A browser session as kept: its user, CSRF token, expiry, how it signed in (password or passkey) and,
    for a passkey's, the SHA-256 of the user agent that signed in (None: not bound)."""

    user: User
    csrf: str
    expires_ms: int
    method: str
    agent_sha256: bytes | None


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """An API key as it is shown (never its secret)."""

    id: str
    kind: str
    mode: str
    scopes: str
    created_ms: int
    revoked_ms: int | None
    prefix: str | None
    last_used_ms: int | None
    expires_ms: int | None


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key as the repository holds it (the secret's digest, never the secret)."""

    id: str
    kind: str
    party_id: str | None
    mode: str
    scopes: str
    created_ms: int
    prefix: str
    revoked_ms: int | None = None
    last_used_ms: int | None = None
    expires_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """What the policy needs to know about a payer."""

    country: str | None = None
    age_band: str = "adult"


@dataclass(frozen=True, slots=True)
class PartyRecord:
    """A party as its privacy rights read it: who it is, when made, erased, closed."""

    id: str
    kind: str
    mode: str
    country: str | None
    age_band: str
    created_ms: int
    erased_ms: int | None
    closed_ms: int | None


@dataclass(frozen=True, slots=True)
class PartyRow:
    """A party as an operator's listing shows it (a customer's name is sealed: empty here)."""

    id: str
    kind: str
    name: str
    mode: str
    country: str | None
    age_band: str
    created_ms: int
    closed_ms: int | None
    erased_ms: int | None


@dataclass(frozen=True, slots=True)
class PartyFilters:
    country: str | None = None
    created_gte_ms: int | None = None
    created_lte_ms: int | None = None


def require_scope(principal: Principal, scope: str) -> None:
    """Refuse a key that was made without `scope` (a restricted key: `Keys.new(scopes=…)`)."""
    if scope not in principal.scopes:
        raise PlatformError(ErrorCode.forbidden, f"this API key was made without the {scope} scope")


def require(principal: Principal, kind: str, scope: str) -> None:
    """Refuse anything but a `kind` key holding `scope`."""
    if principal.kind != kind or scope not in principal.scopes:
        raise PlatformError(ErrorCode.forbidden, f"this needs a {kind} key with the {scope} scope")


def party_of(principal: Principal) -> str:
    """The caller's own party (an operator key has none: refused)."""
    if principal.party_id is None:
        raise PlatformError(ErrorCode.forbidden, "an operator key has no wallets")
    return principal.party_id
