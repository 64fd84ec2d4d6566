"""Checks an auth-server's discovery and revocation with Authlib, an independent OAuth library.

    discovery_interop.py BASE ISSUER

BASE is where the server listens, ISSUER what it calls itself. Prints one line per check; exits 1
at the first failure.
"""

import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata, get_well_known_url


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


def validated(issuer, which):
    """The metadata document of `issuer`, once Authlib's RFC 8414 validator has accepted it."""
    answer = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=5)
    check(answer.status_code == 200, f"{which}: GET /.well-known/oauth-authorization-server is 200")
    check(answer.headers["content-type"].startswith("application/json"), "as application/json")
    metadata = AuthorizationServerMetadata(answer.json())
    try:
        metadata.validate()
    except ValueError as error:
        sys.exit(f"FAILED: Authlib's RFC 8414 validator refuses the metadata of {which}: {error}")
    check(True, f"{which}: Authlib's AuthorizationServerMetadata(...).validate() accepts it")
    check(metadata["issuer"] == issuer, f"issuer is exactly {issuer}")
    return metadata


def main():
    base, issuer = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3 and sys.argv[3] == "--metadata-only":
        validated(issuer, "a server with no clients")
        return

    # RFC 8414 §3: where the metadata of this issuer lives, by Authlib's reading of the RFC.
    url = get_well_known_url(issuer, external=True)
    check(url == f"{issuer}/.well-known/oauth-authorization-server", f"Authlib puts the metadata at {url}")
    metadata = validated(issuer, "the demo server")
    openid = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5).json()
    check(openid == metadata, "/.well-known/openid-configuration is the same document")
    for field in ("token_endpoint", "introspection_endpoint", "revocation_endpoint", "jwks_uri"):
        check(metadata[field].startswith(issuer + "/"), f"{field} is under the issuer")

    # The demo client dev/11 through Authlib's client, at the endpoints the metadata names.
    user = OAuth2Session("dev", "11", token_endpoint_auth_method="client_secret_basic")
    token = user.fetch_token(
        metadata["token_endpoint"], grant_type="password", username="admin", password="123456"
    )
    check("access_token" in token and "refresh_token" in token, "password grant through the token_endpoint")
    resource = OAuth2Session("resource", "resource-secret", token_endpoint_auth_method="client_secret_basic")

    def active(value):
        answer = resource.introspect_token(metadata["introspection_endpoint"], token=value)
        answer.raise_for_status()
        return answer.json()["active"]

    def hi(value):
        return requests.get(f"{base}/hi", params={"name": "x"}, headers={"Authorization": f"Bearer {value}"}, timeout=5)

    check(active(token["access_token"]), "introspection (RFC 7662) says active")
    check(hi(token["access_token"]).status_code == 200, "/hi answers the access token")

    # RFC 7009 through Authlib: revoking the refresh token ends the grant, access token included.
    revoked = user.revoke_token(
        metadata["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token"
    )
    check(revoked.status_code == 200 and revoked.text == "", "revocation of the refresh token: 200, empty body")
    check(not active(token["refresh_token"]), "the refresh token is inactive")
    check(not active(token["access_token"]), "its grant's access token is inactive")
    check(hi(token["access_token"]).status_code == 401, "/hi refuses the access token")

    # client_secret_post, an access token alone, and another client's attempt.
    poster = OAuth2Session("dev", "11", token_endpoint_auth_method="client_secret_post")
    second = poster.fetch_token(
        metadata["token_endpoint"], grant_type="password", username="admin", password="123456"
    )
    stranger = resource.revoke_token(metadata["revocation_endpoint"], token=second["access_token"])
    check(stranger.status_code == 200, "another client's revocation: 200 (it learns nothing)")
    check(active(second["access_token"]), "and the token lives on")
    own = poster.revoke_token(metadata["revocation_endpoint"], token=second["access_token"])
    check(own.status_code == 200, "revocation of the access token with client_secret_post: 200")
    check(not active(second["access_token"]), "the access token is inactive")
    check(active(second["refresh_token"]), "its refresh token lives on")
    wrong = OAuth2Session("dev", "wrong", token_endpoint_auth_method="client_secret_basic")
    refused = wrong.revoke_token(metadata["revocation_endpoint"], token=second["refresh_token"])
    check(refused.status_code == 401 and refused.json()["error"] == "invalid_client", "a wrong secret: 401 invalid_client")


if __name__ == "__main__":
    main()
