//! What Spring's `JdbcTokenStore` serialized, read back: a `DefaultOAuth2AccessToken` (value,
//! expiry, scope, refresh token), a `DefaultOAuth2RefreshToken` or
//! `DefaultExpiringOAuth2RefreshToken`, and an `OAuth2Authentication` (client, user, scope,
//! authorities, resource ids). Field names are spring-security-oauth2 2.x's; the collections are
//! the JDK's, as Spring built them (see tests/fixtures/spring_token_store).

use super::java_stream::{Annotation, Object, Stream, Unreadable, Value};

const ACCESS_TOKEN: &str = "org.springframework.security.oauth2.common.DefaultOAuth2AccessToken";
const REFRESH_TOKEN: &str = "org.springframework.security.oauth2.common.DefaultOAuth2RefreshToken";
const AUTHENTICATION: &str = "org.springframework.security.oauth2.provider.OAuth2Authentication";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpringAccessToken {
    pub value: String,
    /// Unix seconds; `None` for a token that never expires.
    pub expires_at: Option<i64>,
    pub scope: Vec<String>,
    pub refresh_token: Option<SpringRefreshToken>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpringRefreshToken {
    pub value: String,
    /// `None` for a `DefaultOAuth2RefreshToken`, which never expires.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpringAuthentication {
    pub client_id: String,
    /// `None` for a client acting for itself.
    pub user_name: Option<String>,
    pub scope: Vec<String>,
    pub authorities: Vec<String>,
    pub resource_ids: Vec<String>,
    /// The token request's `grant_type`, when Spring kept it.
    pub grant_type: Option<String>,
}

fn missing<T>(what: &str) -> Result<T, Unreadable> {
    Err(Unreadable(format!("no {what}")))
}

fn root<'a>(stream: &'a Stream, class: &str) -> Result<Object<'a>, Unreadable> {
    let root = stream
        .root()
        .ok_or_else(|| Unreadable("the stream holds no object".into()))?;
    if !root.is(class) {
        return Err(Unreadable(format!(
            "a {}, not a {class}",
            root.class_name()
        )));
    }
    Ok(root)
}

pub fn access_token(bytes: &[u8]) -> Result<SpringAccessToken, Unreadable> {
    let stream = Stream::parse(bytes)?;
    let token = root(&stream, ACCESS_TOKEN)?;
    let value = match token.string_field("value") {
        Some(value) if !value.is_empty() => value.to_owned(),
        _ => return missing("token value"),
    };
    let refresh_token = match token.object_field("refreshToken") {
        Some(refresh) => Some(refresh_token_of(refresh)?),
        None => None,
    };
    Ok(SpringAccessToken {
        value,
        expires_at: date(&token, "expiration")?,
        scope: strings(&stream, token.field("scope"))?,
        refresh_token,
    })
}

pub fn refresh_token(bytes: &[u8]) -> Result<SpringRefreshToken, Unreadable> {
    let stream = Stream::parse(bytes)?;
    refresh_token_of(root(&stream, REFRESH_TOKEN)?)
}

fn refresh_token_of(token: Object<'_>) -> Result<SpringRefreshToken, Unreadable> {
    let value = match token.string_field("value") {
        Some(value) if !value.is_empty() => value.to_owned(),
        _ => return missing("refresh token value"),
    };
    Ok(SpringRefreshToken {
        value,
        expires_at: date(&token, "expiration")?,
    })
}

pub fn authentication(bytes: &[u8]) -> Result<SpringAuthentication, Unreadable> {
    let stream = Stream::parse(bytes)?;
    let authentication = root(&stream, AUTHENTICATION)?;
    let request = authentication
        .object_field("storedRequest")
        .ok_or_else(|| Unreadable("no stored OAuth2Request".into()))?;
    let client_id = match request.string_field("clientId") {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => return missing("client id"),
    };
    let user_name = match authentication.object_field("userAuthentication") {
        None => None,
        Some(user) => Some(principal_name(&user)?),
    };
    let grant_type = match request.object_field("requestParameters") {
        Some(parameters) => map_entries(&stream, parameters)?
            .into_iter()
            .find(|(key, _)| key == "grant_type")
            .map(|(_, value)| value),
        None => None,
    };
    Ok(SpringAuthentication {
        client_id,
        user_name,
        scope: strings(&stream, request.field("scope"))?,
        // `OAuth2Authentication` holds the user's authorities, or the client's for a client token.
        authorities: authorities(&stream, authentication.field("authorities"))?,
        resource_ids: strings(&stream, request.field("resourceIds"))?,
        grant_type,
    })
}

/// `Authentication.getName()`: a `UserDetails` principal's username, or the principal itself.
fn principal_name(user: &Object<'_>) -> Result<String, Unreadable> {
    let stream = user.stream();
    let principal = user
        .field("principal")
        .ok_or_else(|| Unreadable("a user authentication without a principal".into()))?;
    let name = match stream.string(principal) {
        Some(name) => Some(name),
        None => stream.object(principal).and_then(|p| {
            p.string_field("username")
                .or_else(|| p.string_field("name"))
        }),
    };
    match name {
        Some(name) if !name.is_empty() => Ok(name.to_owned()),
        _ => missing("user name in the user authentication"),
    }
}

/// A `java.util.Date`: its `writeObject` writes the milliseconds as a long.
fn date(object: &Object<'_>, field: &str) -> Result<Option<i64>, Unreadable> {
    let Some(date) = object.object_field(field) else {
        return Ok(None);
    };
    if date.class_name() != "java.util.Date" {
        return Err(Unreadable(format!("{field} is a {}", date.class_name())));
    }
    match date.annotations().first() {
        Some(Annotation::Block(bytes)) if bytes.len() >= 8 => {
            let mut millis = [0; 8];
            millis.copy_from_slice(&bytes[..8]);
            Ok(Some(i64::from_be_bytes(millis).div_euclid(1000)))
        }
        _ => Err(Unreadable(format!("{field} is a Date without its time"))),
    }
}

/// The elements of a JDK collection: `HashSet`, `LinkedHashSet`, `TreeSet`, `ArrayList`... write
/// a header of block data (sizes) and then the elements, which is what is read; the
/// `Collections.unmodifiable*`, `singleton*` and `empty*` wrappers hold another collection or
/// element in a field.
fn elements(stream: &Stream, value: Option<Value>, depth: usize) -> Result<Vec<Value>, Unreadable> {
    let Some(value) = value.filter(|v| *v != Value::Null) else {
        return Ok(Vec::new());
    };
    if let Some(array) = stream.array(value) {
        return Ok(array.to_vec());
    }
    let collection = stream
        .object(value)
        .ok_or_else(|| Unreadable("a collection that is not an object".into()))?;
    if depth > 8 {
        return Err(Unreadable("collections wrapped too deeply".into()));
    }
    for wrapped in ["c", "list", "a"] {
        if let Some(inner) = collection.field(wrapped) {
            return elements(stream, Some(inner), depth + 1);
        }
    }
    if let Some(element) = collection.field("element") {
        return Ok(vec![element]);
    }
    let mut values = Vec::new();
    let mut past_header = false;
    for annotation in collection.annotations() {
        match annotation {
            Annotation::Block(_) => past_header = true,
            Annotation::Value(value) if past_header => values.push(*value),
            // A `TreeSet` writes its comparator before its size.
            Annotation::Value(_) => {}
        }
    }
    Ok(values)
}

fn strings(stream: &Stream, value: Option<Value>) -> Result<Vec<String>, Unreadable> {
    elements(stream, value, 0)?
        .into_iter()
        .map(|element| {
            stream
                .string(element)
                .map(str::to_owned)
                .ok_or_else(|| Unreadable("a collection of strings holds something else".into()))
        })
        .collect()
}

/// `GrantedAuthority`s: Spring's `SimpleGrantedAuthority` keeps its text in `role`.
fn authorities(stream: &Stream, value: Option<Value>) -> Result<Vec<String>, Unreadable> {
    elements(stream, value, 0)?
        .into_iter()
        .map(|element| {
            let authority = stream.object(element).and_then(|a| {
                a.string_field("role")
                    .or_else(|| a.string_field("authority"))
            });
            authority
                .map(str::to_owned)
                .ok_or_else(|| Unreadable("an authority without its text".into()))
        })
        .collect()
}

/// The string entries of a JDK map (`HashMap` and `LinkedHashMap` write a header, then keys and
/// values in turn; `Collections.unmodifiableMap` holds one in `m`). Other values are skipped.
fn map_entries(stream: &Stream, map: Object<'_>) -> Result<Vec<(String, String)>, Unreadable> {
    let map = match map.object_field("m") {
        Some(inner) => inner,
        None => map,
    };
    let values: Vec<Value> = map
        .annotations()
        .iter()
        .skip_while(|a| !matches!(a, Annotation::Block(_)))
        .filter_map(|a| match a {
            Annotation::Value(value) => Some(*value),
            Annotation::Block(_) => None,
        })
        .collect();
    Ok(values
        .chunks(2)
        .filter_map(|pair| match pair {
            [key, value] => Some((
                stream.string(*key)?.to_owned(),
                stream.string(*value)?.to_owned(),
            )),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    //! Against the fixtures: real Java serialization of Spring's classes (see
    //! tests/fixtures/spring_token_store/README.md).

    use super::*;
    use serde_json::Value as Json;

    fn rows() -> Json {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/spring_token_store/rows.json"
        ))
        .unwrap()
    }

    /// The entry of `list` (`cases`, `oauth_access_token`) for case `name`.
    fn find(rows: &Json, list: &str, name: &str) -> Json {
        rows[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["case"] == name)
            .unwrap()
            .clone()
    }

    fn case(rows: &Json, name: &str) -> Json {
        find(rows, "cases", name)
    }

    fn access_row(rows: &Json, name: &str) -> Json {
        find(rows, "oauth_access_token", name)
    }

    fn blob(row: &Json, column: &str) -> Vec<u8> {
        hex::decode(row[column].as_str().unwrap()).unwrap()
    }

    #[test]
    fn every_readable_fixture_reads_as_its_case_says() {
        let rows = rows();
        for row in rows["oauth_access_token"].as_array().unwrap() {
            let name = row["case"].as_str().unwrap();
            let expected = case(&rows, name);
            let token = access_token(&blob(row, "token"));
            if expected["expected"] == "unreadable" {
                assert!(token.is_err(), "{name}");
                continue;
            }
            let token = token.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(token.value, expected["access_token"], "{name}");
            assert_eq!(
                Json::from(token.expires_at),
                expected["access_expires_at"],
                "{name}"
            );
            assert_eq!(Json::from(token.scope), expected["scope"], "{name}");
            let refresh = token.refresh_token.as_ref();
            assert_eq!(
                refresh
                    .map(|r| r.value.clone())
                    .map(Json::from)
                    .unwrap_or(Json::Null),
                expected["refresh_token"],
                "{name}"
            );
            let auth = authentication(&blob(row, "authentication")).unwrap();
            assert_eq!(auth.client_id, expected["client_id"], "{name}");
            assert_eq!(
                auth.user_name.clone().map(Json::from).unwrap_or(Json::Null),
                expected["user_name"],
                "{name}"
            );
            assert_eq!(
                Json::from(auth.authorities.clone()),
                expected["authorities"],
                "{name}"
            );
            assert_eq!(
                Json::from(auth.resource_ids.clone()),
                expected["resource_ids"],
                "{name}"
            );
            assert_eq!(Json::from(auth.scope.clone()), expected["scope"], "{name}");
            assert!(auth.grant_type.is_some(), "{name}");
        }
    }

    #[test]
    fn refresh_token_rows_read_with_or_without_an_expiry() {
        let rows = rows();
        for row in rows["oauth_refresh_token"].as_array().unwrap() {
            let name = row["case"].as_str().unwrap();
            let expected = case(&rows, name);
            let token =
                refresh_token(&blob(row, "token")).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(token.value, expected["refresh_token"], "{name}");
            assert_eq!(
                Json::from(token.expires_at),
                expected["refresh_expires_at"],
                "{name}"
            );
        }
    }

    #[test]
    fn a_truncated_blob_says_why_and_an_authentication_is_not_a_token() {
        let rows = rows();
        let corrupted = access_token(&blob(&access_row(&rows, "corrupted"), "token"));
        assert_eq!(corrupted.unwrap_err().0, "the stream ends too early");
        let not_java = access_token(&blob(&access_row(&rows, "not_java"), "token"));
        assert!(not_java.unwrap_err().0.contains("magic"));
        let swapped = access_token(&blob(&access_row(&rows, "user_token"), "authentication"));
        assert!(
            swapped.unwrap_err().0.contains("not a"),
            "the class is checked"
        );
    }
}
