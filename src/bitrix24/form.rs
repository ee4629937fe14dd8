//! PHP-style nested form keys (`data[MESSAGES][0][im][chat_id]=1807`) as Bitrix24 posts events,
//! decoded into a JSON tree of objects and strings (every scalar stays a string, as sent).

use serde_json::{Map, Value};

/// How deep a key may nest (`a[b][c]` is 2), PHP's default `max_input_nesting_level`; like PHP
/// we drop a deeper field. Without a cap a 256 KiB body of `a[][][]…` nested 100 000 levels and
/// overflowed the stack (building the tree, then dropping it): the whole process died.
pub const MAX_DEPTH: usize = 64;

/// Decodes an `application/x-www-form-urlencoded` body into a nested JSON object.
pub fn parse(body: &[u8]) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in url::form_urlencoded::parse(body) {
        let path = split_key(&key);
        if path.len() > MAX_DEPTH + 1 {
            continue;
        }
        insert(&mut root, &path, value.into_owned());
    }
    root
}

fn split_key(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    parts.push(head.to_string());
    while let Some(stripped) = rest.strip_prefix('[') {
        match stripped.find(']') {
            Some(end) => {
                parts.push(stripped[..end].to_string());
                rest = &stripped[end + 1..];
            }
            None => {
                // Unbalanced bracket: PHP keeps the rest literally; so do we.
                if let Some(last) = parts.last_mut() {
                    last.push_str(rest);
                }
                break;
            }
        }
    }
    parts
}

fn insert(node: &mut Value, path: &[String], value: String) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let Some(map) = node.as_object_mut() else {
        return;
    };
    // `key[]` appends, like PHP.
    let key = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        map.insert(key, Value::String(value));
    } else {
        let child = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
        insert(child, rest, value);
    }
}

/// `a.b.c` lookup returning a string scalar.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

/// Items of a PHP list (an object keyed "0", "1", …) in index order; a JSON array works too.
pub fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Object(m)) => {
            let mut items: Vec<(u64, &Value)> = m
                .iter()
                .filter_map(|(k, v)| k.parse::<u64>().ok().map(|i| (i, v)))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            items.into_iter().map(|(_, v)| v).collect()
        }
        Some(Value::String(_)) => v.into_iter().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_and_lists() {
        let body = b"event=ONIMCONNECTORMESSAGEADD&data%5BMESSAGES%5D%5B1%5D%5Bim%5D%5Bchat_id%5D=2&data[MESSAGES][0][im][chat_id]=1807&data[MESSAGES][0][message][id][]=a&data[MESSAGES][0][message][id][]=b&auth[application_token]=x%20y";
        let v = parse(body);
        assert_eq!(str_at(&v, &["event"]), Some("ONIMCONNECTORMESSAGEADD"));
        assert_eq!(str_at(&v, &["auth", "application_token"]), Some("x y"));
        let msgs = list(v.pointer("/data/MESSAGES"));
        assert_eq!(msgs.len(), 2);
        assert_eq!(str_at(msgs[0], &["im", "chat_id"]), Some("1807"));
        assert_eq!(str_at(msgs[1], &["im", "chat_id"]), Some("2"));
        let ids: Vec<&str> = list(msgs[0].pointer("/message/id"))
            .into_iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(ids, vec!["a", "b"]);
    }

    /// Found beside the fuzzer (target bitrix24_event, whose inputs stay a few KB) by a probe at
    /// the route's 256 KiB body limit: a key nested 130 000 levels deep overflowed the stack and
    /// killed the process. Deeper than MAX_DEPTH is now dropped.
    #[test]
    fn fuzz_deeply_nested_key_is_dropped_not_a_stack_overflow() {
        // 260 KB: built here rather than kept as a file (the corpus holds a shorter one).
        let body = format!("event=ONAPPUNINSTALL&a{}=1", "[]".repeat(130_000));
        let v = parse(body.as_bytes());
        assert_eq!(str_at(&v, &["event"]), Some("ONAPPUNINSTALL"));
        assert!(v.get("a").is_none(), "the deep field is dropped");
        // At the limit a key still nests.
        let key = format!("b{}", "[x]".repeat(MAX_DEPTH));
        let v = parse(format!("{key}=1").as_bytes());
        let path: Vec<&str> = std::iter::once("b")
            .chain(std::iter::repeat_n("x", MAX_DEPTH))
            .collect();
        assert_eq!(str_at(&v, &path), Some("1"));
        let v = parse(format!("{key}[x]=1").as_bytes());
        assert!(v.get("b").is_none());
    }

    #[test]
    fn scalar_data_and_unbalanced() {
        let v = parse(b"event=ONIMCONNECTORLINEDELETE&data=5&x[y=1");
        assert_eq!(str_at(&v, &["data"]), Some("5"));
        assert_eq!(str_at(&v, &["x[y"]), Some("1"));
    }
}
