//! Request parameters the way Bitrix24 reads them: case-insensitive keys, PHP-style forms
//! (`data[MESSAGES][0][im][chat_id]=1`) both ways, query string plus JSON or form body.

use actix_web::HttpRequest;
use serde_json::{Map, Value};

use super::ApiErr;
use crate::sim::form_decode;
use crate::sim::server::content_type;

/// Case-insensitive top-level lookup.
pub(super) fn param<'a>(p: &'a Value, key: &str) -> Option<&'a Value> {
    let m = p.as_object()?;
    m.get(key).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Scalar as string ("" for null/absent/containers).
pub(super) fn sval(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => (if *b { "1" } else { "0" }).to_string(),
        _ => String::new(),
    }
}

/// A parameter given with a value (not missing, not empty).
pub(super) fn nonempty(p: &Value, key: &str) -> Option<String> {
    Some(sval(param(p, key))).filter(|v| !v.is_empty())
}

pub(super) fn truthy(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_f64().unwrap_or(0.0) != 0.0),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "1" | "y" | "true" => Some(true),
            "0" | "n" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An array, or a PHP-style object with numeric keys, as a list.
pub(super) fn as_list(v: Option<&Value>) -> Option<Vec<Value>> {
    match v? {
        Value::Array(a) => Some(a.clone()),
        Value::Object(m) => {
            let mut items: Vec<(usize, Value)> = Vec::new();
            for (k, x) in m {
                items.push((k.parse().ok()?, x.clone()));
            }
            items.sort_by_key(|(i, _)| *i);
            Some(items.into_iter().map(|(_, x)| x).collect())
        }
        _ => None,
    }
}

/// Lower-case every object key, recursively (keys inside MESSAGES are case-insensitive).
pub(super) fn lc_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.to_ascii_lowercase(), lc_keys(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(lc_keys).collect()),
        x => x.clone(),
    }
}

pub(super) fn split_php_key(k: &str) -> Vec<String> {
    let Some(open) = k.find('[') else {
        return vec![k.to_string()];
    };
    if open == 0 || !k.ends_with(']') {
        return vec![k.to_string()];
    }
    let mut segs = vec![k[..open].to_string()];
    let mut rest = &k[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            return vec![k.to_string()];
        };
        segs.push(stripped[..close].to_string());
        rest = &stripped[close + 1..];
    }
    if !rest.is_empty() {
        return vec![k.to_string()];
    }
    segs
}

pub(super) fn php_insert(node: &mut Value, segs: &[String], v: &str) {
    let Some((first, rest)) = segs.split_first() else {
        *node = Value::String(v.to_string());
        return;
    };
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(map) = node {
        let key = if first.is_empty() {
            map.len().to_string()
        } else {
            first.clone()
        };
        let child = map.entry(key).or_insert(Value::Null);
        php_insert(child, rest, v);
    }
}

pub(super) fn php_normalize(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let n = m.len();
            let is_list = n > 0
                && (0..n).all(|i| m.contains_key(&i.to_string()))
                && m.keys().all(|k| k.parse::<usize>().is_ok());
            if is_list {
                let mut m = m;
                Value::Array(
                    (0..n)
                        .map(|i| php_normalize(m.remove(&i.to_string()).unwrap_or(Value::Null)))
                        .collect(),
                )
            } else {
                Value::Object(m.into_iter().map(|(k, x)| (k, php_normalize(x))).collect())
            }
        }
        x => x,
    }
}

/// Decode PHP-style form pairs (`data[MESSAGES][0][im][chat_id]=1`) into JSON. Objects whose keys
/// are exactly 0..n become arrays; every scalar stays a string.
pub fn php_pairs_to_value(pairs: &[(String, String)]) -> Value {
    let mut root = Value::Object(Map::new());
    for (k, v) in pairs {
        php_insert(&mut root, &split_php_key(k), v);
    }
    php_normalize(root)
}

/// Decode a form-encoded body (an event our app received, say) into JSON (see `php_pairs_to_value`).
pub fn php_form_to_value(body: &[u8]) -> Value {
    php_pairs_to_value(&form_decode(body))
}

/// Flatten JSON into PHP-style form pairs like Bitrix24 does: every scalar a string (booleans
/// "1"/"0"), null and empty arrays/objects absent.
pub fn php_form_pairs(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push((prefix.to_string(), (if *b { "1" } else { "0" }).into())),
        Value::Number(n) => out.push((prefix.to_string(), n.to_string())),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                php_form_pairs(&format!("{prefix}[{i}]"), x, out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}[{k}]")
                };
                php_form_pairs(&key, x, out);
            }
        }
    }
}

pub(super) fn parse_params(req: &HttpRequest, body: &[u8]) -> Result<Value, ApiErr> {
    let mut params = Map::new();
    let q = req.query_string();
    if !q.is_empty() {
        if let Value::Object(m) = php_form_to_value(q.as_bytes()) {
            params.extend(m);
        }
    }
    let trimmed = body.trim_ascii();
    if !trimmed.is_empty() {
        let ct = content_type(req).to_ascii_lowercase();
        if ct.contains("json") || trimmed.starts_with(b"{") {
            match serde_json::from_slice::<Value>(trimmed) {
                Ok(Value::Object(m)) => params.extend(m),
                _ => return Err(ApiErr::arg("Request body is not a JSON object")),
            }
        } else if let Value::Object(m) = php_form_to_value(trimmed) {
            params.extend(m);
        }
    }
    Ok(Value::Object(params))
}

pub(super) fn normalize_method(m: &str) -> String {
    let m = m.trim_matches('/').to_ascii_lowercase();
    m.strip_suffix(".json").map(str::to_string).unwrap_or(m)
}

pub(super) fn digits_phone(p: &str) -> String {
    p.chars().filter(|c| c.is_ascii_digit()).collect()
}

pub(super) fn file_type(mime: &str) -> &'static str {
    if mime.starts_with("image/") {
        "image"
    } else if mime.starts_with("video/") {
        "video"
    } else if mime.starts_with("audio/") {
        "audio"
    } else {
        "file"
    }
}
