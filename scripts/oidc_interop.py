"""Checks an auth-server's OpenID Connect provider with Authlib, an independent relying party.

    oidc_interop.py ISSUER

ISSUER is where the server listens and what it calls itself (an http:// URL on the loopback); the
server has the demo data: the OIDC client rp/rp-secret and the user admin/123456 with a profile.
A requests.Session plays the browser (cookies; the sign-in and approval forms read with
html.parser), Authlib the relying party: its OAuth2Session (PKCE S256, state, nonce), its OpenID
Provider metadata validators, and the ID token validation its own OIDC clients run (joserfc's
jwt.decode against the JWKS, then authlib.oidc.core's CodeIDToken / ImplicitIDToken .validate()).
Prints one line per check; exits 1 at the first failure.
"""

import base64
import html.parser
import json
import sys
import time
import urllib.parse

import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc import discovery, rpinitiated
from authlib.oidc.core import CodeIDToken, ImplicitIDToken, UserInfo
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidClaimError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

CLIENT, SECRET = "rp", "rp-secret"
CALLBACK = "http://127.0.0.1:8000/callback"
SIGNED_OUT = "http://127.0.0.1:8000/signed-out"
SCOPE = "openid profile email"
# The demo user's profile, as the demo data has it.
PROFILE = {
    "name": "Demo Admin",
    "given_name": "Demo",
    "family_name": "Admin",
    "email": "admin@example.com",
    "email_verified": True,
}
# The claims the profile and email scopes stand for (OIDC Core §5.4), by Authlib's table.
SCOPED_CLAIMS = {c for scope in ("profile", "email") for c in UserInfo.SCOPES_CLAIMS_MAPPING[scope]}
LEEWAY = 5  # seconds of clock skew allowed for exp and iat: the server runs on this machine
STARTED = int(time.time())


def check(condition, what, got=None):
    """Prints `ok: what`, or stops with `FAILED: what` and, when given, what was found instead."""
    if not condition:
        sys.exit(f"FAILED: {what}" + ("" if got is None else f"\n  got: {got}"))
    print(f"ok: {what}")


def failed(what, detail):
    sys.exit(f"FAILED: {what}\n  {detail}")


def show(answer):
    """A response and the request it answers, for a failure message."""
    location = answer.headers.get("location")
    where = f" -> {location}" if location else ""
    return f"{answer.request.method} {answer.url}: {answer.status_code}{where} {answer.text[:400]!r}"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token):
    """The header and payload of a JWT, for a failure message."""
    try:
        header, payload = (json.loads(unb64(p)) for p in token.split(".")[:2])
        return f"header {header}, payload {payload}"
    except (ValueError, IndexError):
        return f"not a JWT: {token[:80]!r}"


class Forms(html.parser.HTMLParser):
    """The forms of an HTML page: action, method and their named inputs and buttons."""

    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._open = None
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._open = {
                "action": attributes.get("action", ""),
                "method": attributes.get("method", "get").lower(),
                "fields": [],
            }
            self.forms.append(self._open)
        elif tag in ("input", "button") and self._open is not None and attributes.get("name"):
            kind = attributes.get("type", "submit" if tag == "button" else "text").lower()
            field = {"type": kind, "name": attributes["name"], "value": attributes.get("value", "")}
            self._open["fields"].append(field)

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def hidden(form):
    return {f["name"]: f["value"] for f in form["fields"] if f["type"] == "hidden"}


class Visit:
    """Where a browser's visit ended: a redirect off the server, or a page it stopped at."""

    def __init__(self, answer, pages):
        self.answer = answer
        self.status = answer.status_code
        self.location = answer.headers.get("location") if answer.is_redirect else None
        self.pages = pages  # the sign-in and approval pages passed on the way, in order

    def redirected_to(self, target, separator):
        return self.location is not None and self.location.startswith(target + separator)

    def params(self, component):
        """The parameters in the "query" or "fragment" of the redirect."""
        parts = urllib.parse.urlsplit(self.location or "")
        return dict(urllib.parse.parse_qsl(getattr(parts, component), keep_blank_values=True))


class Browser:
    """A user agent with cookies that signs in as admin and approves every scope it is asked for,
    following redirects itself: it stops at the first redirect off the server (to the relying
    party, where nothing listens) or at any page other than sign-in and approval."""

    def __init__(self, issuer):
        self.http = requests.Session()
        self.origin = urllib.parse.urlsplit(issuer)[:2]

    def visit(self, url):
        method, data, pages = "GET", None, []
        for _ in range(12):
            answer = self.http.request(method, url, data=data, allow_redirects=False, timeout=10)
            if answer.is_redirect:
                target = urllib.parse.urljoin(url, answer.headers["location"])
                if urllib.parse.urlsplit(target)[:2] != self.origin:
                    return Visit(answer, pages)
                method, data, url = "GET", None, target
                continue
            path = urllib.parse.urlsplit(url).path
            if (
                answer.status_code != 200
                or method != "GET"
                or path not in ("/login", "/oauth/confirm_access")
            ):
                return Visit(answer, pages)
            forms = [f for f in Forms(answer.text).forms if f["method"] == "post"]
            if len(forms) != 1:
                failed(f"one form on {path}", show(answer))
            form = forms[0]
            data = hidden(form)
            if "_csrf" not in data:
                failed(f"a hidden _csrf input in the form of {path}", show(answer))
            if path == "/login":
                # Not the sign-in form (the page of someone signed in), or a second one: the visit
                # ends here, for the caller to judge.
                if not {"username", "password"} <= {f["name"] for f in form["fields"]} or "sign-in" in pages:
                    return Visit(answer, pages)
                pages.append("sign-in")
                data.update(username="admin", password="123456")
            else:
                offered = sorted({f["name"] for f in form["fields"] if f["name"].startswith("scope.")})
                if "authorization_id" not in data or not offered:
                    failed("an approval form with authorization_id and scope.<name> inputs", show(answer))
                pages.append("approval of " + " ".join(name[len("scope.") :] for name in offered))
                data.update({name: "true" for name in offered}, user_oauth_approval="true")
            method, url = "POST", urllib.parse.urljoin(url, form["action"])
        failed("the browser gets somewhere within 12 requests", f"last: {method} {url}")


class Provider:
    """The OpenID Provider as the relying party knows it: its metadata and its JWKS."""

    def __init__(self, metadata, keys):
        self.metadata = metadata
        self.keys = keys

    def __getitem__(self, field):
        return self.metadata[field]

    def claims(self, id_token, claims_cls, **params):
        """The claims of an ID token once Authlib's relying-party checks accept it, as its
        OpenIDMixin.parse_id_token does them (our issuer and audience pinned): the signature
        against the JWKS with an algorithm the metadata advertises, then claims_cls(...)
        .validate(): iss, aud, exp, iat, azp, auth_time's type, and nonce and at_hash when given."""
        algorithms = self.metadata["id_token_signing_alg_values_supported"]
        token = jwt.decode(
            id_token, self.keys, registry=JWSRegistry(algorithms=algorithms, strict_check_header=False)
        )
        options = {
            "iss": {"essential": True, "value": self.metadata["issuer"]},
            "aud": {"essential": True, "value": CLIENT},
        }
        claims = claims_cls(token.claims, token.header, options, {"client_id": CLIENT, **params})
        claims.validate(leeway=LEEWAY)
        return claims

    def accepts(self, what, id_token, claims_cls, **params):
        """self.claims(...), or a failure naming what was checked and showing the token."""
        try:
            claims = self.claims(id_token, claims_cls, **params)
        except JoseError as error:
            failed(what, f"{error!r}\n  {jwt_parts(id_token)}")
        check(True, what)
        return claims

    def userinfo(self, access_token, method="GET"):
        return requests.request(
            method,
            self.metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=5,
        )


def refused(what, attempt, *errors):
    """Checks that attempt() raises one of errors."""
    try:
        attempt()
    except errors as error:
        detail = getattr(error, "description", None) or getattr(error, "error", None)
        check(True, f"{what} ({type(error).__name__}{f': {detail}' if detail else ''})")
        return
    failed(what, "it was accepted")


def tampered(id_token, part, change):
    """The ID token with its payload (part 1) or signature (part 2) changed."""
    pieces = id_token.split(".")
    pieces[part] = change(pieces[part])
    return ".".join(pieces)


def flip(text):
    """A base64url string with a character in its middle changed (so its bytes change)."""
    middle = len(text) // 2
    return text[:middle] + ("A" if text[middle] != "A" else "B") + text[middle + 1 :]


def discover(issuer):
    """OpenID Connect Discovery 1.0 §4 and RP-Initiated Logout 1.0 §2.1, by Authlib's validators."""
    answer = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5)
    check(answer.status_code == 200, "GET /.well-known/openid-configuration is 200", show(answer))
    check(answer.headers.get("content-type", "").startswith("application/json"), "as application/json")
    metadata = discovery.OpenIDProviderMetadata(answer.json())
    try:
        metadata.validate(metadata_classes=[rpinitiated.OpenIDProviderMetadata])
    except ValueError as error:
        failed("Authlib's OpenID Provider metadata validators accept the document", error)
    check(
        True,
        "Authlib's discovery.OpenIDProviderMetadata(...).validate() accepts it, RP-initiated logout's too",
    )
    check(metadata["issuer"] == issuer, f"issuer is exactly {issuer}", metadata["issuer"])
    for field, path in (("userinfo_endpoint", "/userinfo"), ("end_session_endpoint", "/connect/logout")):
        check(metadata.get(field) == issuer + path, f"{field} is <issuer>{path}", metadata.get(field))
    for field, wanted in (
        ("id_token_signing_alg_values_supported", {"RS256"}),
        ("response_types_supported", {"code", "id_token", "id_token token"}),
        ("response_modes_supported", {"query", "fragment", "form_post"}),
        ("scopes_supported", {"openid", "profile", "email"}),
        ("claims_supported", {"sub", "iss", "aud", "name", "email", "email_verified"}),
        ("code_challenge_methods_supported", {"S256"}),
        ("grant_types_supported", {"authorization_code", "refresh_token", "implicit"}),
    ):
        values = metadata.get(field) or []
        check(wanted <= set(values), f"{field} has {', '.join(sorted(wanted))}", values)
    check(metadata["subject_types_supported"] == ["public"], 'subject_types_supported is ["public"]')
    jwks = requests.get(metadata["jwks_uri"], timeout=5)
    check(jwks.status_code == 200, "GET jwks_uri is 200", show(jwks))
    keys = KeySet.import_key_set(jwks.json())
    check(any(key.key_type == "RSA" for key in keys), "joserfc's KeySet imports the JWKS: an RSA key")
    return Provider(metadata, keys)


def main():
    issuer = sys.argv[1]
    op = discover(issuer)

    # --- The authorization code flow with PKCE (S256), state and nonce (OIDC Core §3.1) ---
    rp = OAuth2Session(
        CLIENT,
        SECRET,
        scope=SCOPE,
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    browser = Browser(issuer)

    def authorize(who, **params):
        """An authentication request of Authlib's (with a nonce), through who, a Browser."""
        verifier, nonce = generate_token(48), generate_token(20)
        url, state = rp.create_authorization_url(
            op["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **params
        )
        return who.visit(url), state, verifier, nonce

    def exchange(**params):
        """Authlib's fetch_token at the token_endpoint, which must succeed."""
        try:
            return rp.fetch_token(op["token_endpoint"], **params)
        except (OAuthError, OAuth2Error) as error:
            failed("the code exchange at the token_endpoint", f"{error.error}: {error.description}")

    def exchange_refused(what, **params):
        try:
            token = rp.fetch_token(op["token_endpoint"], **params)
        except OAuthError as error:
            check(error.error == "invalid_grant", f"{what}: {error.error}", error.description)
            return
        failed(what, f"the exchange got tokens: {token}")

    visit, state, verifier, nonce = authorize(browser)
    if not visit.redirected_to(CALLBACK, "?"):
        failed("the code flow ends in a redirect to the callback", show(visit.answer))
    check(
        visit.pages == ["sign-in", "approval of email openid profile"],
        "code flow: the sign-in page, then the approval of openid, profile and email",
        visit.pages,
    )
    check(visit.status in (302, 303), f"then a redirect ({visit.status}) to the callback with a code")
    check(visit.params("query").get("state") == state, "and our state", visit.location)
    token = exchange(authorization_response=visit.location, state=state, code_verifier=verifier)
    check("id_token" in token, "Authlib's fetch_token, with the code_verifier: an id_token", token)
    check(token.get("token_type", "").lower() == "bearer", "token_type Bearer", token.get("token_type"))
    check(set(token.get("scope", "").split()) == set(SCOPE.split()), f"scope {SCOPE}", token.get("scope"))

    id_token = token["id_token"]
    claims = op.accepts(
        "Authlib verifies the ID token's signature through jwks_uri, and CodeIDToken.validate() its "
        "iss, aud, exp, iat, azp, nonce and at_hash",
        id_token,
        CodeIDToken,
        nonce=nonce,
        access_token=token["access_token"],
    )
    check(claims.header.get("alg") == "RS256", "signed with RS256", claims.header)
    check(
        claims.header.get("kid") in {key.kid for key in op.keys},
        "by the JWKS key its kid names",
        claims.header,
    )
    check(claims["sub"] == "admin", "sub is admin", claims["sub"])
    check(claims["aud"] in (CLIENT, [CLIENT]), "aud is rp", claims["aud"])
    check(claims.get("azp") == CLIENT, "azp is rp", claims.get("azp"))
    check(claims.get("nonce") == nonce, "nonce is ours")
    check("at_hash" in claims, "at_hash is there, and validate() found it matching the access token")
    auth_time = claims.get("auth_time")
    check(
        isinstance(auth_time, int) and STARTED - 2 <= auth_time <= claims["iat"],
        "auth_time is the sign-in just now, not after iat",
        f"auth_time {auth_time}, iat {claims['iat']}, started {STARTED}",
    )
    check(claims["exp"] > claims["iat"], "exp is after iat")
    check(
        claims.get("name") == PROFILE["name"] and claims.get("email") == PROFILE["email"],
        "the profile and email scopes put name and email in it",
        dict(claims),
    )

    # Negative checks: the validation above is real.
    resigned = tampered(
        id_token, 1, lambda p: b64(json.dumps({**json.loads(unb64(p)), "sub": "root"}).encode())
    )
    refused(
        "a tampered signature is refused by joserfc's jwt.decode",
        lambda: op.claims(tampered(id_token, 2, flip), CodeIDToken),
        BadSignatureError,
    )
    refused(
        "a tampered payload (sub root) under the same signature is refused",
        lambda: op.claims(resigned, CodeIDToken),
        BadSignatureError,
    )
    refused(
        "a wrong nonce fails CodeIDToken.validate()",
        lambda: op.claims(id_token, CodeIDToken, nonce="not-the-nonce"),
        InvalidClaimError,
    )
    refused(
        "another access token fails its at_hash check",
        lambda: op.claims(id_token, CodeIDToken, access_token="another-token"),
        InvalidClaimError,
    )

    # --- UserInfo (OIDC Core §5.3), through Authlib's session, GET and POST ---
    rp.token = token
    for method in ("GET", "POST"):
        answer = rp.request(method, op["userinfo_endpoint"], timeout=5)
        check(
            answer.status_code == 200, f"{method} userinfo_endpoint with the access token: 200", show(answer)
        )
        check(answer.headers.get("content-type", "").startswith("application/json"), "application/json")
        info = UserInfo(answer.json())
        check(info.sub == claims["sub"], "its sub is the ID token's", info.sub)
        check(
            all(info.get(name) == value for name, value in PROFILE.items()),
            f"the demo profile: {', '.join(f'{name} {value!r}' for name, value in PROFILE.items())}",
            dict(info),
        )
    answer = requests.get(op["userinfo_endpoint"], timeout=5)
    challenge = answer.headers.get("www-authenticate", "")
    check(
        answer.status_code == 401 and challenge.startswith("Bearer"),
        f"userinfo without a token: 401, WWW-Authenticate: {challenge}",
        show(answer),
    )
    answer = op.userinfo("not-a-token")
    challenge = answer.headers.get("www-authenticate", "")
    check(
        answer.status_code == 401 and 'error="invalid_token"' in challenge,
        f"userinfo with an unknown token: 401, WWW-Authenticate: {challenge}",
        show(answer),
    )
    dev = OAuth2Session("dev", "11", token_endpoint_auth_method="client_secret_basic")
    app = dev.fetch_token(op["token_endpoint"], grant_type="password", username="admin", password="123456")
    answer = op.userinfo(app["access_token"])
    challenge = answer.headers.get("www-authenticate", "")
    check(
        answer.status_code == 403 and 'error="insufficient_scope"' in challenge,
        f"userinfo with a token without openid (dev's, scope {app.get('scope')}): 403, WWW-Authenticate: {challenge}",
        show(answer),
    )

    # --- Refresh (OIDC Core §12.2): a new ID token for the same authentication ---
    try:
        refreshed = rp.refresh_token(op["token_endpoint"], refresh_token=token["refresh_token"])
    except (OAuthError, OAuth2Error) as error:
        failed("the refresh_token grant", f"{error.error}: {error.description}")
    check("id_token" in refreshed, "refresh_token grant: a new id_token", refreshed)
    again = op.accepts(
        "CodeIDToken.validate() accepts it, at_hash matching the new access token",
        refreshed["id_token"],
        CodeIDToken,
        access_token=refreshed["access_token"],
    )
    same = ("iss", "sub", "aud", "azp")
    check(
        all(again.get(c) == claims.get(c) for c in same),
        "with the same iss, sub, aud and azp as the first",
        {c: (claims.get(c), again.get(c)) for c in same},
    )
    # §12.2: auth_time, if there, is still the time of the sign-in (it is optional here).
    check(
        again.get("auth_time", claims["auth_time"]) == claims["auth_time"],
        "and no other auth_time" + ("" if "auth_time" in again else " (it has none)"),
        again.get("auth_time"),
    )
    check(again["iat"] >= claims["iat"], "and an iat of the refresh")
    answer = op.userinfo(refreshed["access_token"])
    check(
        answer.status_code == 200 and answer.json().get("sub") == "admin",
        "userinfo answers the new access token",
        show(answer),
    )

    # --- The openid scope alone: no profile or email claims (OIDC Core §5.4) ---
    visit, state, verifier, _ = authorize(browser, scope="openid")
    if not visit.redirected_to(CALLBACK, "?"):
        failed("a request for openid alone ends in a redirect to the callback", show(visit.answer))
    narrow = exchange(authorization_response=visit.location, state=state, code_verifier=verifier)
    answer = op.userinfo(narrow["access_token"])
    check(answer.status_code == 200, "scope openid alone: userinfo answers", show(answer))
    info = UserInfo(answer.json())
    check(
        info.sub == "admin" and not SCOPED_CLAIMS & set(info),
        "with sub and no profile or email claim",
        dict(info),
    )
    narrow_claims = op.accepts(
        "its ID token is accepted", narrow["id_token"], CodeIDToken, access_token=narrow["access_token"]
    )
    check(
        not SCOPED_CLAIMS & set(narrow_claims),
        "and has no profile or email claim either",
        dict(narrow_claims),
    )
    # RFC 6749 §4.1.2: a code is used once, and what was issued with it is revoked when it comes again.
    exchange_refused(
        "that code used a second time",
        authorization_response=visit.location,
        state=state,
        code_verifier=verifier,
    )
    answer = op.userinfo(narrow["access_token"])
    check(
        answer.status_code == 401,
        "and the access token issued with it no longer opens userinfo",
        show(answer),
    )

    # --- max_age=0 (OIDC Core §3.1.2.1): sign in again, and auth_time says when ---
    time.sleep(max(0, claims["auth_time"] + 1.1 - time.time()))  # so that a new auth_time differs
    visit, state, verifier, nonce = authorize(browser, max_age="0")
    if not visit.redirected_to(CALLBACK, "?"):
        failed("max_age=0 ends in a redirect to the callback", show(visit.answer))
    check(visit.pages == ["sign-in"], "max_age=0: the sign-in page again, though signed in", visit.pages)
    fresh = exchange(authorization_response=visit.location, state=state, code_verifier=verifier)
    fresh_claims = op.accepts(
        "its ID token is accepted",
        fresh["id_token"],
        CodeIDToken,
        nonce=nonce,
        access_token=fresh["access_token"],
    )
    # §2: with max_age, auth_time is required (Authlib's validate_auth_time would take max_age=0 as none).
    check(
        isinstance(fresh_claims.get("auth_time"), int) and fresh_claims["auth_time"] > claims["auth_time"],
        "with an auth_time, of the new sign-in",
        (claims["auth_time"], fresh_claims.get("auth_time")),
    )

    # --- prompt=none (OIDC Core §3.1.2.1), and PKCE's code_verifier (RFC 7636 §4.6) ---
    visit, state, verifier, _ = authorize(browser, prompt="none")
    if not visit.redirected_to(CALLBACK, "?") or "code" not in visit.params("query"):
        failed("prompt=none, signed in and approved before: a code", show(visit.answer))
    check(visit.pages == [], "prompt=none, signed in and approved before: a code straight back", visit.pages)
    exchange_refused(
        "that code with a wrong code_verifier",
        authorization_response=visit.location,
        state=state,
        code_verifier=generate_token(48),
    )
    visit, state, _, _ = authorize(browser, prompt="none")
    exchange_refused(
        "a code asked for with a code_challenge, without a code_verifier",
        authorization_response=visit.location,
        state=state,
    )
    stranger = Browser(issuer)
    visit, state, _, _ = authorize(stranger, prompt="none")
    if not visit.redirected_to(CALLBACK, "?"):
        failed("prompt=none without a session redirects to the callback", show(visit.answer))
    params = visit.params("query")
    check(
        params.get("error") == "login_required" and params.get("state") == state and "code" not in params,
        "prompt=none without a session: error=login_required and our state",
        params,
    )

    # --- response_mode=form_post (OAuth 2.0 Form Post Response Mode §2) ---
    visit, state, verifier, nonce = authorize(browser, response_mode="form_post")
    forms = Forms(visit.answer.text).forms if visit.status == 200 else []
    if len(forms) != 1 or forms[0]["action"] != CALLBACK or forms[0]["method"] != "post":
        failed("response_mode=form_post: a page with a form posting to the callback", show(visit.answer))
    posted = hidden(forms[0])
    check(
        posted.get("state") == state and "code" in posted,
        "response_mode=form_post: a page whose form posts code and state to the callback",
        posted,
    )
    posted_token = exchange(code=posted["code"], code_verifier=verifier)
    op.accepts(
        "its code gives an ID token Authlib accepts",
        posted_token["id_token"],
        CodeIDToken,
        nonce=nonce,
        access_token=posted_token["access_token"],
    )

    # --- The implicit flow (OIDC Core §3.2): id_token token, id_token alone ---
    implicit = OAuth2Session(CLIENT, scope=SCOPE, redirect_uri=CALLBACK)
    nonce = generate_token(20)
    url, state = implicit.create_authorization_url(
        op["authorization_endpoint"], response_type="id_token token", nonce=nonce
    )
    visit = browser.visit(url)
    if not visit.redirected_to(CALLBACK, "#"):
        failed("response_type=id_token token: a redirect to the callback with a fragment", show(visit.answer))
    check(
        visit.pages == [],
        f"implicit, id_token token: the approval is remembered, a {visit.status} straight back",
        visit.pages,
    )
    try:
        fragment = implicit.token_from_fragment(visit.location, state)
    except Exception as error:  # Authlib's own, for an error, a missing token or token type, another state
        failed("Authlib's token_from_fragment reads the fragment", f"{error!r}: {visit.location}")
    check(True, "Authlib's token_from_fragment: access_token, token_type and our state in the fragment")
    check("id_token" in fragment and "code" not in fragment, "and an id_token, no code", fragment)
    implicit_claims = op.accepts(
        "ImplicitIDToken.validate() accepts its ID token: nonce, and at_hash (required here) matching",
        fragment["id_token"],
        ImplicitIDToken,
        nonce=nonce,
        access_token=fragment["access_token"],
    )
    check(implicit_claims["sub"] == "admin", "sub is admin", implicit_claims["sub"])
    answer = op.userinfo(fragment["access_token"])
    check(
        answer.status_code == 200 and answer.json().get("sub") == "admin",
        "userinfo answers its access token",
        show(answer),
    )

    nonce = generate_token(20)
    url, state = implicit.create_authorization_url(
        op["authorization_endpoint"], response_type="id_token", nonce=nonce
    )
    visit = browser.visit(url)
    if not visit.redirected_to(CALLBACK, "#"):
        failed("response_type=id_token: a redirect to the callback with a fragment", show(visit.answer))
    fragment = visit.params("fragment")
    check(
        "id_token" in fragment and "access_token" not in fragment and fragment.get("state") == state,
        "response_type=id_token: an id_token and our state, no access token",
        fragment,
    )
    alone = op.accepts(
        "ImplicitIDToken.validate() accepts it", fragment["id_token"], ImplicitIDToken, nonce=nonce
    )
    check(
        alone.get("name") == PROFILE["name"] and alone.get("email") == PROFILE["email"],
        "with no access token for userinfo, name and email are in the ID token (OIDC Core §5.4)",
        dict(alone),
    )
    # §3.2.2.1: the nonce is required in the implicit flow.
    for response_type in ("id_token", "id_token token"):
        url, state = implicit.create_authorization_url(
            op["authorization_endpoint"], response_type=response_type
        )
        visit = browser.visit(url)
        fragment = visit.params("fragment") if visit.redirected_to(CALLBACK, "#") else {}
        check(
            fragment.get("error") == "invalid_request"
            and fragment.get("state") == state
            and not {"id_token", "access_token"} & set(fragment),
            f"response_type={response_type} without a nonce: error=invalid_request and our state in the fragment",
            show(visit.answer),
        )

    # --- RP-Initiated Logout 1.0 §2, §3 ---
    def logout(who, redirect, hint=refreshed["id_token"], **more):
        params = [("id_token_hint", hint), ("post_logout_redirect_uri", redirect), ("state", "abc")]
        return who.visit(add_params_to_uri(op["end_session_endpoint"], params + list(more.items())))

    # The OP must not redirect where it cannot tell the client registered (the stranger has no
    # session to lose).
    elsewhere = "http://127.0.0.1:8000/elsewhere"
    for what, visit in (
        ("an unregistered post_logout_redirect_uri", logout(stranger, elsewhere)),
        ("a tampered id_token_hint", logout(stranger, SIGNED_OUT, hint=tampered(id_token, 2, flip))),
        ("a client_id other than the id_token_hint's aud", logout(stranger, SIGNED_OUT, client_id="dev")),
    ):
        check(
            visit.location is None or not visit.location.startswith("http://127.0.0.1:8000/"),
            f"logout with {what}: no redirect to the relying party ({visit.status})",
            show(visit.answer),
        )
    visit = logout(browser, SIGNED_OUT)
    check(
        visit.location == f"{SIGNED_OUT}?state=abc" and visit.status in (302, 303),
        f"logout with id_token_hint: a {visit.status} to {SIGNED_OUT}?state=abc",
        show(visit.answer),
    )
    visit, state, _, _ = authorize(browser, prompt="none")
    check(
        visit.redirected_to(CALLBACK, "?") and visit.params("query").get("error") == "login_required",
        "the session is over: prompt=none now gives login_required",
        show(visit.answer),
    )


if __name__ == "__main__":
    main()
