//! Reading a served OpenAPI description, and holding it to the routes a server mounts.

use std::collections::BTreeSet;

use serde_json::Value;
use shared::routes::Mounted;

/// Every `(path, METHOD)` the description lists.
pub fn described(description: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    if let Some(paths) = description["paths"].as_object() {
        for (path, item) in paths {
            for method in item.as_object().into_iter().flat_map(|m| m.keys()) {
                operations.insert((path.clone(), method.to_uppercase()));
            }
        }
    }
    operations
}

/// Every `(path, METHOD)` a server mounts.
pub fn routed(table: &[Mounted]) -> BTreeSet<(String, String)> {
    table
        .iter()
        .flat_map(|m| {
            m.methods
                .iter()
                .map(|method| (m.path.clone(), method.to_string()))
        })
        .collect()
}

/// Panics, naming them, unless the description lists exactly the routes of `table`.
pub fn assert_describes(description: &Value, table: &[Mounted]) {
    let described = described(description);
    let routed = routed(table);
    let undescribed: Vec<_> = routed.difference(&described).collect();
    assert!(
        undescribed.is_empty(),
        "routed but not in /openapi.json: {undescribed:?}"
    );
    let unrouted: Vec<_> = described.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "described in /openapi.json but not routed: {unrouted:?}"
    );
}

/// A schema, with a `$ref` to `#/components/schemas/…` followed.
pub fn resolve<'a>(description: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &description["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// The property names of a schema, of every alternative of a `oneOf`.
pub fn property_names(description: &Value, schema: &Value) -> BTreeSet<String> {
    let schema = resolve(description, schema);
    let mut names: BTreeSet<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for alternative in schema["oneOf"].as_array().into_iter().flatten() {
        names.extend(property_names(description, alternative));
    }
    names
}

/// The fields of an operation's form body.
pub fn form_fields(description: &Value, path: &str, method: &str) -> BTreeSet<String> {
    let body = &description["paths"][path][method]["requestBody"]["content"]
        ["application/x-www-form-urlencoded"]["schema"];
    assert!(!body.is_null(), "{method} {path} has no form body");
    property_names(description, body)
}

/// The names of an operation's query parameters.
pub fn query_parameters(description: &Value, path: &str, method: &str) -> BTreeSet<String> {
    description["paths"][path][method]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

/// The statuses an operation describes.
pub fn statuses(description: &Value, path: &str, method: &str) -> BTreeSet<String> {
    description["paths"][path][method]["responses"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default()
}
