"""Tokens of the local identity endpoint: what Azurite and the local ARM endpoint check."""

from __future__ import annotations

import base64
import json
import time

import pytest

from localazure.tokens import MANAGEMENT_AUDIENCES, STORAGE_AUDIENCE, TokenError, TokenIssuer


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_claims_look_like_entra_id_tokens():
    issuer = TokenIssuer()
    token, expires_on = issuer.mint(STORAGE_AUDIENCE)
    claims = _claims(token)
    assert claims["aud"] == "https://storage.azure.com"
    assert claims["iss"] == f"https://sts.windows.net/{issuer.tenant_id}/"  # Azurite checks this prefix
    assert claims["nbf"] <= claims["iat"] < claims["exp"] == expires_on
    assert claims["oid"] == issuer.principal_id and claims["tid"] == issuer.tenant_id


def test_verify_checks_audience_signature_and_lifetime():
    issuer = TokenIssuer()
    token, _ = issuer.mint("https://management.azure.com")
    assert issuer.verify(token, MANAGEMENT_AUDIENCES)["aud"] == "https://management.azure.com"
    with pytest.raises(TokenError, match="audience"):
        issuer.verify(issuer.mint(STORAGE_AUDIENCE)[0], MANAGEMENT_AUDIENCES)
    with pytest.raises(TokenError, match="signature"):
        TokenIssuer().verify(token, MANAGEMENT_AUDIENCES)  # another issuer's secret
    head, _, signature = token.split(".")
    forged_body = base64.urlsafe_b64encode(json.dumps({**_claims(token), "oid": "x"}).encode()).rstrip(b"=")
    with pytest.raises(TokenError, match="signature"):
        issuer.verify(f"{head}.{forged_body.decode()}.{signature}", MANAGEMENT_AUDIENCES)
    expired, _ = issuer.mint("https://management.azure.com", now=time.time() - 7200)
    with pytest.raises(TokenError, match="expired"):
        issuer.verify(expired, MANAGEMENT_AUDIENCES)
    with pytest.raises(TokenError):
        issuer.verify("not-a-jwt", MANAGEMENT_AUDIENCES)
