//! An HTTP answer read whole, and what tests read out of pages and redirects.

use std::collections::HashMap;

use serde_json::Value;

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

pub async fn answer(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.expect("the body arrives"),
    }
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts the status, showing the body when it is another.
    #[track_caller]
    pub fn assert_status(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.body);
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .expect("a header of visible ASCII")
    }

    /// Asserts an OAuth error answer: status, `error` and `error_description`, nothing else, and
    /// never cached.
    pub fn assert_error(&self, status: u16, error: &str, description: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let json = self.json();
        assert_eq!(json["error"], error, "{}", self.body);
        assert_eq!(json["error_description"], description, "{}", self.body);
        assert_eq!(
            json.as_object().map(|o| o.len()),
            Some(2),
            "only error and description: {}",
            self.body
        );
        assert_eq!(self.header("cache-control"), "no-store");
        assert_eq!(self.header("pragma"), "no-cache");
    }

    /// A field of a successful JSON answer.
    pub fn field(&self, name: &str) -> String {
        assert_eq!(self.status, 200, "{}", self.body);
        self.json()[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {}", self.body))
            .to_owned()
    }
}

/// The `_csrf` value of a page's form.
pub fn csrf_of(html: &str) -> String {
    field_of(html, "_csrf")
}

/// The value of a hidden field of a page's form.
pub fn field_of(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The query or fragment parameters of a redirect target.
pub fn params_of(location: &str) -> HashMap<String, String> {
    let url = url::Url::parse(location).unwrap_or_else(|e| panic!("{location}: {e}"));
    let encoded = url
        .fragment()
        .map(str::to_owned)
        .or(url.query().map(str::to_owned))
        .unwrap_or_default();
    form_urlencoded::parse(encoded.as_bytes())
        .into_owned()
        .collect()
}
