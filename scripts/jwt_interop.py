#!/usr/bin/env python3
"""Verifies the JWT access tokens of a running auth-server with PyJWT, a JOSE implementation
independent of the one the server signs with (the Rust jsonwebtoken crate).

    jwt_interop.py BASE_URL ALG [--issuer URL] [--secret SECRET]

BASE_URL: where the server answers, e.g. http://127.0.0.1:8081; it must run with
APP__TOKENS__ACCESS_TOKEN_TYPE=jwt, APP__DEMO__SEED=true and APP__JWT__ALGORITHM=ALG (RS256, ES256,
EdDSA or HS256; HS256 also with APP__JWT__SECRET=SECRET). --issuer: the expected `iss` (default
the server's own default, http://localhost:<port of BASE_URL>).

Prints one line per check and stops at the first failure (exit status 1). scripts/jwt-interop.sh
installs PyJWT and runs this against a fresh server per algorithm. Only the standard library
besides PyJWT and cryptography."""
import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

# The demo data (APP__DEMO__SEED=true).
CLIENT, CLIENT_SECRET = "dev", "11"
USER, PASSWORD, USER_AUTHORITIES = "admin", "123456", ["ROLE_ADMIN", "ROLE_USER"]
INTROSPECTOR = ("resource", "resource-secret")
SCOPE, VALIDITY = "app", 3600
REQUIRED = ["exp", "iat", "iss", "sub", "jti"]

# What /oauth/token_key names each algorithm (Spring's JCA names), and the key type it must hold.
TOKEN_KEY = {
    "RS256": ("SHA256withRSA", rsa.RSAPublicKey),
    "ES256": ("SHA256withECDSA", ec.EllipticCurvePublicKey),
    "EdDSA": ("Ed25519", ed25519.Ed25519PublicKey),
}

ALG = ""


class Failed(Exception):
    pass


@contextmanager
def check(description):
    """One check: `ok  ALG description`, or the failure and exit status 1."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - any failure of a check ends the run, named
        kind = "" if isinstance(error, Failed) else f"{type(error).__name__}: "
        print(f"FAILED: {ALG} {description}: {kind}{error}", file=sys.stderr)
        sys.exit(1)
    print(f"ok  {ALG} {description}", flush=True)


def expect(what, actual, expected):
    if actual != expected:
        raise Failed(f"{what}: expected {expected!r}, got {actual!r}")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def request(url, form=None, basic=None):
    """(status, body bytes) of a GET, or of a form POST when `form` is given."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data)
    if basic:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(basic).encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.read()


def request_json(url, form=None, basic=None, status=200):
    code, body = request(url, form, basic)
    if code != status:
        raise Failed(f"{url}: expected HTTP {status}, got {code}: {body[:300]!r}")
    return json.loads(body)


def expect_rejected(error_type, token, key, issuer):
    try:
        jwt.decode(token, key, algorithms=[ALG], issuer=issuer, options={"require": REQUIRED})
    except error_type:
        return
    except jwt.InvalidTokenError as other:
        raise Failed(f"rejected, but with {type(other).__name__} ({other}) instead of {error_type.__name__}")
    raise Failed("PyJWT accepted it")


def main():
    global ALG
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("alg", choices=["RS256", "ES256", "EdDSA", "HS256"])
    parser.add_argument("--issuer")
    parser.add_argument("--secret", help="HS256: the server's APP__JWT__SECRET")
    args = parser.parse_args()
    ALG = args.alg
    base = args.base_url.rstrip("/")
    issuer = args.issuer or f"http://localhost:{urllib.parse.urlsplit(base).port}"
    if ALG == "HS256" and not args.secret:
        parser.error("HS256 needs --secret")

    tokens = {}
    with check("client token (client_credentials, HTTP Basic) and user token (password grant, form credentials) issued"):
        answer = request_json(f"{base}/oauth/token", {"grant_type": "client_credentials"}, basic=(CLIENT, CLIENT_SECRET))
        tokens["client"] = answer["access_token"]
        answer = request_json(f"{base}/oauth/token", {
            "grant_type": "password", "username": USER, "password": PASSWORD,
            "client_id": CLIENT, "client_secret": CLIENT_SECRET,
        })
        tokens["user"] = answer["access_token"]
        for token in tokens.values():
            expect("segments of the access token", token.count("."), 2)

    # The keys to verify with: the JWK set and the PEM, or the shared secret.
    if ALG == "HS256":
        with check("/oauth2/jwks publishes no key"):
            expect("/oauth2/jwks", request_json(f"{base}/oauth2/jwks"), {"keys": []})
        with check("/oauth/token_key is 401 anonymously"):
            code, body = request(f"{base}/oauth/token_key")
            expect(f"status (body {body[:200]!r})", code, 401)
        with check("/oauth/token_key gives the secret to a client (HTTP Basic resource:resource-secret)"):
            answer = request_json(f"{base}/oauth/token_key", basic=INTROSPECTOR)
            expect("/oauth/token_key", answer, {"alg": "HMACSHA256", "value": args.secret})
        verifiers = [("with the shared secret (APP__JWT__SECRET)", lambda token: args.secret.encode())]
    else:
        jwks_client = jwt.PyJWKClient(f"{base}/oauth2/jwks", cache_keys=False)
        with check("/oauth2/jwks: one signing key of this algorithm, usable by PyJWT"):
            jwks = request_json(f"{base}/oauth2/jwks")["keys"]
            expect("number of keys", len(jwks), 1)
            expect("use", jwks[0].get("use"), "sig")
            expect("alg", jwks[0].get("alg"), ALG)
            expect("PyJWT's algorithm for the key", jwt.PyJWK(jwks[0]).algorithm_name, ALG)

        def from_jwks(token):
            signing_key = jwks_client.get_signing_key_from_jwt(token)
            expect("kid of the JWK", signing_key.key_id, jwt.get_unverified_header(token).get("kid"))
            return signing_key.key

        pem_alg, pem_type = TOKEN_KEY[ALG]
        with check(f"/oauth/token_key gives the public key as PEM, alg {pem_alg}, that cryptography loads"):
            answer = request_json(f"{base}/oauth/token_key")
            expect("alg", answer.get("alg"), pem_alg)
            pem_key = load_pem_public_key(answer["value"].encode())
            if not isinstance(pem_key, pem_type):
                raise Failed(f"expected a {pem_type.__name__}, got {type(pem_key).__name__}")
            if ALG == "ES256":
                expect("curve", pem_key.curve.name, "secp256r1")
        verifiers = [("via /oauth2/jwks (PyJWKClient)", from_jwks), ("via the PEM of /oauth/token_key", lambda token: pem_key)]

    # Signature, exp, iat and iss checked by PyJWT, the algorithm pinned; then the claims.
    claims = {}
    for who, token in tokens.items():
        header = jwt.get_unverified_header(token)
        with check(f"{who} token header: alg {ALG}, typ JWT, " + ("no kid" if ALG == "HS256" else "a kid")):
            expect("alg", header.get("alg"), ALG)
            expect("typ", header.get("typ"), "JWT")
            if ALG == "HS256":
                expect("kid", header.get("kid"), None)
            elif not header.get("kid"):
                raise Failed(f"no kid in {header}")
        for how, key_of in verifiers:
            with check(f"{who} token verified with PyJWT {how}"):
                decoded = jwt.decode(token, key_of(token), algorithms=[ALG], issuer=issuer, options={"require": REQUIRED})
                if who in claims:
                    expect("claims, the second time", decoded, claims[who])
                claims[who] = decoded
        with check(f"{who} token claims (iss, sub, {'user_name, ' if who == 'user' else ''}authorities, scope, client_id, exp - iat)"):
            c = claims[who]
            expect("iss", c["iss"], issuer)
            expect("scope", c.get("scope"), SCOPE)
            expect("client_id", c.get("client_id"), CLIENT)
            expect("exp - iat", c["exp"] - c["iat"], VALIDITY)
            if abs(c["iat"] - time.time()) > 60:
                raise Failed(f"iat {c['iat']} is not now ({int(time.time())})")
            if not (isinstance(c["jti"], str) and c["jti"]):
                raise Failed(f"jti: {c['jti']!r}")
            expect("aud (the dev client has no resource ids)", c.get("aud"), None)
            if who == "user":
                authorities = c.get("authorities")
                if not (isinstance(authorities, list) and all(isinstance(a, str) for a in authorities)):
                    raise Failed(f"authorities is not an array of strings: {authorities!r}")
                expect("sub", c["sub"], USER)
                expect("user_name", c.get("user_name"), USER)
                expect("authorities", sorted(authorities), USER_AUTHORITIES)
            else:
                expect("sub", c["sub"], CLIENT)
                expect("user_name", c.get("user_name"), None)
                # The dev client has no authorities: left out, as Spring's converter did.
                expect("authorities", c.get("authorities"), None)
        with check(f"{who} token active at /oauth2/introspect, with the same sub, exp and iat"):
            answer = request_json(f"{base}/oauth2/introspect", {"token": token}, basic=INTROSPECTOR)
            expect("active", answer.get("active"), True)
            for claim in ("sub", "client_id", "scope", "exp", "iat"):
                expect(claim, answer.get(claim), claims[who][claim])

    # Forgeries: PyJWT must refuse them. This shows PyJWT is used as a verifier should, not
    # anything about the server.
    token = tokens["user"]
    header_b64, payload_b64, signature_b64 = token.split(".")
    key = verifiers[0][1](token)
    payload = json.loads(unb64url(payload_b64))
    with check("tampered token (authorities changed, signature kept) rejected: InvalidSignatureError"):
        forged = dict(payload, authorities=payload["authorities"] + ["ROLE_ROOT"])
        expect_rejected(jwt.InvalidSignatureError,
                        f"{header_b64}.{b64url(json.dumps(forged).encode())}.{signature_b64}", key, issuer)
    with check(f"token re-signed with alg none rejected when {ALG} is pinned: InvalidAlgorithmError"):
        none_header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        expect_rejected(jwt.InvalidAlgorithmError, f"{none_header}.{payload_b64}.", key, issuer)
    if ALG != "HS256":
        with check(f"token re-signed with HS256 keyed by the public PEM rejected when {ALG} is pinned: InvalidAlgorithmError"):
            pem = request_json(f"{base}/oauth/token_key")["value"].encode()
            hs_header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            signing_input = f"{hs_header}.{payload_b64}"
            signature = b64url(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())
            expect_rejected(jwt.InvalidAlgorithmError, f"{signing_input}.{signature}", key, issuer)


if __name__ == "__main__":
    main()
