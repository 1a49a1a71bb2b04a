"""JSON Web Tokens minted by the local managed-identity endpoint and checked by the local ARM endpoint.

The tokens look like Entra ID access tokens (``aud``, ``iss`` = ``https://sts.windows.net/<tenant>/``,
``iat``, ``nbf``, ``exp``, ``oid``, ``tid``, ``appid``) so that Azurite's ``--oauth basic`` check (which
validates the lifetime, the issuer prefix and a storage audience, but not the signature) accepts them. They
are signed with HS256 and a per-run secret; the ARM endpoint verifies the signature, lifetime and audience.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field

STORAGE_AUDIENCE = "https://storage.azure.com"
MANAGEMENT_AUDIENCES = (
    "https://management.azure.com",
    "https://management.azure.com/",
    "https://management.core.windows.net",
    "https://management.core.windows.net/",
)


class TokenError(ValueError):
    """The token is malformed, badly signed, expired or for another audience."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class TokenIssuer:
    tenant_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    principal_id: str = field(default_factory=lambda: str(uuid.uuid4()))  # the identity's object id
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    lifetime_seconds: int = 3600
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    @property
    def issuer(self) -> str:
        return f"https://sts.windows.net/{self.tenant_id}/"

    def mint(self, audience: str, *, now: float | None = None, lifetime_seconds: int | None = None) -> tuple[str, int]:
        """Return (token, expires_on epoch seconds)."""
        issued = int(now if now is not None else time.time())
        expires = issued + (lifetime_seconds if lifetime_seconds is not None else self.lifetime_seconds)
        header = {"typ": "JWT", "alg": "HS256"}
        claims = {
            "aud": audience,
            "iss": self.issuer,
            "iat": issued,
            "nbf": issued - 300,
            "exp": expires,
            "oid": self.principal_id,
            "sub": self.principal_id,
            "tid": self.tenant_id,
            "appid": self.client_id,
            "idtyp": "app",
            "ver": "1.0",
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self.secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}", expires

    def verify(self, token: str, audiences: tuple[str, ...], *, now: float | None = None) -> dict:
        """Check signature, lifetime and audience; return the claims or raise TokenError."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("not a JWT")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
        expected = hmac.new(self.secret, signing_input, hashlib.sha256).digest()
        try:
            signature = _unb64(parts[2])
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenError("undecodable token") from exc
        if not hmac.compare_digest(signature, expected):
            raise TokenError("bad signature")
        moment = now if now is not None else time.time()
        if not isinstance(claims, dict) or moment >= claims.get("exp", 0) or moment < claims.get("nbf", 0):
            raise TokenError("token expired or not yet valid")
        if claims.get("aud") not in audiences:
            raise TokenError(f"audience {claims.get('aud')!r} is not accepted here")
        return claims
