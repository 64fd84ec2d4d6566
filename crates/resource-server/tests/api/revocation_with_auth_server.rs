//! A token revoked at the auth server (RFC 7009), seen from a resource server that introspects:
//! refused at once if it was never cached, and within the cache's lifetime if it was.

use std::time::Duration;

use crate::helpers::{spawn_auth, spawn_resource};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_tokens_access_tokens_are_refused_within_the_cache_bound() {
    let auth = spawn_auth().await;
    let ttl = Duration::from_secs(1);
    let resource = spawn_resource(&auth.url("/oauth/check_token"), |s| {
        s.introspection.cache_ttl_seconds = ttl.as_secs();
    })
    .await;
    let grant = auth.password_grant().await;
    let (cached, refresh) = (grant.field("access_token"), grant.field("refresh_token"));
    let refreshed = auth.refresh(("dev", "11"), &refresh, None).await;
    let never_shown = refreshed.field("access_token");
    assert_eq!(resource.hi(&cached).await.status, 200, "cached now");

    let revoked = auth
        .post_form(
            "/oauth2/revoke",
            &[("token", &refresh), ("token_type_hint", "refresh_token")],
            Some(("dev", "11")),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);

    let refused = resource.hi(&never_shown).await;
    assert_eq!(refused.status, 401, "never cached: refused at once");
    assert!(refused.header("www-authenticate").contains("invalid_token"));
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    let refused = resource.hi(&cached).await;
    assert_eq!(
        refused.status, 401,
        "the cached answer outlived introspection.cache_ttl_seconds: {}",
        refused.body
    );
}
