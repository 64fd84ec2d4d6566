//! The introspection cache: one call for many requests, and never past a token's life.

use std::time::Duration;

use crate::helpers::{spawn_auth, spawn_resource, stub};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_for_one_token_cause_one_introspection() {
    // The stub answers slowly, so all fifty requests arrive while the first call is in flight.
    let spring = stub(
        200,
        r#"{"active":true,"client_id":"dev","scope":["app"],"exp":4102444800}"#,
        Duration::from_millis(300),
    )
    .await;
    let resource = spawn_resource(&spring.url, |_| {}).await;
    let answers = futures_util::future::join_all((0..50).map(|_| resource.hi("one-token"))).await;
    assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
    assert_eq!(
        spring.calls(),
        1,
        "one introspection for fifty concurrent requests"
    );
    for _ in 0..20 {
        assert_eq!(resource.hi("one-token").await.status, 200);
    }
    assert_eq!(
        spring.calls(),
        1,
        "later requests are answered from the cache"
    );
    assert_eq!(resource.introspection_calls().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_past_its_exp_is_refused_even_when_cached() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&format!("{}/oauth/check_token", auth.address), |s| {
        s.introspection.cache_ttl_seconds = 300;
    })
    .await;
    auth.add_client("brief", "client_credentials", |row| {
        row.access_token_validity = Some(2)
    });
    let token = auth.client_token("brief", "s3cret").await;
    assert_eq!(resource.hi(&token).await.status, 200);
    assert_eq!(resource.hi(&token).await.status, 200);
    assert_eq!(
        resource.introspection_calls().await,
        1,
        "the second answer came from the cache"
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    // One wording for an expired token, wherever it is presented: on this resource server, on one
    // that never saw it (it learns from check_token's "Token has expired"), and at the auth server.
    let fresh = spawn_resource(&format!("{}/oauth/check_token", auth.address), |_| {}).await;
    for answer in [
        resource.hi(&token).await,
        fresh.hi(&token).await,
        auth.get(&format!("/hi?name=1111&access_token={token}"))
            .await,
    ] {
        answer.assert_error(401, "invalid_token", "Access token expired");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_stops_passing_within_the_cache_ttl() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&format!("{}/oauth/check_token", auth.address), |s| {
        s.introspection.cache_ttl_seconds = 1;
    })
    .await;
    let token = auth.user_token().await;
    assert_eq!(resource.hi(&token).await.status, 200);
    {
        use auth_server::db::schema::oauth_access_token::dsl::*;
        use diesel::prelude::*;
        diesel::delete(oauth_access_token.find(auth_server::domain::token_value::hash(&token)))
            .execute(&mut *auth.store.conn().unwrap())
            .unwrap();
    }
    // Until the cached answer expires, the revoked token still passes: that is the staleness the
    // README documents (cache_ttl_seconds).
    assert_eq!(resource.hi(&token).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(resource.hi(&token).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_answers_are_cached_briefly() {
    let spring = stub(
        400,
        r#"{"error":"invalid_token","error_description":"Token was not recognised"}"#,
        Duration::ZERO,
    )
    .await;
    let resource = spawn_resource(&spring.url, |s| {
        s.introspection.negative_cache_ttl_seconds = 1
    })
    .await;
    for _ in 0..5 {
        resource
            .hi("bad-token")
            .await
            .assert_error(401, "invalid_token", "Invalid access token");
    }
    assert_eq!(spring.calls(), 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(resource.hi("bad-token").await.status, 401);
    assert_eq!(
        spring.calls(),
        2,
        "asked again once the negative answer expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_ttl_disables_the_positive_cache() {
    let spring = stub(
        200,
        r#"{"active":true,"client_id":"dev","scope":["app"]}"#,
        Duration::ZERO,
    )
    .await;
    let resource = spawn_resource(&spring.url, |s| s.introspection.cache_ttl_seconds = 0).await;
    for _ in 0..3 {
        assert_eq!(resource.hi("t").await.status, 200);
    }
    assert_eq!(spring.calls(), 3);
}

/// Removing a client or a user at the auth server ends their tokens here: at once for a token this
/// server never checked, and within `introspection.cache_ttl_seconds` for one it remembers
/// (docs/endpoints.md says how long that can be).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tokens_of_a_removed_client_or_user_end_here_within_the_cache_time() {
    let auth = spawn_auth().await;
    let resource = spawn_resource(&format!("{}/oauth/check_token", auth.address), |s| {
        s.introspection.cache_ttl_seconds = 1;
    })
    .await;
    auth.add_client("doomed", "client_credentials", |_| {});
    auth.add_user("eve", "pw-eve", &["ROLE_USER"]);
    let seen = auth.client_token("doomed", "s3cret").await;
    let unseen = auth.client_token("doomed", "s3cret").await;
    let eve = auth
        .password_grant_as(("dev", "11"), ("eve", "pw-eve"))
        .await
        .field("access_token");
    assert_eq!(resource.hi(&seen).await.status, 200);
    assert_eq!(resource.hi(&eve).await.status, 200);
    {
        use auth_server::db::{clients, users};
        let mut conn = auth.store.conn().unwrap();
        clients::remove(&mut conn, "doomed", auth_server::domain::clock::now()).unwrap();
        users::change_ending_everything(&mut conn, "eve", |c, u| users::set_enabled(c, u, false))
            .unwrap();
    }
    resource
        .hi(&unseen)
        .await
        .assert_error(401, "invalid_token", "Invalid access token");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for token in [&seen, &eve] {
        resource
            .hi(token)
            .await
            .assert_error(401, "invalid_token", "Invalid access token");
    }
}
