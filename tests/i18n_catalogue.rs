//! The service's message catalogues (`src/i18n/locales/<lang>/*.ftl`) against each other and
//! against the code: every file parses; every file of English has a twin in every other
//! language with the same message ids, each taking the same `$arguments`; no id is defined
//! twice in a language; every `tr!(…, "key" …)` key in `src/` exists in every language; and
//! every message is used (by a `tr!` in `src/`, or by another message that references it).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use b24wa::i18n::Lang;
use fluent_templates::fluent_bundle::FluentResource;

const LOCALES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/i18n/locales");
const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// One message of a file: the `$arguments` it takes and the messages it references.
#[derive(Debug, Default, PartialEq)]
struct Message {
    args: BTreeSet<String>,
    refs: BTreeSet<String>,
}

/// Every `name: "<x>"` right after `marker` in an AST's debug form (the parser's own AST, so
/// nothing here re-implements Fluent's syntax).
fn names_after(debug: &str, marker: &str) -> Vec<String> {
    debug
        .match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = &debug[i + marker.len()..];
            let start = rest.find("name: \"")? + "name: \"".len();
            let end = rest[start..].find('"')?;
            Some(rest[start..start + end].to_string())
        })
        .collect()
}

/// The messages of one `.ftl` file by id; a parse error fails the test.
fn messages_of(path: &Path) -> BTreeMap<String, Message> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let resource = match FluentResource::try_new(text) {
        Ok(r) => r,
        Err((_, errors)) => panic!("{}: parse errors {errors:?}", path.display()),
    };
    let mut out = BTreeMap::new();
    for entry in resource.entries() {
        let debug = format!("{entry:?}");
        // Comments are entries too; terms (`-x`) would be private to the catalogue.
        let Some(body) = debug.strip_prefix("Message(") else {
            assert!(
                !debug.starts_with("Term(") && !debug.starts_with("Junk"),
                "{}: only messages expected: {debug}",
                path.display()
            );
            continue;
        };
        let id = names_after(body, "id: Identifier {")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{}: a message without an id: {body}", path.display()));
        let message = Message {
            args: names_after(body, "VariableReference {")
                .into_iter()
                .collect(),
            refs: names_after(body, "MessageReference {")
                .into_iter()
                .collect(),
        };
        assert!(
            out.insert(id.clone(), message).is_none(),
            "{}: {id} defined twice",
            path.display()
        );
    }
    out
}

/// Languages (folder names) → file name → its messages.
fn catalogues() -> BTreeMap<String, BTreeMap<String, BTreeMap<String, Message>>> {
    let mut out = BTreeMap::new();
    for lang in fs::read_dir(LOCALES).expect("locales folder").flatten() {
        if !lang.path().is_dir() {
            continue;
        }
        let mut files = BTreeMap::new();
        for f in fs::read_dir(lang.path())
            .expect("a language folder")
            .flatten()
        {
            let name = f.file_name().to_string_lossy().to_string();
            if name.ends_with(".ftl") {
                files.insert(name, messages_of(&f.path()));
            }
        }
        out.insert(lang.file_name().to_string_lossy().to_string(), files);
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).expect("a source folder").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every key of a `tr!(<lang>, "<key>" …)` in `src/` (comment lines left out), with where.
fn keys_in_code() -> BTreeMap<String, String> {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let mut keys = BTreeMap::new();
    for f in files {
        let text = fs::read_to_string(&f).expect("a source file");
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for (at, _) in code.match_indices("tr!(") {
            // The key follows the first comma outside brackets (the language may be a call).
            let rest = &code[at + 4..];
            let mut depth = 0i32;
            let comma = rest.char_indices().find_map(|(i, c)| {
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' => depth -= 1,
                    ',' if depth == 0 => return Some(i),
                    _ => {}
                }
                None
            });
            let Some(comma) = comma else { continue };
            let after = rest[comma + 1..].trim_start();
            let line = code[..at].lines().count();
            let here = format!("{}:{line}", f.display());
            let Some(lit) = after.strip_prefix('"') else {
                panic!("{here}: tr! takes its key as a string literal");
            };
            let end = lit.find('"').expect("the key's closing quote");
            keys.insert(lit[..end].to_string(), here);
        }
    }
    keys
}

#[test]
fn every_language_has_the_same_files_messages_and_arguments() {
    let all = catalogues();
    let en = all.get("en").expect("an English catalogue");
    assert!(all.len() >= 2, "en and at least one more: {:?}", all.keys());
    for (lang, files) in &all {
        let names: BTreeSet<_> = files.keys().collect();
        let en_names: BTreeSet<_> = en.keys().collect();
        assert_eq!(names, en_names, "{lang}: the files differ from en/");
        for (file, messages) in files {
            let en_messages = &en[file];
            let ids: BTreeSet<_> = messages.keys().collect();
            let en_ids: BTreeSet<_> = en_messages.keys().collect();
            assert_eq!(
                ids.symmetric_difference(&en_ids).collect::<Vec<_>>(),
                Vec::<&&String>::new(),
                "{lang}/{file}: ids missing on one side"
            );
            for (id, m) in messages {
                assert_eq!(
                    m.args, en_messages[id].args,
                    "{lang}/{file}: {id} takes other arguments than in English"
                );
            }
        }
        // One bundle per language: an id in two files would shadow the other.
        let mut seen = BTreeMap::new();
        for (file, messages) in files {
            for id in messages.keys() {
                if let Some(other) = seen.insert(id.clone(), file.clone()) {
                    panic!("{lang}: {id} is in {other} and in {file}");
                }
            }
        }
    }
}

#[test]
fn every_key_in_the_code_exists_and_every_message_is_used() {
    let all = catalogues();
    let used = keys_in_code();
    assert!(used.len() > 50, "the scan found too few keys: {used:?}");
    // Every language the service holds has its folder, and every key the code uses is in it.
    for lang in Lang::all() {
        let files = all
            .get(lang.code())
            .unwrap_or_else(|| panic!("no folder for {lang}"));
        let ids: BTreeSet<&String> = files.values().flat_map(|ms| ms.keys()).collect();
        for (key, at) in &used {
            assert!(
                ids.contains(key),
                "{at}: {key} is not in the {lang} catalogue"
            );
        }
    }
    for (lang, files) in &all {
        let referenced: BTreeSet<&String> = files
            .values()
            .flat_map(|ms| ms.values().flat_map(|m| &m.refs))
            .collect();
        for (file, messages) in files {
            for id in messages.keys() {
                assert!(
                    used.contains_key(id) || referenced.contains(id),
                    "{lang}/{file}: {id} is used by no tr! in src/"
                );
            }
        }
    }
}

#[test]
fn the_scan_sees_what_it_must() {
    // The scan's own check, on a known key, a multi-line call and a language that is a call.
    let used = keys_in_code();
    for key in [
        "transcript-label",
        "wa-failed-code",
        "cmd-template-wrong-count",
    ] {
        assert!(used.contains_key(key), "{key} not found by the scan");
    }
    // What the catalogues render: a plural and a reference.
    let ru = Lang::ru();
    assert_eq!(
        b24wa::tr!(ru, "session-lost-state", state = "x"),
        format!("{} (состояние: x)", b24wa::tr!(ru, "session-lost"))
    );
    assert!(!b24wa::tr!(ru, "transcript-too-long", count = 45, limit = 30).contains("transcript"));
}
