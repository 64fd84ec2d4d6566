//! Reading `/metrics` as Prometheus would.

/// The value of one series of a Prometheus text exposition, written as the exposition writes it:
/// `name{label="value",…}` with the labels sorted by name, or `name` alone. `None` when absent.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// GETs `url` and answers its body, asserting a 200 in the Prometheus text format.
pub async fn scrape(http: &reqwest::Client, url: &str) -> String {
    let response = http.get(url).send().await.expect("/metrics answers");
    assert_eq!(response.status(), 200, "{url}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.expect("a text body")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_is_found_by_its_exact_name_and_labels() {
        let text = "# HELP x_total X\n# TYPE x_total counter\nx_total{a=\"1\"} 3\nx_total{a=\"10\"} 5\ny 2.5\n";
        assert_eq!(sample(text, r#"x_total{a="1"}"#), Some(3.0));
        assert_eq!(sample(text, r#"x_total{a="10"}"#), Some(5.0));
        assert_eq!(sample(text, "y"), Some(2.5));
        assert_eq!(sample(text, "x_total"), None);
    }
}
