//! Java serialization streams from Spring's `JdbcTokenStore` (`auth-server spring import-tokens`):
//! the stream reader and the reading of Spring's tokens and authentications behind it.
//!
//! Whatever the bytes, reading ends in a value or an error: no panic, no hang, no allocation the
//! input did not pay for. A stream that reads must read the same again (the reader holds no state
//! between streams).
#![no_main]

use auth_server::spring::java_stream::Stream;
use auth_server::spring::token_store;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(stream) = Stream::parse(data) {
        // By their text: a stream may hold a NaN, which equals nothing.
        let again = Stream::parse(data).map(|s| format!("{s:?}"));
        assert_eq!(again.ok(), Some(format!("{stream:?}")));
    }
    let access = token_store::access_token(data);
    let refresh = token_store::refresh_token(data);
    let authentication = token_store::authentication(data);
    // One root object is one class: at most one of the three readings succeeds.
    let read = [access.is_ok(), refresh.is_ok(), authentication.is_ok()];
    assert!(read.iter().filter(|ok| **ok).count() <= 1, "{read:?}");
    if let Ok(token) = access {
        assert!(!token.value.is_empty());
    }
});
