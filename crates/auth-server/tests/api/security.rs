//! SECURITY.md, item by item: every test here is named after the item it proves, so this file reads
//! as the checklist. All are black-box: HTTP against the real server (or the real binary, for what
//! only the command line can do), on SQLite and, with TEST_DATABASE_URL, on PostgreSQL
//! (`security::sqlite::item_…` and `security::postgres::item_…`).
//!
//! 1. `item_01_redirect_uri_is_matched_exactly`
//! 2. `item_02_an_unknown_client_or_untrusted_redirect_uri_gets_an_error_page_and_no_redirect`,
//!    `item_02_a_redirect_uri_unregistered_while_the_user_decided_is_never_used`
//! 3. `item_03_other_errors_go_back_to_the_registered_redirect_uri`,
//!    `item_03_state_is_echoed_byte_for_byte`
//! 4. `item_04_the_redirect_uri_must_be_repeated_exactly_at_the_token_endpoint`
//! 5. `item_05_a_fragment_or_script_scheme_redirect_uri_cannot_be_registered` (the CLI),
//!    `item_05_an_unsafe_redirect_uri_stored_outside_the_cli_is_never_used`
//! 6. `item_06_a_code_is_single_use_and_replay_revokes_its_tokens`,
//!    `item_06_twenty_concurrent_exchanges_of_one_code_succeed_once`
//! 7. `item_07_a_code_expires`, `item_07_a_code_lives_five_minutes_by_default`,
//!    `item_07_a_code_validity_over_ten_minutes_stops_the_server`,
//!    `item_07_a_code_is_bound_to_its_client_and_burnt_by_a_wrong_one`
//! 8. `item_08_pkce_s256_and_plain_verify`,
//!    `item_08_a_wrong_missing_or_malformed_verifier_burns_the_code`,
//!    `item_08_a_verifier_without_a_challenge_is_a_downgrade_and_refused`,
//!    `item_08_a_public_client_must_use_pkce_and_needs_no_secret`
//! 9. `item_09_a_refresh_token_is_bound_to_its_client`,
//!    `item_09_a_narrower_scope_is_granted_and_a_wider_one_is_invalid_scope`
//! 10. `item_10_per_client_rotation_burns_the_old_token_and_reuse_revokes_the_family`,
//!     `item_10_global_rotation_applies_unless_the_client_opts_out`,
//!     `item_10_parallel_refreshes_of_one_rotating_token_succeed_at_most_once`,
//!     `item_10_a_failed_refresh_never_consumes_the_only_valid_token`,
//!     `item_10_a_reuse_racing_a_rotation_never_leaves_a_live_token`
//! 11. `item_11_forms_without_the_right_csrf_token_are_403_and_change_nothing`,
//!     `item_11_signing_in_renews_the_session`
//! 12. `item_12_every_html_response_carries_the_four_headers`,
//!     `item_12_a_credentials_post_answers_303`
//! 13. `item_13_client_ids_and_scopes_render_literally`,
//!     `item_13_usernames_states_and_error_texts_render_literally`
//! 14. `item_14_every_token_response_is_no_store_and_errors_are_clean_json`
//! 15. `item_15_secrets_and_passwords_are_stored_as_bcrypt_hashes`,
//!     `item_15_an_unknown_user_costs_as_much_as_a_wrong_password` (constant time: every secret and
//!     password check, found or not, is one bcrypt verification; `{noop}` values, CSRF tokens and
//!     PKCE challenges are compared with `subtle`, which no black-box test can time on 2 cores)
//! 16. `item_16_a_hundred_thousand_generated_tokens_are_256_bit_and_distinct`,
//!     `item_16_thousands_of_tokens_issued_over_http_are_256_bit_and_distinct`,
//!     `item_16_the_uuid_format_gives_spring_style_tokens`
//! 17. `item_17_an_account_is_locked_after_repeated_failures_at_every_password_endpoint`,
//!     `item_17_an_address_is_locked_after_repeated_failures_on_any_account`,
//!     `item_17_a_burst_of_guesses_learns_nothing_past_the_limit`,
//!     `item_17_the_lockout_ends_and_a_right_password_clears_the_count`,
//!     `item_17_limits_of_zero_switch_the_protection_off`
//! 18. `item_18_client_credentials_issues_no_refresh_token`,
//!     `item_18_implicit_puts_the_token_only_in_the_fragment`
//! 19. `item_19_only_authenticated_trusted_clients_may_introspect`,
//!     `item_19_check_token_refuses_unknown_and_expired_tokens_with_springs_400`,
//!     `item_19_an_unknown_or_expired_token_is_exactly_active_false`,
//!     `item_19_a_revoked_token_is_inactive_at_both_endpoints`,
//!     `item_19_a_rotated_refresh_token_is_inactive`
//! 20. `item_20_resource_server_fails_closed_while_the_auth_server_is_down_and_recovers`, in the
//!     fault-injection harness crates/auth-server/tests/faults/ (real processes, kill -9).
//! 21. On the auth server's own `/hi`, behind the shared guard the resource server uses:
//!     `item_21_no_token_or_a_bad_token_gets_rfc_6750_answers`,
//!     `item_21_an_expired_or_revoked_token_is_invalid_token`,
//!     `item_21_a_token_for_another_resource_is_invalid_token`,
//!     `item_21_a_missing_scope_is_403_insufficient_scope`
//! 22. `item_22_with_the_database_gone_answers_are_503_json_and_never_a_lie`,
//!     `item_22_connections_killed_by_the_database_are_replaced` (both PostgreSQL only: SQLite
//!     cannot be taken away from a running server); under load (no token issued or lost, no
//!     revocation answered 200 unstored) in crates/auth-server/tests/faults/:
//!     `item_22_postgres_stopped_under_load_answers_503_json_loses_nothing_and_recovers`,
//!     `item_22_sqlite_unwritable_under_load_answers_503_json_loses_nothing_and_recovers`
//! 23. `item_23_a_repeated_parameter_is_invalid_request`,
//!     `item_23_a_body_that_is_not_a_form_is_415`, `item_23_a_huge_body_is_413`,
//!     `item_23_bytes_that_are_not_utf8_are_400`, `item_23_nul_cr_and_lf_are_400_on_every_backend`,
//!     `item_23_other_methods_are_405_with_allow`,
//!     `item_23_oversized_authorization_requests_are_refused_before_they_reach_the_session`,
//!     `item_23_every_endpoint_answers_malformed_input_with_a_clear_4xx`; parameter count and
//!     length, URI and header size limits in tests/api/request_limits.rs; the
//!     parsers are fuzzed by the `cargo fuzz` targets in fuzz/.
//! 24. In crates/auth-server/tests/faults/:
//!     `item_24_kill_9_under_load_on_sqlite_every_token_answered_200_validates_after_restart`,
//!     `item_24_kill_9_under_load_on_postgres_every_token_answered_200_validates_after_restart`

use std::collections::HashSet;

use auth_server::domain::token_value::{self, hash, TokenFormat};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::helpers::{
    answer, csrf_of, field_of, params_of, spawn_app, spawn_app_with, start, test_settings, Answer,
    Backend, TestApp, TestDb,
};
use crate::on_both_backends;

on_both_backends!(
    item_01_redirect_uri_is_matched_exactly,
    item_02_an_unknown_client_or_untrusted_redirect_uri_gets_an_error_page_and_no_redirect,
    item_02_a_redirect_uri_unregistered_while_the_user_decided_is_never_used,
    item_03_other_errors_go_back_to_the_registered_redirect_uri,
    item_03_state_is_echoed_byte_for_byte,
    item_04_the_redirect_uri_must_be_repeated_exactly_at_the_token_endpoint,
    item_05_an_unsafe_redirect_uri_stored_outside_the_cli_is_never_used,
    item_06_a_code_is_single_use_and_replay_revokes_its_tokens,
    item_06_twenty_concurrent_exchanges_of_one_code_succeed_once,
    item_07_a_code_expires,
    item_07_a_code_lives_five_minutes_by_default,
    item_07_a_code_is_bound_to_its_client_and_burnt_by_a_wrong_one,
    item_08_pkce_s256_and_plain_verify,
    item_08_a_wrong_missing_or_malformed_verifier_burns_the_code,
    item_08_a_verifier_without_a_challenge_is_a_downgrade_and_refused,
    item_08_a_public_client_must_use_pkce_and_needs_no_secret,
    item_09_a_refresh_token_is_bound_to_its_client,
    item_09_a_narrower_scope_is_granted_and_a_wider_one_is_invalid_scope,
    item_10_per_client_rotation_burns_the_old_token_and_reuse_revokes_the_family,
    item_10_global_rotation_applies_unless_the_client_opts_out,
    item_10_parallel_refreshes_of_one_rotating_token_succeed_at_most_once,
    item_10_a_failed_refresh_never_consumes_the_only_valid_token,
    item_10_a_reuse_racing_a_rotation_never_leaves_a_live_token,
    item_11_forms_without_the_right_csrf_token_are_403_and_change_nothing,
    item_11_signing_in_renews_the_session,
    item_12_every_html_response_carries_the_four_headers,
    item_12_a_credentials_post_answers_303,
    item_13_client_ids_and_scopes_render_literally,
    item_13_usernames_states_and_error_texts_render_literally,
    item_14_every_token_response_is_no_store_and_errors_are_clean_json,
    item_15_secrets_and_passwords_are_stored_as_bcrypt_hashes,
    item_16_thousands_of_tokens_issued_over_http_are_256_bit_and_distinct,
    item_16_the_uuid_format_gives_spring_style_tokens,
    item_18_client_credentials_issues_no_refresh_token,
    item_18_implicit_puts_the_token_only_in_the_fragment,
    item_19_only_authenticated_trusted_clients_may_introspect,
    item_19_check_token_refuses_unknown_and_expired_tokens_with_springs_400,
    item_19_an_unknown_or_expired_token_is_exactly_active_false,
    item_19_a_revoked_token_is_inactive_at_both_endpoints,
    item_19_a_rotated_refresh_token_is_inactive,
    item_21_no_token_or_a_bad_token_gets_rfc_6750_answers,
    item_21_an_expired_or_revoked_token_is_invalid_token,
    item_21_a_token_for_another_resource_is_invalid_token,
    item_21_a_missing_scope_is_403_insufficient_scope,
    item_23_a_repeated_parameter_is_invalid_request,
    item_23_a_body_that_is_not_a_form_is_415,
    item_23_a_huge_body_is_413,
    item_23_bytes_that_are_not_utf8_are_400,
    item_23_nul_cr_and_lf_are_400_on_every_backend,
    item_23_other_methods_are_405_with_allow,
    item_23_oversized_authorization_requests_are_refused_before_they_reach_the_session,
    item_23_every_endpoint_answers_malformed_input_with_a_clear_4xx,
);

const WALKTHROUGH: &str =
    "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz";

async fn code(app: &TestApp, query: &str) -> String {
    params_of(&app.browser().code_for(query).await)["code"].clone()
}

/// Exchanges a code of the demo client `dev`, with its walkthrough redirect URI.
async fn exchange(app: &TestApp, code: &str, extra: &[(&str, &str)]) -> Answer {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "http://www.baidu.com"),
    ];
    form.extend_from_slice(extra);
    app.token_basic(("dev", "11"), &form).await
}

/// `POST /oauth/check_token` as the resource server asks it.
async fn check(app: &TestApp, token: &str) -> Answer {
    app.post_form(
        "/oauth/check_token",
        &[("token", token)],
        Some(("resource", "resource-secret")),
    )
    .await
}

async fn introspect(app: &TestApp, form: &[(&str, &str)]) -> Answer {
    app.post_form(
        "/oauth2/introspect",
        form,
        Some(("resource", "resource-secret")),
    )
    .await
}

/// A POST with exactly these bytes, as dev authenticated with HTTP Basic.
async fn raw_post(app: &TestApp, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Answer {
    let mut request = app
        .http
        .post(app.url(path))
        .basic_auth("dev", Some("11"))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    answer(request.send().await.unwrap()).await
}

/// `GET` of the auth server's own protected API.
async fn get(app: &TestApp, path: &str, bearer: Option<&str>) -> Answer {
    let mut request = app.http.get(app.url(path));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.unwrap()).await
}

fn encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------------------------

/// RFC 9700 §4.1.3: character for character, no prefix, case, normalisation or encoding games.
async fn item_01_redirect_uri_is_matched_exactly(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("web", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://client.example/cb".into());
    });
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    for attack in [
        "https://client.example/cb/x",
        "https://client.example/cb/",
        "https://client.example/cb?x=1",
        "https://client.example/cb?",
        "https://client.example/cb#frag",
        "https://client.example/cb#",
        "HTTPS://client.example/cb",
        "https://CLIENT.example/cb",
        "https://client.EXAMPLE/cb",
        "https://client.example/CB",
        "https://client.example/cb/..;/evil",
        "https://client.example/cb/../evil",
        "https://client.example/x/../cb",
        "https://client.example/./cb",
        "https://client.example@evil.example/cb",
        "https://c@evil.example/cb",
        "https://client.example:443/cb",
        "https://client.example./cb",
        "http://client.example/cb",
        "//client.example/cb",
        "https://evil.example/cb",
        "javascript:alert(1)",
        // Percent-encoded: never decoded into a match.
        "https://client.example/%63b",
        "https://client.example/c%62",
        "https://client.example/%63%62",
        "https://client%2Eexample/cb",
        "https://client.example/cb%2F",
        "https://client.example/cb%2Fx",
        "https://client.example/cb%2F..%2Fevil",
        "https://client.example/cb%3Fx=1",
        "https://client.example/cb%23frag",
        "https://client.example/cb%20",
        "https%3A%2F%2Fclient.example%2Fcb",
    ] {
        let query = format!(
            "response_type=code&client_id=web&state=s&redirect_uri={}",
            encoded(attack)
        );
        let answer = browser.authorize(&query).await;
        assert_eq!(answer.status, 400, "{attack}");
        assert!(
            answer.headers.get("location").is_none(),
            "{attack} must not redirect"
        );
        assert!(answer
            .body
            .contains("redirect_uri is missing, ambiguous or not registered"));
        assert_eq!(answer.header("content-type"), "text/html; charset=utf-8");
    }
    let exact = browser
        .authorize(
            "response_type=code&client_id=web&state=s&redirect_uri=https://client.example/cb",
        )
        .await;
    assert_eq!(exact.header("location"), "/oauth/confirm_access");
}

async fn item_02_an_unknown_client_or_untrusted_redirect_uri_gets_an_error_page_and_no_redirect(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("web", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://client.example/cb".into());
    });
    app.add_client("two-uris", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://a.example/cb,https://b.example/cb".into());
    });
    app.add_client("no-uri", "authorization_code", |row| {
        row.web_server_redirect_uri = None
    });
    // Before sign-in too: an untrusted request must not even reach the login page.
    for signed_in in [false, true] {
        let browser = app.browser();
        if signed_in {
            browser.sign_in("admin", "123456").await;
        }
        // Missing: fine with one registered URI, an error page with two or none.
        assert_eq!(
            browser
                .authorize("response_type=code&client_id=web&state=s")
                .await
                .status,
            303,
            "the one registered URI is used"
        );
        for (query, message) in [
            (
                "response_type=code&client_id=two-uris&state=s",
                "redirect_uri is missing, ambiguous or not registered",
            ),
            (
                "response_type=code&client_id=no-uri&state=s",
                "redirect_uri is missing, ambiguous or not registered",
            ),
            (
                "response_type=code&client_id=web&state=s&redirect_uri=https://evil.example/cb",
                "redirect_uri is missing, ambiguous or not registered",
            ),
            (
                "response_type=code&client_id=two-uris&redirect_uri=https://b.example/cb&redirect_uri=https://evil.example/cb",
                "Repeated parameter",
            ),
            (
                "response_type=code&client_id=web&client_id=dev&redirect_uri=https://client.example/cb",
                "Repeated parameter",
            ),
            (
                "response_type=code&client_id=web&redirect_uri=https://client.example/cb&state=s&state=t",
                "Repeated parameter",
            ),
            (
                "response_type=code&client_id=nobody&redirect_uri=http://www.baidu.com",
                "Unknown client",
            ),
            (
                "response_type=code&redirect_uri=http://www.baidu.com",
                "Unknown client",
            ),
        ] {
            let answer = browser.authorize(query).await;
            assert_eq!(answer.status, 400, "{query}: {}", answer.body);
            assert!(
                answer.headers.get("location").is_none(),
                "{query} must not redirect"
            );
            assert_eq!(answer.header("content-type"), "text/html; charset=utf-8");
            assert!(answer.body.contains(message), "{query}: {}", answer.body);
        }
    }
}

async fn item_02_a_redirect_uri_unregistered_while_the_user_decided_is_never_used(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("moving", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://old.example/cb".into())
    });
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    browser
        .authorize("response_type=code&client_id=moving&state=s")
        .await;
    {
        use auth_server::db::schema::oauth_client_details::dsl::*;
        use diesel::prelude::*;
        diesel::update(oauth_client_details.find("moving"))
            .set(web_server_redirect_uri.eq(Some("https://new.example/cb")))
            .execute(&mut *app.store.conn().unwrap())
            .unwrap();
    }
    let decided = browser.decide(true, &[]).await;
    assert_eq!(decided.status, 400, "{}", decided.body);
    assert!(
        decided.headers.get("location").is_none(),
        "never sent to the old URI"
    );
}

async fn item_03_other_errors_go_back_to_the_registered_redirect_uri(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let browser = app.browser();
    let base = "client_id=dev&redirect_uri=http://www.baidu.com&state=s";
    for (query, error) in [
        (base.to_string(), "invalid_request"),
        (
            format!("response_type=code+token&{base}"),
            "unsupported_response_type",
        ),
        (
            format!("response_type=code&scope=admin&{base}"),
            "invalid_scope",
        ),
        (
            format!("response_type=code&scope=a%22b&{base}"),
            "invalid_scope",
        ),
        (
            format!("response_type=code&code_challenge=short&code_challenge_method=S256&{base}"),
            "invalid_request",
        ),
        (
            format!(
                "response_type=code&code_challenge={}&code_challenge_method=S512&{base}",
                "a".repeat(43)
            ),
            "invalid_request",
        ),
    ] {
        let answer = browser.authorize(&query).await;
        assert_eq!(answer.status, 303, "{query}: {}", answer.body);
        let params = params_of(answer.header("location"));
        assert_eq!(params["error"], error, "{query}");
        assert_eq!(params["state"], "s");
    }
    // The implicit flow answers in the fragment, and only there.
    let implicit = browser
        .authorize(&format!("response_type=token&scope=admin&{base}"))
        .await;
    let location = url::Url::parse(implicit.header("location")).unwrap();
    assert_eq!(location.query(), None, "{location}");
    let params = params_of(location.as_str());
    assert_eq!(
        (params["error"].as_str(), params["state"].as_str()),
        ("invalid_scope", "s")
    );
}

async fn item_03_state_is_echoed_byte_for_byte(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let browser = app.browser();
    let state = "a b+c&d=e/f?g%h#i\u{e9}<script>";
    let query = format!(
        "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state={}",
        form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
    );
    let location = browser.code_for(&query).await;
    assert_eq!(params_of(&location)["state"], state);
    let error = browser
        .authorize(&query.replace("response_type=code", "response_type=nope"))
        .await;
    assert_eq!(params_of(error.header("location"))["state"], state);
}

async fn item_04_the_redirect_uri_must_be_repeated_exactly_at_the_token_endpoint(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for (given, status) in [
        (None, 400),
        (Some("http://www.baidu.com/"), 400),
        (Some("http://www.baidu.com"), 200),
    ] {
        let code = code(&app, WALKTHROUGH).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        if let Some(uri) = given {
            form.push(("redirect_uri", uri));
        }
        let answer = app.token_basic(("dev", "11"), &form).await;
        assert_eq!(answer.status, status, "{given:?}: {}", answer.body);
        if status == 400 {
            answer.assert_error(400, "invalid_grant", "Redirect URI mismatch.");
        }
    }
    // Not given in the authorization request (one registered URI): may be left out, or repeated.
    let code = code(&app, "response_type=code&client_id=dev&state=xyz").await;
    let answer = app
        .token_basic(
            ("dev", "11"),
            &[("grant_type", "authorization_code"), ("code", &code)],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // Another URI the client registered is still not the one of the request.
    app.add_client("two-uris", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://a.example/cb,https://b.example/cb".into());
    });
    let exchange_with = |uri: &'static str| {
        let app = &app;
        async move {
            let code = params_of(
                &app.browser()
                    .code_for(
                        "response_type=code&client_id=two-uris&redirect_uri=https://a.example/cb",
                    )
                    .await,
            )["code"]
                .clone();
            app.token_basic(
                ("two-uris", "s3cret"),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", uri),
                ],
            )
            .await
        }
    };
    exchange_with("https://b.example/cb").await.assert_error(
        400,
        "invalid_grant",
        "Redirect URI mismatch.",
    );
    assert_eq!(exchange_with("https://a.example/cb").await.status, 200);
}

/// Registration is the command line's (there is no registration endpoint): run it as an operator.
#[test]
fn item_05_a_fragment_or_script_scheme_redirect_uri_cannot_be_registered() {
    let Some((_db, url)) = TestDb::create(Backend::Sqlite) else {
        return;
    };
    crate::cli::ok(&url, &["migrate"]);
    for (uri, message) in [
        ("https://x.example/cb#f", "must not have a fragment"),
        ("https://x.example/cb#", "must not have a fragment"),
        (
            "javascript:alert(1)",
            "the javascript scheme is not allowed",
        ),
        (
            "JavaScript:alert(1)",
            "the javascript scheme is not allowed",
        ),
        (
            "data:text/html,<script>alert(1)</script>",
            "the data scheme is not allowed",
        ),
        ("vbscript:msgbox(1)", "the vbscript scheme is not allowed"),
        (
            "https://ok.example/cb,javascript:alert(1)",
            "the javascript scheme is not allowed",
        ),
    ] {
        crate::cli::fails(
            &url,
            &["client", "add", "--client-id", "x", "--redirect-uri", uri],
            1,
            message,
        );
        crate::cli::fails(
            &url,
            &["client", "show", "--client-id", "x"],
            1,
            r#"no client "x""#,
        );
    }
    crate::cli::ok(
        &url,
        &[
            "client",
            "add",
            "--client-id",
            "x",
            "--redirect-uri",
            "https://x.example/cb,com.example.app:/oauth2redirect",
        ],
    );
}

/// Rows written in SQL or by Spring's tools never went through that check: what it would refuse
/// is never redirected to either.
async fn item_05_an_unsafe_redirect_uri_stored_outside_the_cli_is_never_used(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    for (id, uri) in [
        ("js", "javascript:alert(1)"),
        // No comma: the column holds a comma-separated list.
        (
            "data",
            "data:text/html;base64%2CPHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg",
        ),
        ("fragment", "https://x.example/cb#frag"),
        ("relative", "/cb"),
    ] {
        app.add_client(id, "authorization_code,implicit", |row| {
            row.web_server_redirect_uri = Some(uri.into());
            row.autoapprove = Some("true".into());
        });
        for query in [
            format!("response_type=code&client_id={id}&state=s"),
            format!(
                "response_type=token&client_id={id}&state=s&redirect_uri={}",
                encoded(uri)
            ),
            format!("response_type=nope&client_id={id}&state=s"),
        ] {
            let answer = browser.authorize(&query).await;
            assert_eq!(answer.status, 400, "{query}: {}", answer.body);
            assert!(
                answer.headers.get("location").is_none(),
                "{query} must not redirect"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Codes and PKCE
// ---------------------------------------------------------------------------------------------

async fn item_06_a_code_is_single_use_and_replay_revokes_its_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let code = code(&app, WALKTHROUGH).await;
    let first = exchange(&app, &code, &[]).await;
    let (access, refresh) = (first.field("access_token"), first.field("refresh_token"));
    assert_eq!(check(&app, &access).await.status, 200);
    exchange(&app, &code, &[]).await.assert_error(
        400,
        "invalid_grant",
        "Authorization code already used; the tokens issued with it are revoked",
    );
    assert_eq!(
        check(&app, &access).await.status,
        400,
        "the first exchange's access token is revoked"
    );
    app.token_basic(
        ("dev", "11"),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await
    .assert_error(400, "invalid_grant", "Invalid refresh token");
    exchange(&app, "never-issued", &[]).await.assert_error(
        400,
        "invalid_grant",
        "Invalid authorization code",
    );
}

async fn item_06_twenty_concurrent_exchanges_of_one_code_succeed_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let code = code(&app, WALKTHROUGH).await;
    let answers = futures_util::future::join_all((0..20).map(|_| exchange(&app, &code, &[]))).await;
    let successes = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(successes, 1, "{answers:?}");
    assert!(answers
        .iter()
        .filter(|a| a.status != 200)
        .all(|a| a.json()["error"] == "invalid_grant"));
}

async fn item_07_a_code_expires(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.tokens.code_validity = 1).await else {
        return;
    };
    let code = code(&app, WALKTHROUGH).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    exchange(&app, &code, &[]).await.assert_error(
        400,
        "invalid_grant",
        "Authorization code expired",
    );
}

async fn item_07_a_code_is_bound_to_its_client_and_burnt_by_a_wrong_one(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("thief", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("http://www.baidu.com".into())
    });
    let code = code(&app, WALKTHROUGH).await;
    app.token_basic(
        ("thief", "s3cret"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://www.baidu.com"),
        ],
    )
    .await
    .assert_error(
        400,
        "invalid_grant",
        "Authorization code was issued to another client",
    );
    assert_eq!(exchange(&app, &code, &[]).await.status, 400, "burnt");
}

async fn item_07_a_code_lives_five_minutes_by_default(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let code = code(&app, WALKTHROUGH).await;
    let stored = auth_server::db::codes::find(&mut app.store.conn().unwrap(), &hash(&code))
        .unwrap()
        .expect("stored under its hash");
    assert_eq!(stored.expires_at - stored.issued_at, 300);
}

/// RFC 6749 §4.1.2: "a maximum authorization code lifetime of 10 minutes is RECOMMENDED". A
/// longer one is a configuration mistake that must stop the server, not be served.
#[test]
fn item_07_a_code_validity_over_ten_minutes_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let migrate = |validity: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_auth-server"))
            .arg("migrate")
            .env("APP__DATABASE__URL", &url)
            .env("APP__TOKENS__CODE_VALIDITY", validity)
            .output()
            .unwrap()
    };
    for refused in ["601", "0", "86400"] {
        let output = migrate(refused);
        assert_eq!(output.status.code(), Some(2), "{refused}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("tokens.code_validity must be between 1 and 600 seconds"),
            "{refused}: {stderr}"
        );
    }
    let ten_minutes = migrate("600");
    assert!(
        ten_minutes.status.success(),
        "{}",
        String::from_utf8_lossy(&ten_minutes.stderr)
    );
}

// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn pkce_query(challenge: &str, method: &str) -> String {
    format!("{WALKTHROUGH}&code_challenge={challenge}&code_challenge_method={method}")
}

async fn item_08_pkce_s256_and_plain_verify(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let s256 = code(&app, &pkce_query(CHALLENGE, "S256")).await;
    assert_eq!(
        exchange(&app, &s256, &[("code_verifier", VERIFIER)])
            .await
            .status,
        200
    );
    // Every unreserved character, and both length limits (VERIFIER has the shortest, 43).
    let longest = format!("{}abc", "a-._~".repeat(25));
    for verifier in [VERIFIER, longest.as_str()] {
        let plain = code(&app, &pkce_query(verifier, "plain")).await;
        assert_eq!(
            exchange(&app, &plain, &[("code_verifier", verifier)])
                .await
                .status,
            200,
            "{verifier}"
        );
    }
}

async fn item_08_a_wrong_missing_or_malformed_verifier_burns_the_code(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let wrong = VERIFIER.replace('d', "e");
    let short = "a".repeat(42);
    let long = "a".repeat(129);
    let bad_chars = format!("{}!", &VERIFIER[..43]);
    for verifier in [
        Some(wrong.as_str()),
        // What an eavesdropper on the authorization request saw.
        Some(CHALLENGE),
        None,
        Some(short.as_str()),
        Some(long.as_str()),
        Some(bad_chars.as_str()),
    ] {
        let code = code(&app, &pkce_query(CHALLENGE, "S256")).await;
        let extra: Vec<(&str, &str)> = verifier
            .map(|v| vec![("code_verifier", v)])
            .unwrap_or_default();
        exchange(&app, &code, &extra).await.assert_error(
            400,
            "invalid_grant",
            "PKCE verification failed",
        );
        // Burnt: even the right verifier fails now.
        assert_eq!(
            exchange(&app, &code, &[("code_verifier", VERIFIER)])
                .await
                .status,
            400,
            "{verifier:?}"
        );
    }
    let plain = code(&app, &pkce_query(VERIFIER, "plain")).await;
    exchange(&app, &plain, &[("code_verifier", &wrong)])
        .await
        .assert_error(400, "invalid_grant", "PKCE verification failed");
    assert_eq!(
        exchange(&app, &plain, &[("code_verifier", VERIFIER)])
            .await
            .status,
        400,
        "burnt"
    );
}

async fn item_08_a_verifier_without_a_challenge_is_a_downgrade_and_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let code = code(&app, WALKTHROUGH).await;
    exchange(&app, &code, &[("code_verifier", VERIFIER)])
        .await
        .assert_error(
            400,
            "invalid_grant",
            "code_verifier sent but the authorization request had no code_challenge",
        );
}

async fn item_08_a_public_client_must_use_pkce_and_needs_no_secret(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("spa", "authorization_code,refresh_token", |row| {
        row.client_secret = None;
        row.web_server_redirect_uri = Some("https://spa.example/cb".into());
    });
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    let refused = browser
        .authorize("response_type=code&client_id=spa&state=s")
        .await;
    assert_eq!(
        refused.header("location"),
        "https://spa.example/cb?error=invalid_request&error_description=Public+clients+must+use+PKCE+%28code_challenge%29&state=s"
    );
    let location = browser
        .code_for(&format!("response_type=code&client_id=spa&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256"))
        .await;
    let code = params_of(&location)["code"].clone();
    let token = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "spa"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(token.status, 200, "{}", token.body);
    token.field("refresh_token");
}

// ---------------------------------------------------------------------------------------------
// Refresh tokens
// ---------------------------------------------------------------------------------------------

async fn item_09_a_refresh_token_is_bound_to_its_client(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("other", "password,refresh_token", |_| {});
    let token = app.password_grant().await.field("refresh_token");
    app.refresh(("other", "s3cret"), &token, None)
        .await
        .assert_error(400, "invalid_grant", "Wrong client for this refresh token");
    assert_eq!(app.refresh(("dev", "11"), &token, None).await.status, 200);
}

async fn item_09_a_narrower_scope_is_granted_and_a_wider_one_is_invalid_scope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("wide", "password,refresh_token", |_| {});
    let token = app
        .password_grant_for(("wide", "s3cret"))
        .await
        .field("refresh_token");
    let narrowed = app.refresh(("wide", "s3cret"), &token, Some("read")).await;
    assert_eq!(narrowed.json()["scope"], "read");
    let narrow = password_grant_for_scope(&app, "read")
        .await
        .field("refresh_token");
    app.refresh(("wide", "s3cret"), &narrow, Some("read app"))
        .await
        .assert_error(
            400,
            "invalid_scope",
            "Scope is wider than the original grant",
        );
    // Narrowing once does not narrow the refresh token itself (RFC 6749 §6).
    assert_eq!(
        app.refresh(("wide", "s3cret"), &token, None).await.json()["scope"],
        "app read"
    );
}

async fn password_grant_for_scope(app: &TestApp, scope: &str) -> Answer {
    app.token_basic(
        ("wide", "s3cret"),
        &[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "123456"),
            ("scope", scope),
        ],
    )
    .await
}

async fn item_10_per_client_rotation_burns_the_old_token_and_reuse_revokes_the_family(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("rotating", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":true}"#.into())
    });
    let client = ("rotating", "s3cret");
    let first = app.password_grant_for(client).await.field("refresh_token");
    let second_answer = app.refresh(client, &first, None).await;
    let second = second_answer.field("refresh_token");
    assert_ne!(first, second, "rotated");
    let third = app
        .refresh(client, &second, None)
        .await
        .field("refresh_token");
    // The burnt first token comes back: it leaked. Everything of the grant is revoked.
    app.refresh(client, &first, None).await.assert_error(
        400,
        "invalid_grant",
        "Refresh token already used; the grant has been revoked",
    );
    app.refresh(client, &third, None).await.assert_error(
        400,
        "invalid_grant",
        "Invalid refresh token",
    );
    let access = second_answer.field("access_token");
    assert!(
        auth_server::db::tokens::find_access(
            &mut app.store.conn().unwrap(),
            &auth_server::domain::token_value::hash(&access)
        )
        .unwrap()
        .is_none(),
        "access tokens of the family are revoked too"
    );
    // Other grants of the same user and client are untouched.
    let unrelated = app.password_grant_for(client).await.field("refresh_token");
    assert_eq!(app.refresh(client, &unrelated, None).await.status, 200);
}

async fn item_10_global_rotation_applies_unless_the_client_opts_out(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.tokens.rotate_refresh_tokens = true).await else {
        return;
    };
    let token = app.password_grant().await.field("refresh_token");
    assert_ne!(
        app.refresh(("dev", "11"), &token, None)
            .await
            .field("refresh_token"),
        token
    );
    app.add_client("keeper", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":false}"#.into())
    });
    let kept = app
        .password_grant_for(("keeper", "s3cret"))
        .await
        .field("refresh_token");
    assert_eq!(
        app.refresh(("keeper", "s3cret"), &kept, None)
            .await
            .field("refresh_token"),
        kept
    );
}

async fn item_10_parallel_refreshes_of_one_rotating_token_succeed_at_most_once(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.tokens.rotate_refresh_tokens = true).await else {
        return;
    };
    let token = app.password_grant().await.field("refresh_token");
    let answers =
        futures_util::future::join_all((0..20).map(|_| app.refresh(("dev", "11"), &token, None)))
            .await;
    let successes = answers.iter().filter(|a| a.status == 200).count();
    assert!(
        successes <= 1,
        "{successes} of 20 parallel refreshes succeeded"
    );
    for answer in answers.iter().filter(|a| a.status != 200) {
        assert_eq!(answer.json()["error"], "invalid_grant", "{}", answer.body);
    }
}

async fn item_10_a_failed_refresh_never_consumes_the_only_valid_token(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.tokens.rotate_refresh_tokens = true).await else {
        return;
    };
    let token = app.password_grant().await.field("refresh_token");
    app.refresh(("dev", "11"), &token, Some("app admin"))
        .await
        .assert_error(
            400,
            "invalid_scope",
            "Scope is wider than the original grant",
        );
    app.refresh(("dev", "11"), &token, Some("app\"x"))
        .await
        .assert_error(400, "invalid_scope", "Malformed scope");
    app.refresh(("dev", "wrong"), &token, None)
        .await
        .assert_error(401, "invalid_client", "Bad client credentials");
    app.refresh(("nobody", "11"), &token, None)
        .await
        .assert_error(401, "invalid_client", "Bad client credentials");
    app.token(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
        .await
        .assert_error(401, "invalid_client", "Client authentication is required");
    // Presented by another client (a thief with credentials of its own).
    app.add_client("other", "password,refresh_token", |_| {});
    app.refresh(("other", "s3cret"), &token, None)
        .await
        .assert_error(400, "invalid_grant", "Wrong client for this refresh token");
    raw_post(
        &app,
        "/oauth/token",
        Some("application/x-www-form-urlencoded"),
        format!("grant_type=refresh_token&refresh_token={token}&refresh_token={token}")
            .into_bytes(),
    )
    .await
    .assert_error(400, "invalid_request", "Repeated parameter: refresh_token");
    assert_eq!(app.refresh(("dev", "11"), &token, None).await.status, 200);
}

/// SECURITY.md item 10, under a race: a leaked token presented while the legitimate client rotates
/// its current one. Whatever the interleaving, nothing of the grant may stay usable.
async fn item_10_a_reuse_racing_a_rotation_never_leaves_a_live_token(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.tokens.rotate_refresh_tokens = true).await else {
        return;
    };
    for round in 0..25 {
        let first = app.password_grant().await.field("refresh_token");
        let second = app
            .refresh(("dev", "11"), &first, None)
            .await
            .field("refresh_token");
        let (reuse, rotation) = tokio::join!(
            app.refresh(("dev", "11"), &first, None),
            app.refresh(("dev", "11"), &second, None)
        );
        assert_eq!(reuse.status, 400, "round {round}: {}", reuse.body);
        if rotation.status == 200 {
            let third = rotation.field("refresh_token");
            let access = rotation.field("access_token");
            app.refresh(("dev", "11"), &third, None).await.assert_error(
                400,
                "invalid_grant",
                "Invalid refresh token",
            );
            let stored = auth_server::db::tokens::find_access(
                &mut app.store.conn().unwrap(),
                &auth_server::domain::token_value::hash(&access),
            )
            .unwrap();
            assert!(
                stored.is_none(),
                "round {round}: an access token of a revoked grant survived"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------

fn assert_secure_headers(answer: &Answer, what: &str) {
    assert_eq!(answer.header("x-frame-options"), "DENY", "{what}");
    assert!(
        answer
            .header("content-security-policy")
            .contains("frame-ancestors 'none'"),
        "{what}"
    );
    assert_eq!(answer.header("cache-control"), "no-store", "{what}");
    assert_eq!(answer.header("referrer-policy"), "no-referrer", "{what}");
}

async fn item_11_forms_without_the_right_csrf_token_are_403_and_change_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let browser = app.browser();
    browser.get("/login").await;
    for csrf in [None, Some("forged")] {
        let mut form = vec![("username", "admin"), ("password", "123456")];
        if let Some(csrf) = csrf {
            form.push(("_csrf", csrf));
        }
        let answer = browser.post("/login", &form).await;
        assert_eq!(answer.status, 403, "{csrf:?}");
        assert_secure_headers(&answer, "403 page");
    }
    assert_eq!(
        browser.authorize(WALKTHROUGH).await.header("location"),
        "/login",
        "not signed in"
    );
    browser.sign_in("admin", "123456").await;
    browser.authorize(WALKTHROUGH).await;
    for csrf in [None, Some("forged")] {
        let mut form = vec![("user_oauth_approval", "true"), ("scope.app", "true")];
        if let Some(csrf) = csrf {
            form.push(("_csrf", csrf));
        }
        let answer = browser.post("/oauth/authorize", &form).await;
        assert_eq!(answer.status, 403, "{csrf:?}: {}", answer.body);
        assert!(answer.headers.get("location").is_none(), "no code issued");
    }
    // The request is still waiting for a genuine decision.
    assert!(browser
        .decide(true, &[])
        .await
        .header("location")
        .contains("code="));
    // A CSRF token from another session does not work either.
    let other = app.browser();
    let foreign = csrf_of(&other.get("/login").await.body);
    assert_eq!(
        browser.post("/logout", &[("_csrf", &foreign)]).await.status,
        403
    );
}

fn session_cookie(answer: &Answer) -> Option<String> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("SESSION="))
}

async fn item_11_signing_in_renews_the_session(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let browser = app.browser();
    let before = session_cookie(&browser.get("/login").await).expect("a session cookie");
    assert!(before.contains("HttpOnly"), "{before}");
    assert!(before.contains("SameSite=Lax"), "{before}");
    let csrf_before = csrf_of(&browser.get("/login").await.body);
    let signed_in = browser.sign_in("admin", "123456").await;
    let after = session_cookie(&signed_in).expect("a new session cookie at sign-in");
    assert_ne!(before.split(';').next(), after.split(';').next());
    let page = browser.get("/login").await;
    assert!(page
        .body
        .contains("You are signed in as <strong>admin</strong>"));
    assert_ne!(
        csrf_of(&page.body),
        csrf_before,
        "a new CSRF token after sign-in"
    );
}

async fn item_12_every_html_response_carries_the_four_headers(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let browser = app.browser();
    assert_secure_headers(&browser.get("/login").await, "login page");
    assert_secure_headers(&browser.authorize(WALKTHROUGH).await, "redirect to login");
    assert_secure_headers(&browser.authorize("client_id=nobody").await, "error page");
    browser.sign_in("admin", "123456").await;
    browser.authorize(WALKTHROUGH).await;
    assert_secure_headers(&browser.get("/oauth/confirm_access").await, "approval page");
    let decided = browser.decide(true, &[]).await;
    assert_eq!(decided.status, 303);
    assert_secure_headers(&decided, "redirect to the client");
    let css = browser.get("/assets/oauth.css").await;
    assert_eq!(
        (css.status, css.header("content-type")),
        (200, "text/css; charset=utf-8")
    );
    // Error pages, and every other answer of the page endpoints.
    let stranger = app.browser();
    let raw_login = |content_type: &'static str, body: Vec<u8>| {
        let request = stranger
            .http
            .post(app.url("/login"))
            .header("Content-Type", content_type)
            .body(body);
        async move { answer(request.send().await.unwrap()).await }
    };
    let mut answers = vec![
        (
            "login page with an error",
            stranger.get("/login?error").await,
        ),
        (
            "login page after sign-out",
            stranger.get("/login?logout").await,
        ),
        (
            "approval page, signed out",
            stranger.get("/oauth/confirm_access").await,
        ),
        (
            "unregistered redirect_uri",
            stranger
                .authorize("response_type=code&client_id=dev&redirect_uri=https://evil.example/")
                .await,
        ),
        (
            "repeated parameter",
            stranger
                .authorize(&format!("{WALKTHROUGH}&state=again"))
                .await,
        ),
        (
            "parameter too long",
            stranger
                .authorize(&format!("{WALKTHROUGH}&scope={}", "a".repeat(2100)))
                .await,
        ),
        (
            "sign-in without a CSRF token",
            stranger
                .post("/login", &[("username", "admin"), ("password", "123456")])
                .await,
        ),
        (
            "sign-in that is not a form",
            raw_login("application/json", br#"{"username":"admin"}"#.to_vec()).await,
        ),
        (
            "sign-in too large",
            raw_login("application/x-www-form-urlencoded", vec![b'a'; 1024 * 1024]).await,
        ),
    ];
    let signed_in = browser.get("/login").await;
    let csrf = csrf_of(&signed_in.body);
    answers.push(("signed-in page", signed_in));
    answers.push((
        "approval page with nothing pending",
        browser.get("/oauth/confirm_access").await,
    ));
    answers.push((
        "approval posted with nothing pending",
        browser
            .post(
                "/oauth/authorize",
                &[("user_oauth_approval", "true"), ("_csrf", &csrf)],
            )
            .await,
    ));
    answers.push((
        "approval with a forged CSRF token",
        browser
            .post(
                "/oauth/authorize",
                &[("user_oauth_approval", "true"), ("_csrf", "forged")],
            )
            .await,
    ));
    answers.push((
        "sign-out",
        browser.post("/logout", &[("_csrf", &csrf)]).await,
    ));
    for (what, answer) in &answers {
        assert_secure_headers(answer, &format!("{what} ({})", answer.status));
        if answer.status != 303 {
            assert_eq!(
                answer.header("content-type"),
                "text/html; charset=utf-8",
                "{what}"
            );
        }
    }
}

async fn item_12_a_credentials_post_answers_303(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let browser = app.browser();
    let answer = browser.sign_in("admin", "wrong").await;
    assert_eq!(
        (answer.status, answer.header("location")),
        (303, "/login?error")
    );
    assert_secure_headers(&answer, "303 after a credentials POST");
    let page = browser.get("/login?error").await;
    assert!(page.body.contains("Bad credentials"));
    let unknown = browser.sign_in("nobody", "x").await;
    assert_eq!(unknown.header("location"), "/login?error");
    let right = browser.sign_in("admin", "123456").await;
    assert_eq!((right.status, right.header("location")), (303, "/login"));
    assert_secure_headers(&right, "303 after a successful credentials POST");
}

async fn item_13_client_ids_and_scopes_render_literally(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let evil_client = "<script>alert(1)</script>${7*7}{{7*7}}";
    app.add_client(evil_client, "authorization_code", |row| {
        row.scope = Some("<b>x</b>,${7*7},{{7*7}}".into());
        row.web_server_redirect_uri = Some("https://c.example/cb".into());
    });
    let browser = app.browser();
    let query = format!(
        "response_type=code&client_id={}",
        form_urlencoded::byte_serialize(evil_client.as_bytes()).collect::<String>()
    );
    browser.authorize(&query).await;
    let login = browser.get("/login").await;
    browser.sign_in("admin", "123456").await;
    browser.authorize(&query).await;
    let approve = browser.get("/oauth/confirm_access").await;
    for page in [&login.body, &approve.body] {
        assert!(!page.contains("<script>alert(1)"), "{page}");
        assert!(!page.contains("<b>x</b>"), "{page}");
        assert!(
            !page_text(page).contains("49"),
            "no template evaluated the input: {page}"
        );
    }
    assert!(
        login
            .body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;${7*7}{{7*7}}"),
        "{}",
        login.body
    );
    assert!(
        approve.body.contains("&#60;b&#62;x&#60;/b&#62;"),
        "{}",
        approve.body
    );
    assert!(approve.body.contains("${7*7}") && approve.body.contains("{{7*7}}"));
}

/// A page without its random hidden values, which may contain "49" by chance.
fn page_text(html: &str) -> String {
    let mut text = html.to_owned();
    for field in ["_csrf", "authorization_id"] {
        if html.contains(&format!(r#"name="{field}" value=""#)) {
            text = text.replace(&field_of(html, field), "");
        }
    }
    text
}

const PAYLOAD: &str = "<script>alert(1)</script>${7*7}{{7*7}}";
const PAYLOAD_ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;${7*7}{{7*7}}";

async fn item_13_usernames_states_and_error_texts_render_literally(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_user(PAYLOAD, "pw", &["ROLE_USER"]);
    let browser = app.browser();
    let query = format!(
        "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state={}",
        encoded(PAYLOAD)
    );
    browser.authorize(&query).await;
    let mut pages = vec![("login page", browser.get("/login").await)];
    assert_eq!(browser.sign_in(PAYLOAD, "pw").await.status, 303);
    browser.authorize(&query).await;
    let approve = browser.get("/oauth/confirm_access").await;
    assert!(
        approve.body.contains(PAYLOAD_ESCAPED),
        "the username: {}",
        approve.body
    );
    pages.push(("approval page", approve));
    let decided = browser.decide(true, &[]).await;
    assert_eq!(params_of(decided.header("location"))["state"], PAYLOAD);
    let signed_in = browser.get("/login").await;
    assert!(
        signed_in.body.contains(PAYLOAD_ESCAPED),
        "{}",
        signed_in.body
    );
    pages.push(("signed-in page", signed_in));
    // Error pages, with the payload wherever a request can carry it.
    let stranger = app.browser();
    let evil = encoded(PAYLOAD);
    for path in [
        format!("/oauth/authorize?response_type=code&client_id={evil}&state={evil}"),
        format!(
            "/oauth/authorize?response_type=code&client_id=dev&redirect_uri={evil}&state={evil}"
        ),
        format!("/oauth/authorize?response_type=code&client_id=dev&state={evil}&state={evil}"),
        format!(
            "/oauth/authorize?client_id=dev&scope={evil}{}",
            "a".repeat(2100)
        ),
        format!("/login?error={evil}"),
        format!("/login?logout={evil}&{evil}"),
    ] {
        pages.push(("error page", stranger.get(&path).await));
    }
    for (what, page) in &pages {
        let text = page_text(&page.body);
        assert!(!text.contains("<script>"), "{what}: {}", page.body);
        assert!(!text.contains("49"), "{what}: {}", page.body);
    }
}

// ---------------------------------------------------------------------------------------------
// Token endpoint and clients
// ---------------------------------------------------------------------------------------------

/// RFC 6749 §5.2's codes, `temporarily_unavailable` (§4.1.2.1) for a 503, and Spring's
/// `method_not_allowed`, which its clients already know from a 405.
const REGISTERED_ERRORS: [&str; 8] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "temporarily_unavailable",
    "method_not_allowed",
];

fn assert_clean_token_answer(answer: &Answer, what: &str) {
    assert_eq!(answer.header("cache-control"), "no-store", "{what}");
    assert_eq!(answer.header("pragma"), "no-cache", "{what}");
    assert!(
        answer
            .header("content-type")
            .starts_with("application/json"),
        "{what}"
    );
    let json = answer.json();
    if answer.status == 200 {
        assert!(json["access_token"].is_string(), "{what}: {}", answer.body);
        return;
    }
    let fields = json.as_object().unwrap();
    assert_eq!(fields.len(), 2, "{what}: {}", answer.body);
    let error = fields["error"].as_str().unwrap();
    assert!(
        REGISTERED_ERRORS.contains(&error),
        "{what}: {}",
        answer.body
    );
    let description = fields["error_description"].as_str().unwrap();
    assert!(
        !description.chars().any(char::is_control),
        "{what}: {description:?}"
    );
}

async fn item_14_every_token_response_is_no_store_and_errors_are_clean_json(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("cc-only", "client_credentials", |_| {});
    let form = Some("application/x-www-form-urlencoded");
    for path in ["/oauth/token", "/oauth2/token"] {
        let dev = Some(("dev", "11"));
        let refresh_token = app.password_grant().await.field("refresh_token");
        let code = code(&app, WALKTHROUGH).await;
        let mut answers = vec![
            (
                "ok: client_credentials",
                app.post_form(path, &[("grant_type", "client_credentials")], dev)
                    .await,
            ),
            (
                "ok: password",
                app.post_form(
                    path,
                    &[
                        ("grant_type", "password"),
                        ("username", "admin"),
                        ("password", "123456"),
                    ],
                    dev,
                )
                .await,
            ),
            (
                "ok: refresh_token",
                app.post_form(
                    path,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &refresh_token),
                    ],
                    dev,
                )
                .await,
            ),
            (
                "ok: authorization_code",
                app.post_form(
                    path,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", "http://www.baidu.com"),
                    ],
                    dev,
                )
                .await,
            ),
            (
                "no client authentication",
                app.post_form(path, &[("grant_type", "client_credentials")], None)
                    .await,
            ),
            (
                "wrong secret",
                app.post_form(
                    path,
                    &[("grant_type", "client_credentials")],
                    Some(("dev", "12")),
                )
                .await,
            ),
            (
                "unknown client",
                app.post_form(
                    path,
                    &[("grant_type", "client_credentials")],
                    Some(("nobody", "x")),
                )
                .await,
            ),
            (
                "no grant type",
                app.post_form(path, &[("scope", "app")], dev).await,
            ),
            (
                "unknown grant type",
                app.post_form(path, &[("grant_type", "magic")], dev).await,
            ),
            (
                "grant not registered",
                app.post_form(
                    path,
                    &[
                        ("grant_type", "password"),
                        ("username", "admin"),
                        ("password", "123456"),
                    ],
                    Some(("cc-only", "s3cret")),
                )
                .await,
            ),
            (
                "wrong password",
                app.post_form(
                    path,
                    &[
                        ("grant_type", "password"),
                        ("username", "admin"),
                        ("password", "wrong"),
                    ],
                    dev,
                )
                .await,
            ),
            (
                "unknown code",
                app.post_form(
                    path,
                    &[("grant_type", "authorization_code"), ("code", "nope")],
                    dev,
                )
                .await,
            ),
            (
                "scope not allowed",
                app.post_form(
                    path,
                    &[("grant_type", "client_credentials"), ("scope", "admin")],
                    dev,
                )
                .await,
            ),
            (
                "repeated parameter",
                raw_post(
                    &app,
                    path,
                    form,
                    b"grant_type=client_credentials&scope=app&scope=app".to_vec(),
                )
                .await,
            ),
            (
                "not UTF-8",
                raw_post(&app, path, form, b"grant_type=\xff".to_vec()).await,
            ),
            (
                "not a form",
                raw_post(&app, path, Some("application/json"), b"{}".to_vec()).await,
            ),
            (
                "too large",
                raw_post(&app, path, form, vec![b'a'; 64 * 1024]).await,
            ),
            (
                "parameters in the query string",
                answer(
                    app.http
                        .post(app.url(&format!("{path}?grant_type=client_credentials")))
                        .basic_auth("dev", Some("11"))
                        .send()
                        .await
                        .unwrap(),
                )
                .await,
            ),
            (
                "wrong method",
                answer(app.http.get(app.url(path)).send().await.unwrap()).await,
            ),
            (
                "CR LF in the Basic credentials",
                answer(
                    app.http
                        .post(app.url(path))
                        .header(
                            "Authorization",
                            format!("Basic {}", STANDARD.encode("dev\r\n:11")),
                        )
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await
                        .unwrap(),
                )
                .await,
            ),
        ];
        // CR and LF anywhere a value can reach a description (header injection, log forging).
        for body in [
            "grant_type=client%0D%0Acredentials",
            "grant_type=client_credentials&scope=app%0D%0ASet-Cookie:%20x=1",
            "grant_type=client_credentials&scope=%0Aadmin",
            "grant_type=password&username=ad%0Amin&password=x",
            "grant_type=authorization_code&code=a%0D%0Ab",
            "grant_type=refresh_token&refresh_token=a%0Ab",
        ] {
            answers.push((body, raw_post(&app, path, form, body.into()).await));
        }
        answers.push((
            "CR LF in the client_id",
            app.post_form(
                path,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "dev\r\n"),
                    ("client_secret", "11"),
                ],
                None,
            )
            .await,
        ));
        for (what, answer) in &answers {
            assert_eq!(
                answer.status == 200,
                what.starts_with("ok:"),
                "{path} {what}: {}",
                answer.body
            );
            assert_clean_token_answer(answer, &format!("{path} {what}"));
        }
    }
}

fn assert_bcrypt(stored: &str, what: &str) {
    let hash = stored.strip_prefix("{bcrypt}").unwrap_or(stored);
    assert!(
        hash.len() == 60 && ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)),
        "{what} is not stored as a bcrypt hash: {stored}"
    );
}

/// Whatever writes a secret, the demo seed or the command line, writes a bcrypt hash of it.
async fn item_15_secrets_and_passwords_are_stored_as_bcrypt_hashes(backend: Backend) {
    let Some((db, url)) = TestDb::create(backend) else {
        return;
    };
    crate::cli::ok(&url, &["migrate"]);
    crate::cli::ok(
        &url,
        &[
            "client",
            "add",
            "--client-id",
            "ci",
            "--secret",
            "ci-secret",
            "--scope",
            "read",
            "--grant-types",
            "password",
        ],
    );
    crate::cli::ok(
        &url,
        &[
            "user",
            "add",
            "--username",
            "dora",
            "--password",
            "first",
            "--authorities",
            "ROLE_USER",
        ],
    );
    crate::cli::ok(
        &url,
        &[
            "user",
            "passwd",
            "--username",
            "dora",
            "--password",
            "second",
        ],
    );
    let app = start(db, test_settings(&url)).await;
    {
        use auth_server::db::schema::{oauth_client_details as c, users as u};
        use diesel::prelude::*;
        let mut conn = app.store.conn().unwrap();
        let secrets: Vec<(String, Option<String>)> = c::table
            .select((c::client_id, c::client_secret))
            .load(&mut *conn)
            .unwrap();
        let passwords: Vec<(String, String)> = u::table
            .select((u::username, u::password))
            .load(&mut *conn)
            .unwrap();
        assert_eq!(secrets.len(), 3, "{secrets:?}");
        for (id, secret) in &secrets {
            assert_bcrypt(secret.as_deref().unwrap_or_default(), id);
        }
        assert_eq!(passwords.len(), 2);
        for (username, password) in &passwords {
            assert_bcrypt(password, username);
        }
    }
    // And they are hashes of what was given.
    let token = app
        .token_basic(
            ("ci", "ci-secret"),
            &[
                ("grant_type", "password"),
                ("username", "dora"),
                ("password", "second"),
            ],
        )
        .await;
    assert_eq!(token.status, 200, "{}", token.body);
}

/// SECURITY.md item 15: an unknown user, a `{noop}` user, a wrong password, an unknown client and
/// a `{noop}` client each cost exactly one bcrypt verification at the configured cost, so the time
/// of an answer tells neither who exists nor how a secret is stored. Counted, not timed: on a
/// shared 2-core machine wall-clock comparisons are noise, the work done is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_15_an_unknown_user_costs_as_much_as_a_wrong_password() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    app.add_client("plain", "password", |_| {});
    app.add_user("plainuser", "pw", &["ROLE_USER"]);
    // "plain" is stored as {noop}s3cret, so its own checks cost bcrypt too; the first one below
    // warms nothing (failures are never remembered).
    let bcrypt_work_of = |username: &'static str| {
        let app = &app;
        async move {
            let before = app.passwords.bcrypt_runs();
            app.token_basic(
                ("plain", "s3cret"),
                &[
                    ("grant_type", "password"),
                    ("username", username),
                    ("password", "wrong"),
                ],
            )
            .await
            .assert_error(400, "invalid_grant", "Bad credentials");
            app.passwords.bcrypt_runs() - before
        }
    };
    // The first request verifies the client secret once too; after that it is remembered.
    bcrypt_work_of("admin").await;
    assert_eq!(bcrypt_work_of("admin").await, 1, "wrong password");
    assert_eq!(bcrypt_work_of("nobody").await, 1, "unknown user");
    assert_eq!(bcrypt_work_of("plainuser").await, 1, "{{noop}} user");

    let client_work_of = |client: &'static str| {
        let app = &app;
        async move {
            let before = app.passwords.bcrypt_runs();
            app.token_basic((client, "wrong"), &[("grant_type", "client_credentials")])
                .await
                .assert_error(401, "invalid_client", "Bad client credentials");
            app.passwords.bcrypt_runs() - before
        }
    };
    assert_eq!(client_work_of("nobody").await, 1, "unknown client");
    assert_eq!(client_work_of("plain").await, 1, "{{noop}} client");
    assert_eq!(
        client_work_of("dev").await,
        1,
        "bcrypt client, wrong secret"
    );
}

/// Concurrent grants for one user and client: Spring's JdbcTokenStore failed exactly here, with
/// duplicate-key errors. Then a large sample, from the grant that does no bcrypt.
async fn item_16_thousands_of_tokens_issued_over_http_are_256_bit_and_distinct(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut tokens = HashSet::new();
    let mut keep = |token: String| {
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&token).map(|b| b.len()).ok(),
            Some(32),
            "256 random bits: {token}"
        );
        assert!(tokens.insert(token), "issued twice");
    };
    let requests = (0..50).map(|_| app.password_grant());
    for answer in futures_util::future::join_all(requests).await {
        assert_eq!(answer.status, 200, "{}", answer.body);
        keep(answer.field("access_token"));
        keep(answer.field("refresh_token"));
    }
    for _ in 0..HTTP_SAMPLE / 50 {
        let requests = (0..50)
            .map(|_| app.token_basic(("dev", "11"), &[("grant_type", "client_credentials")]));
        for answer in futures_util::future::join_all(requests).await {
            keep(answer.field("access_token"));
        }
    }
    assert_eq!(tokens.len(), 100 + HTTP_SAMPLE);
}

const HTTP_SAMPLE: usize = 10_000;

#[test]
fn item_16_a_hundred_thousand_generated_tokens_are_256_bit_and_distinct() {
    let tokens: HashSet<String> = (0..100_000)
        .map(|_| token_value::generate(TokenFormat::Random))
        .collect();
    assert_eq!(tokens.len(), 100_000);
    for token in &tokens {
        assert_eq!(
            URL_SAFE_NO_PAD.decode(token).map(|b| b.len()).ok(),
            Some(32),
            "{token}"
        );
    }
}

async fn item_16_the_uuid_format_gives_spring_style_tokens(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.tokens.format = TokenFormat::Uuid).await else {
        return;
    };
    let password = app.password_grant().await;
    for token in [
        password.field("access_token"),
        password.field("refresh_token"),
    ] {
        assert_eq!(
            uuid::Uuid::parse_str(&token)
                .expect("a UUID")
                .get_version_num(),
            4
        );
    }
}

async fn item_18_client_credentials_issues_no_refresh_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let answer = app
        .token_basic(("dev", "11"), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.json().get("refresh_token").is_none(),
        "{}",
        answer.body
    );
}

async fn item_18_implicit_puts_the_token_only_in_the_fragment(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let browser = app.browser();
    let location = browser
        .code_for("response_type=token&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz")
        .await;
    assert!(
        location.starts_with("http://www.baidu.com/#access_token="),
        "{location}"
    );
    let url = url::Url::parse(&location).unwrap();
    assert_eq!(url.query(), None, "nothing in the query");
    let fragment = url.fragment().unwrap();
    let keys: Vec<&str> = fragment
        .split('&')
        .map(|p| p.split('=').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["access_token", "token_type", "expires_in", "state"],
        "{fragment}"
    );
    let params = params_of(&location);
    assert_eq!(
        (
            params["token_type"].as_str(),
            params["expires_in"].as_str(),
            params["state"].as_str()
        ),
        ("bearer", "3600", "xyz")
    );
    let check = app
        .post_form(
            "/oauth/check_token",
            &[("token", &params["access_token"])],
            Some(("resource", "resource-secret")),
        )
        .await;
    assert_eq!(check.json()["user_name"], "admin");
    // A client without the implicit grant gets unauthorized_client, in the fragment.
    app.add_client("codeonly", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://c.example/cb".into())
    });
    let refused = browser
        .authorize("response_type=token&client_id=codeonly&state=s")
        .await;
    assert_eq!(
        refused.header("location"),
        "https://c.example/cb#error=unauthorized_client&error_description=Unauthorized+grant+type%3A+implicit&state=s"
    );
}

// ---------------------------------------------------------------------------------------------
// Introspection and the resource server
// ---------------------------------------------------------------------------------------------

async fn item_19_a_revoked_token_is_inactive_at_both_endpoints(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let code = code(&app, WALKTHROUGH).await;
    let first = exchange(&app, &code, &[]).await;
    let (access, refresh) = (first.field("access_token"), first.field("refresh_token"));
    assert_eq!(
        introspect(&app, &[("token", &access)]).await.json()["active"],
        true
    );
    // A replayed code revokes what the first exchange issued.
    assert_eq!(exchange(&app, &code, &[]).await.status, 400);
    for token in [&access, &refresh] {
        for hint in [None, Some("access_token"), Some("refresh_token")] {
            let mut form = vec![("token", token.as_str())];
            form.extend(hint.map(|hint| ("token_type_hint", hint)));
            let answer = introspect(&app, &form).await;
            assert_eq!(
                (answer.status, answer.body.as_str()),
                (200, r#"{"active":false}"#),
                "{hint:?}"
            );
        }
    }
    let refused = check(&app, &access).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let json = refused.json();
    assert_eq!(json["error"], "invalid_token");
    assert_eq!(json.as_object().unwrap().len(), 2, "{}", refused.body);
}

async fn item_19_only_authenticated_trusted_clients_may_introspect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.password_grant().await.field("access_token");
    for path in ["/oauth/check_token", "/oauth2/introspect"] {
        app.post_form(path, &[("token", &token)], None)
            .await
            .assert_error(401, "invalid_client", "Client authentication is required");
        app.post_form(path, &[("token", &token)], Some(("resource", "wrong")))
            .await
            .assert_error(401, "invalid_client", "Bad client credentials");
        app.post_form(path, &[("token", &token)], Some(("dev", "11")))
            .await
            .assert_error(403, "access_denied", "Access is denied");
    }
    // A public client cannot authenticate, so it may not introspect even when trusted.
    app.add_client("trusted-but-public", "authorization_code", |row| {
        row.client_secret = None;
        row.authorities = Some("ROLE_TRUSTED_CLIENT".into());
    });
    app.post_form(
        "/oauth/check_token",
        &[("token", &token), ("client_id", "trusted-but-public")],
        None,
    )
    .await
    .assert_error(403, "access_denied", "Access is denied");
    // Any client holding ROLE_TRUSTED_CLIENT may, as in Spring's usual checkTokenAccess.
    app.add_client("gateway", "client_credentials", |row| {
        row.authorities = Some("ROLE_TRUSTED_CLIENT".into())
    });
    let answer = app
        .post_form(
            "/oauth/check_token",
            &[("token", &token)],
            Some(("gateway", "s3cret")),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

async fn item_19_check_token_refuses_unknown_and_expired_tokens_with_springs_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    check(&app, "no-such-token").await.assert_error(
        400,
        "invalid_token",
        "Token was not recognised",
    );
    // Two seconds, not one: a token of one second can expire before a slow machine checks it.
    app.add_client("brief", "client_credentials", |row| {
        row.access_token_validity = Some(2)
    });
    let token = app
        .token_basic(("brief", "s3cret"), &[("grant_type", "client_credentials")])
        .await
        .field("access_token");
    assert_eq!(check(&app, &token).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    check(&app, &token)
        .await
        .assert_error(400, "invalid_token", "Token has expired");
    // A refresh token is not an access token, for check_token.
    let refresh = app.password_grant().await.field("refresh_token");
    check(&app, &refresh)
        .await
        .assert_error(400, "invalid_token", "Token was not recognised");
}

async fn item_19_an_unknown_or_expired_token_is_exactly_active_false(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.password_grant().await.field("access_token");
    let answer = introspect(&app, &[("token", &token)]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), "no-store");
    let json = answer.json();
    assert_eq!(json["active"], true);
    assert_eq!(json["scope"], "app");
    assert_eq!(json["client_id"], "dev");
    assert_eq!(json["username"], "admin");
    assert_eq!(json["sub"], "admin");
    assert_eq!(json["token_type"], "bearer");
    let (iat, exp) = (json["iat"].as_i64().unwrap(), json["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    for unknown in ["nope", "x".repeat(300).as_str()] {
        let inactive = introspect(&app, &[("token", unknown)]).await;
        assert_eq!(
            (inactive.status, inactive.body.as_str()),
            (200, r#"{"active":false}"#)
        );
    }
    app.add_client("brief", "client_credentials", |row| {
        row.access_token_validity = Some(1)
    });
    let brief = app
        .token_basic(("brief", "s3cret"), &[("grant_type", "client_credentials")])
        .await
        .field("access_token");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        introspect(&app, &[("token", &brief)]).await.body,
        r#"{"active":false}"#
    );
}

async fn item_19_a_rotated_refresh_token_is_inactive(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("rot", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":true}"#.into())
    });
    let refresh = app
        .token_basic(
            ("rot", "s3cret"),
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "123456"),
            ],
        )
        .await
        .field("refresh_token");
    let hinted = introspect(
        &app,
        &[("token", &refresh), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(hinted.json()["active"], true);
    assert_eq!(
        hinted.json()["token_type"],
        "refresh_token",
        "never mistaken for a bearer token"
    );
    let unhinted = introspect(&app, &[("token", &refresh)]).await;
    assert_eq!(
        unhinted.json()["active"],
        true,
        "the hint only orders the search"
    );
    app.token_basic(
        ("rot", "s3cret"),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await
    .field("refresh_token");
    assert_eq!(
        introspect(&app, &[("token", &refresh)]).await.body,
        r#"{"active":false}"#
    );
}

async fn item_21_no_token_or_a_bad_token_gets_rfc_6750_answers(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let none = get(&app, "/hi?name=1111", None).await;
    none.assert_error(
        401,
        "unauthorized",
        "Full authentication is required to access this resource",
    );
    assert_eq!(
        none.header("www-authenticate"),
        r#"Bearer realm="oauth2-resource""#
    );
    let bad = get(&app, "/hi?name=1111", Some("not-a-token")).await;
    bad.assert_error(401, "invalid_token", "Invalid access token");
    assert!(bad
        .header("www-authenticate")
        .contains(r#"error="invalid_token""#));
    let token = app.password_grant().await.field("access_token");
    get(
        &app,
        &format!("/hi?name=1&access_token={token}"),
        Some(&token),
    )
    .await
    .assert_error(
        400,
        "invalid_request",
        "The access token must be sent in exactly one way",
    );
    get(&app, "/hi", Some(&token)).await.assert_error(
        400,
        "invalid_request",
        "Missing parameter: name",
    );
    // Authentication comes first: no token and no name is a 401.
    assert_eq!(get(&app, "/hi", None).await.status, 401);
}

async fn item_21_an_expired_or_revoked_token_is_invalid_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Two seconds, not one: a token of one second can expire before a slow machine checks it.
    app.add_client("brief", "client_credentials", |row| {
        row.access_token_validity = Some(2)
    });
    let brief = app
        .token_basic(("brief", "s3cret"), &[("grant_type", "client_credentials")])
        .await
        .field("access_token");
    let fresh = get(&app, "/hi?name=a", Some(&brief)).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    get(&app, "/hi?name=a", Some(&brief)).await.assert_error(
        401,
        "invalid_token",
        "Access token expired",
    );
    // Revocation: a rotated refresh token reused revokes its family, access tokens included.
    app.add_client("rot", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":true}"#.into())
    });
    let first = app
        .token_basic(
            ("rot", "s3cret"),
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "123456"),
            ],
        )
        .await;
    let access = first.field("access_token");
    let refresh = first.field("refresh_token");
    assert_eq!(get(&app, "/hi?name=a", Some(&access)).await.status, 200);
    for _ in 0..2 {
        app.token_basic(
            ("rot", "s3cret"),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    }
    get(&app, "/hi?name=a", Some(&access)).await.assert_error(
        401,
        "invalid_token",
        "Invalid access token",
    );
}

async fn item_21_a_token_for_another_resource_is_invalid_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("for-hi", "client_credentials", |row| {
        row.resource_ids = Some("hi".into())
    });
    let token = app
        .token_basic(
            ("for-hi", "s3cret"),
            &[("grant_type", "client_credentials")],
        )
        .await
        .field("access_token");
    get(&app, "/hi?name=a", Some(&token)).await.assert_error(
        401,
        "invalid_token",
        "Invalid token does not contain resource id (oauth2-resource)",
    );
}

/// The resource server's `resource.required_scope`, here on the auth server's own guard.
async fn item_21_a_missing_scope_is_403_insufficient_scope(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.resource.required_scope = shared::Scope::parse("write").unwrap()
    })
    .await
    else {
        return;
    };
    let token = app.password_grant().await.field("access_token");
    let answer = get(&app, "/hi?name=a", Some(&token)).await;
    answer.assert_error(
        403,
        "insufficient_scope",
        "Insufficient scope for this resource",
    );
    let challenge = answer.header("www-authenticate");
    assert!(
        challenge.starts_with(r#"Bearer realm="oauth2-resource""#)
            && challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    app.add_client("writer", "client_credentials", |row| {
        row.scope = Some("app,write".into())
    });
    let writer = app
        .token_basic(
            ("writer", "s3cret"),
            &[("grant_type", "client_credentials")],
        )
        .await
        .field("access_token");
    assert_eq!(get(&app, "/hi?name=a", Some(&writer)).await.status, 200);
    // Authentication still comes first.
    assert_eq!(get(&app, "/hi?name=a", None).await.status, 401);
}

// ---------------------------------------------------------------------------------------------
// Faults and input
// ---------------------------------------------------------------------------------------------

/// SECURITY.md item 22 in its first form: the database gone, answers are 503 JSON, never a lie
/// such as "invalid_client", and never a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_22_with_the_database_gone_answers_are_503_json_and_never_a_lie() {
    let Some(app) = crate::helpers::spawn_app_with(Backend::Postgres, |s| {
        s.database.connect_timeout_ms = 500;
    })
    .await
    else {
        return;
    };
    let issued = app.password_grant().await.field("access_token");
    app.db.drop_now();
    let token = app.password_grant().await;
    token.assert_error(
        503,
        "temporarily_unavailable",
        "The service is temporarily unavailable; try again later",
    );
    assert_eq!(token.header("retry-after"), "1");
    let cc = app
        .token_basic(("dev", "11"), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(cc.status, 503, "{}", cc.body);
    // Without the database an unknown client cannot be told from a known one.
    let unknown = app
        .token_basic(("nobody", "x"), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(unknown.status, 503, "{}", unknown.body);
    // Nor a live token from a revoked one.
    for path in ["/oauth/check_token", "/oauth2/introspect"] {
        let introspected = app
            .post_form(
                path,
                &[("token", &issued)],
                Some(("resource", "resource-secret")),
            )
            .await;
        assert_eq!(introspected.status, 503, "{path}: {}", introspected.body);
        assert_eq!(introspected.json()["error"], "temporarily_unavailable");
    }
    let hi = get(&app, "/hi?name=a", Some(&issued)).await;
    assert_eq!(hi.status, 503, "{}", hi.body);
    assert_eq!(hi.json()["error"], "temporarily_unavailable");
    // Nor a right password from a wrong one: no "Bad credentials" at the login form.
    let signed_in = app.browser().sign_in("admin", "123456").await;
    assert_eq!(signed_in.status, 503, "{}", signed_in.body);
    assert_secure_headers(&signed_in, "the login form's 503 page");
    let health = answer(app.http.get(app.url("/health")).send().await.unwrap()).await;
    assert_eq!(health.status, 503);
    assert_eq!(health.body, r#"{"status":"DOWN"}"#);
}

/// A PostgreSQL restart kills every pooled connection behind the server's back. The first request
/// may find a dead one and answer 503; from then on connections are checked before use, dead ones
/// replaced, and service resumes by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_22_connections_killed_by_the_database_are_replaced() {
    let Some(app) = crate::helpers::spawn_app(Backend::Postgres).await else {
        return;
    };
    let warm = futures_util::future::join_all((0..8).map(|_| app.password_grant())).await;
    assert!(warm.iter().all(|a| a.status == 200));
    let crate::helpers::TestDb::Postgres { admin_url, name } = &app.db else {
        unreachable!()
    };
    {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
        admin
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .unwrap();
    }
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let answer = app.password_grant().await;
        statuses.push(answer.status);
        assert_ne!(answer.status, 500, "{}", answer.body);
        if statuses.ends_with(&[200, 200, 200]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        statuses.ends_with(&[200, 200, 200]),
        "did not recover: {statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 503).count() <= 2,
        "{statuses:?}"
    );
}

async fn item_23_a_repeated_parameter_is_invalid_request(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    raw_post(
        &app,
        "/oauth/token",
        Some("application/x-www-form-urlencoded"),
        b"grant_type=client_credentials&scope=app&scope=app".to_vec(),
    )
    .await
    .assert_error(400, "invalid_request", "Repeated parameter: scope");
}

async fn item_23_a_body_that_is_not_a_form_is_415(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let answer = raw_post(
            &app,
            "/oauth/token",
            content_type,
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        )
        .await;
        answer.assert_error(
            415,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        );
    }
    let with_charset = raw_post(
        &app,
        "/oauth/token",
        Some("application/x-www-form-urlencoded; charset=UTF-8"),
        b"grant_type=client_credentials".to_vec(),
    )
    .await;
    assert_eq!(with_charset.status, 200, "{}", with_charset.body);
}

async fn item_23_a_huge_body_is_413(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut body = b"grant_type=client_credentials&padding=".to_vec();
    body.extend(std::iter::repeat_n(b'a', 2 * 1024 * 1024));
    raw_post(
        &app,
        "/oauth/token",
        Some("application/x-www-form-urlencoded"),
        body,
    )
    .await
    .assert_error(413, "invalid_request", "Request body too large");
}

async fn item_23_bytes_that_are_not_utf8_are_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for body in [
        &b"grant_type=password&username=%FF%FE&password=x"[..],
        b"grant_type=password&username=\xff\xfe&password=x",
    ] {
        raw_post(
            &app,
            "/oauth/token",
            Some("application/x-www-form-urlencoded"),
            body.to_vec(),
        )
        .await
        .assert_error(
            400,
            "invalid_request",
            "Malformed request: parameters must be UTF-8 and form-encoded",
        );
    }
}

/// PostgreSQL cannot store NUL: such input must be refused as malformed, not reach the database
/// and come back as a 503.
async fn item_23_nul_cr_and_lf_are_400_on_every_backend(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for body in [
        &b"grant_type=password&username=ad%00min&password=x"[..],
        b"grant_type=client_credentials&client_id=d%00ev&client_secret=11",
        b"grant_type=password&username=admin&password=1%0D%0A23456",
    ] {
        let response = app
            .http
            .post(app.url("/oauth/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        answer(response).await.assert_error(
            400,
            "invalid_request",
            "Malformed request: parameters must be UTF-8 and form-encoded",
        );
    }
    let nul_in_basic = app
        .http
        .post(app.url("/oauth/token"))
        .header("Authorization", "Basic ZABldjoxMQ==")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    answer(nul_in_basic).await.assert_error(
        401,
        "invalid_client",
        "Malformed client credentials in the Authorization header",
    );
}

async fn item_23_other_methods_are_405_with_allow(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = app
            .http
            .request(method.clone(), app.url("/oauth/token"))
            .send()
            .await
            .unwrap();
        let answer = answer(response).await;
        answer.assert_error(405, "method_not_allowed", "Request method not supported");
        assert_eq!(answer.header("allow"), "POST", "{method}");
    }
    let response = app.http.post(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 405);
}

async fn item_23_oversized_authorization_requests_are_refused_before_they_reach_the_session(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let browser = app.browser();
    // Unknown parameters are ignored and never stored.
    let padded = browser
        .authorize(&format!("{WALKTHROUGH}&padding={}", "x".repeat(3000)))
        .await;
    assert_eq!((padded.status, padded.header("location")), (303, "/login"));
    let cookie_sizes: Vec<usize> = padded
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.len())
        .collect();
    assert!(cookie_sizes.iter().all(|n| *n < 4000), "{cookie_sizes:?}");
    // A long state is refused back to the client, without echoing it.
    let long_state = browser
        .authorize(&format!(
            "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state={}",
            "%C3%A9".repeat(300)
        ))
        .await;
    let params = params_of(long_state.header("location"));
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["error_description"], "Parameter too long: state");
    assert!(!params.contains_key("state"));
    // Known parameters too long to keep: an error page, still with the security headers.
    let huge = browser
        .authorize(&format!("{WALKTHROUGH}&scope={}", "a".repeat(2100)))
        .await;
    assert_eq!(huge.status, 400, "{}", huge.body);
    assert_eq!(huge.header("x-frame-options"), "DENY");
    assert!(huge.body.contains("Parameter too long"), "{}", huge.body);
}

/// Each kind of malformed input, at every endpoint that reads a form, a query or a method.
async fn item_23_every_endpoint_answers_malformed_input_with_a_clear_4xx(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.password_grant().await.field("access_token");
    let form = "application/x-www-form-urlencoded";
    // Each endpoint finds the parameter it reads repeated, broken or oversized.
    let known = [
        "grant_type",
        "token",
        "username",
        "_csrf",
        "user_oauth_approval",
    ];
    let each = |value: &str| -> Vec<u8> {
        known
            .iter()
            .map(|name| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    };
    let mut repeated = each("a");
    repeated.push(b'&');
    repeated.extend(each("b"));
    let mut raw_not_utf8 = each("a");
    raw_not_utf8.extend(b"&username=\xff\xfe&token=\xff&grant_type=\xff");
    let bodies: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        ("repeated parameters", Some(form), repeated),
        (
            "percent-encoded bytes that are not UTF-8",
            Some(form),
            each("%FF%FE"),
        ),
        ("raw bytes that are not UTF-8", Some(form), raw_not_utf8),
        ("NUL", Some(form), each("a%00b")),
        (
            "JSON",
            Some("application/json"),
            br#"{"token":"x"}"#.to_vec(),
        ),
        (
            "multipart",
            Some("multipart/form-data; boundary=x"),
            b"--x--".to_vec(),
        ),
        ("no content type", None, each("a")),
        ("a huge body", Some(form), vec![b'a'; 2 * 1024 * 1024]),
    ];
    for path in [
        "/oauth/token",
        "/oauth2/token",
        "/oauth/check_token",
        "/oauth2/introspect",
        "/login",
        "/logout",
        "/oauth/authorize",
    ] {
        for (what, content_type, body) in &bodies {
            let mut request = app
                .http
                .post(app.url(path))
                .basic_auth("resource", Some("resource-secret"))
                .body(body.clone());
            if let Some(content_type) = content_type {
                request = request.header("Content-Type", *content_type);
            }
            let answer = answer(request.send().await.unwrap()).await;
            assert!(
                (400..500).contains(&answer.status) && !answer.body.is_empty(),
                "{path}, {what}: {} {}",
                answer.status,
                answer.body
            );
        }
    }
    for (path, allowed) in [
        ("/oauth/token", "POST"),
        ("/oauth2/token", "POST"),
        ("/oauth/check_token", "POST"),
        ("/oauth2/introspect", "POST"),
        ("/logout", "POST"),
        ("/login", "GET, POST"),
        ("/oauth/authorize", "GET, POST"),
        ("/oauth/confirm_access", "GET"),
        ("/hi", "GET"),
        ("/me", "GET"),
        ("/health", "GET"),
    ] {
        for method in [
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
            reqwest::Method::PATCH,
        ] {
            let answer = answer(
                app.http
                    .request(method.clone(), app.url(path))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(answer.status, 405, "{method} {path}: {}", answer.body);
            assert_eq!(answer.header("allow"), allowed, "{method} {path}");
        }
    }
    let browser = app.browser();
    for path in [
        "/oauth/authorize?response_type=code&client_id=%FF".to_owned(),
        "/oauth/authorize?response_type=code&client_id=d%00ev".to_owned(),
        "/oauth/authorize?response_type=code&client_id=dev&client_id=dev".to_owned(),
        format!("/hi?name=%FF&access_token={token}"),
        format!("/hi?name=a&name=b&access_token={token}"),
        format!("/hi?name=a&access_token={token}&access_token={token}"),
        format!("/me?access_token=%FF{token}"),
    ] {
        let answer = browser.get(&path).await;
        assert!(
            (400..500).contains(&answer.status) && !answer.body.is_empty(),
            "{path}: {} {}",
            answer.status,
            answer.body
        );
    }
}

// Item 17: password guessing at the password grant and the login form.

async fn guess(app: &TestApp, username: &str, password: &str) -> Answer {
    guess_from(app, username, password, None).await
}

async fn guess_from(
    app: &TestApp,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> Answer {
    let mut request = app.http.post(app.url("/oauth/token")).form(&[
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
        ("client_id", "dev"),
        ("client_secret", "11"),
    ]);
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    answer(request.send().await.unwrap()).await
}

fn assert_locked(answer: &Answer, lockout_seconds: u64) {
    answer.assert_error(
        429,
        "invalid_grant",
        "Too many failed sign-in attempts; try again later",
    );
    let wait: u64 = answer.header("retry-after").parse().unwrap();
    assert!((1..=lockout_seconds).contains(&wait), "Retry-After {wait}");
}

/// Per account, from any address, at both endpoints that check a password; a locked account costs
/// no bcrypt work, even when the password is right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_17_an_account_is_locked_after_repeated_failures_at_every_password_endpoint() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.brute_force.max_failures_per_user = 3;
        s.brute_force.max_failures_per_address = 0;
        s.brute_force.lockout_seconds = 60;
        // Addresses vary below: only the account can be what is counted.
        s.brute_force.trust_forwarded_for = true;
    })
    .await
    else {
        return;
    };
    for n in 1..=3 {
        guess_from(&app, "admin", "wrong", Some(&format!("10.0.0.{n}")))
            .await
            .assert_error(400, "invalid_grant", "Bad credentials");
    }
    let bcrypt_before = app.passwords.bcrypt_runs();
    let locked = guess_from(&app, "admin", "123456", Some("10.0.0.9")).await;
    assert_locked(&locked, 60);
    assert_eq!(locked.header("cache-control"), "no-store");
    assert_eq!(app.passwords.bcrypt_runs(), bcrypt_before);

    // The login form shares the count: the page comes back with 429 and the wait, no session.
    let browser = app.browser();
    let page = browser.sign_in("admin", "123456").await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert!(page.body.contains("Too many failed sign-in attempts"));
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert!(!csrf_of(&page.body).is_empty(), "the form is shown again");
    assert!(browser.get("/login").await.body.contains("Sign in"));

    // Other accounts are untouched.
    app.add_user("alice", "pw", &["ROLE_USER"]);
    assert_eq!(guess(&app, "alice", "pw").await.status, 200);
}

/// Per client address, whatever the account (a spray of one password over many usernames), and
/// an `X-Forwarded-For` a client writes itself is not believed unless configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_17_an_address_is_locked_after_repeated_failures_on_any_account() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.brute_force.max_failures_per_user = 0;
        s.brute_force.max_failures_per_address = 4;
    })
    .await
    else {
        return;
    };
    for user in ["a", "b", "c", "d"] {
        guess_from(
            &app,
            user,
            "Summer2026!",
            Some(&format!("10.9.9.{}", user.len())),
        )
        .await
        .assert_error(400, "invalid_grant", "Bad credentials");
    }
    // A new header does not make a new address: the peer (127.0.0.1) is what counts.
    assert_locked(
        &guess_from(&app, "admin", "123456", Some("10.1.2.3")).await,
        60,
    );
    let browser = app.browser();
    assert_eq!(browser.sign_in("e", "Summer2026!").await.status, 429);
}

/// A user who mistyped gets in once the lockout has passed, and a success forgets the failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_17_the_lockout_ends_and_a_right_password_clears_the_count() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.brute_force.max_failures_per_user = 2;
        s.brute_force.max_failures_per_address = 0;
        s.brute_force.lockout_seconds = 1;
    })
    .await
    else {
        return;
    };
    for _ in 0..2 {
        assert_eq!(guess(&app, "admin", "typo").await.status, 400);
    }
    assert_locked(&guess(&app, "admin", "123456").await, 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // Through the login form this time: a 303 into the session.
    let browser = app.browser();
    let signed_in = browser.sign_in("admin", "123456").await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.header("location"), "/login");
    // The count started again from zero: one failure is not a lockout.
    assert_eq!(guess(&app, "admin", "typo").await.status, 400);
    assert_eq!(guess(&app, "admin", "123456").await.status, 200);
}

/// Guesses sent all at once are all checked, but past the limit every verdict is the same 429, so a
/// burst learns no more than one guess at a time; a burst of right passwords is never held back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_17_a_burst_of_guesses_learns_nothing_past_the_limit() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.brute_force.max_failures_per_user = 3;
        s.brute_force.max_failures_per_address = 0;
        s.brute_force.lockout_seconds = 1;
    })
    .await
    else {
        return;
    };
    let legit =
        futures_util::future::join_all((0..12).map(|_| guess(&app, "admin", "123456"))).await;
    assert!(
        legit.iter().all(|a| a.status == 200),
        "concurrent sign-ins of one account"
    );
    let statuses = |answers: &[Answer]| answers.iter().map(|a| a.status).collect::<Vec<_>>();
    let count = |answers: &[Answer], status| answers.iter().filter(|a| a.status == status).count();

    let wrong = futures_util::future::join_all((0..12).map(|n| {
        let password = format!("guess{n}");
        let app = &app;
        async move { guess(app, "admin", &password).await }
    }))
    .await;
    assert!(count(&wrong, 400) <= 3, "{:?}", statuses(&wrong));
    assert_eq!(count(&wrong, 429), 12 - count(&wrong, 400));

    // The lockout over, a burst gets one verdict; the right password in it is answered 429 like
    // the rest, unless it happened to be judged first.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let burst = futures_util::future::join_all((0..12).map(|n| {
        let password = if n == 7 {
            "123456".to_owned()
        } else {
            format!("again{n}")
        };
        let app = &app;
        async move { guess(app, "admin", &password).await }
    }))
    .await;
    if count(&burst, 200) == 0 {
        assert!(count(&burst, 400) <= 1, "{:?}", statuses(&burst));
        assert_eq!(count(&burst, 429), 12 - count(&burst, 400));
    }
}

/// Configured off, nothing is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_17_limits_of_zero_switch_the_protection_off() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.brute_force.max_failures_per_user = 0;
        s.brute_force.max_failures_per_address = 0;
    })
    .await
    else {
        return;
    };
    for _ in 0..8 {
        assert_eq!(guess(&app, "admin", "wrong").await.status, 400);
    }
    assert_eq!(guess(&app, "admin", "123456").await.status, 200);
}
