//! PHP-style nested form keys (`data[MESSAGES][0][im][chat_id]=1807`) as Bitrix24 posts events,
//! decoded into a JSON tree of objects and strings (every scalar stays a string, as sent).

use serde_json::{Map, Value};

/// Decodes an `application/x-www-form-urlencoded` body into a nested JSON object.
pub fn parse(body: &[u8]) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in url::form_urlencoded::parse(body) {
        let path = split_key(&key);
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

    #[test]
    fn scalar_data_and_unbalanced() {
        let v = parse(b"event=ONIMCONNECTORLINEDELETE&data=5&x[y=1");
        assert_eq!(str_at(&v, &["data"]), Some("5"));
        assert_eq!(str_at(&v, &["x[y"]), Some("1"));
    }
}
