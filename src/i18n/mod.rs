//! What a person reads, in their language: the Fluent catalogues in `src/i18n/locales/<lang>/*.ftl`
//! (compiled into the binary) and the one rule that picks a language.
//!
//! Adding a language is adding a folder: `Lang::from_bitrix24` and `Lang::from_accept_language`
//! use any locale the catalogues hold before falling back (see `fallback_for`).

mod format;
pub mod text;

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use format::{date, date_time, time};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./src/i18n/locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: the texts go into Bitrix24 chats and
        // HTML as plain text, where the invisible marks would break copy-paste and searches.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language the catalogues hold. Copy: a `'static` reference into the compiled catalogues.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Lang(&'static LanguageIdentifier);

impl Lang {
    /// English: the fallback for any language the catalogues do not hold.
    pub fn en() -> Self {
        Self::held("en").unwrap_or_else(|| Lang(LOCALES.fallback()))
    }

    pub fn ru() -> Self {
        Self::held("ru").unwrap_or_else(Self::en)
    }

    /// Every language the catalogues hold.
    pub fn all() -> Vec<Lang> {
        let mut all: Vec<Lang> = LOCALES.locales().map(Lang).collect();
        all.sort_by_key(|l| l.code());
        all
    }

    /// The language with this catalogue code (`en`, `ru`), if the catalogues hold it.
    pub fn held(code: &str) -> Option<Self> {
        LOCALES
            .locales()
            .find(|l| l.language.as_str().eq_ignore_ascii_case(code))
            .map(Lang)
    }

    /// The catalogue code: `en`, `ru`.
    pub fn code(self) -> &'static str {
        self.0.language.as_str()
    }

    /// The language for a Bitrix24 interface language id (`ru`, `ua`, `kz`, `en`, `de`, …:
    /// install `data[LANGUAGE_ID]`, a page's `LANG`, `app.info`).
    pub fn from_bitrix24(id: &str) -> Self {
        let id = id.trim().to_ascii_lowercase();
        // Bitrix24's ids are its own, not ISO 639-1, for a few languages.
        let iso = match id.as_str() {
            "ua" => "uk",
            "kz" => "kk",
            "by" => "be",
            "sc" | "tc" => "zh",
            "br" => "pt",
            "vn" => "vi",
            "la" => "es",
            other => other,
        };
        Self::held(iso).unwrap_or_else(|| fallback_for(iso))
    }

    /// The first language of an `Accept-Language` header the catalogues can answer in (by its
    /// q-values), else English.
    pub fn from_accept_language(header: &str) -> Self {
        let mut ranges: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (!tag.is_empty() && q > 0.0).then_some((q, tag))
            })
            .collect();
        // Stable: equal q-values keep the header's order.
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranges
            .iter()
            .find_map(|(_, tag)| {
                let primary = tag.split(['-', '_']).next().unwrap_or(tag);
                (primary != "*").then(|| {
                    Self::held(primary).or_else(|| {
                        let fb = fallback_for(&primary.to_ascii_lowercase());
                        (fb != Self::en()).then_some(fb)
                    })
                })?
            })
            .unwrap_or_else(Self::en)
    }

    /// The text of `key`, with no arguments.
    pub fn text(self, key: &str) -> String {
        LOCALES.lookup(self.0, key)
    }

    /// The text of `key` with arguments (`tr!` builds the list).
    pub fn text_with(self, key: &str, args: Vec<(&'static str, FluentValue<'static>)>) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'static>> = args
            .into_iter()
            .map(|(k, v)| (Cow::Borrowed(k), v))
            .collect();
        LOCALES.lookup_with_args(self.0, key, &args)
    }

    /// Whether `key` exists in this language's catalogue (for the catalogue checks).
    pub fn has(self, key: &str) -> bool {
        LOCALES
            .lookup_no_default_fallback::<&str>(self.0, key, None)
            .is_some()
    }
}

/// Our fallback for a language the catalogues do not hold (bitrix24-crm.md §4): Russian for the
/// Russian-speaking portals (Kazakh, Belarusian, Uzbek), English for every other, Ukrainian
/// included (as Bitrix24's own current fallback does).
fn fallback_for(iso: &str) -> Lang {
    match iso {
        "ru" | "kk" | "be" | "uz" => Lang::ru(),
        _ => Lang::en(),
    }
}

impl Default for Lang {
    fn default() -> Self {
        Self::en()
    }
}

impl std::fmt::Debug for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Lang {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Lang {
    /// Only a language the catalogues hold: an API caller naming another gets a clear error.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Lang::held(&code).ok_or_else(|| {
            let held: Vec<&str> = Lang::all().iter().map(|l| l.code()).collect();
            serde::de::Error::custom(format!(
                "unknown language {code:?}: one of {}",
                held.join(", ")
            ))
        })
    }
}

/// A catalogue text: `tr!(lang, "key")` or `tr!(lang, "key", name = value, …)`. The key is a
/// literal so that the catalogue check (tests) can find every key the code uses.
#[macro_export]
macro_rules! tr {
    ($lang:expr, $key:literal) => {
        $crate::i18n::Lang::text($lang, $key)
    };
    ($lang:expr, $key:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::i18n::Lang::text_with(
            $lang,
            $key,
            vec![$((stringify!($name), $crate::i18n::arg($value))),+],
        )
    };
}

/// A value for a catalogue argument: numbers stay numbers (plural selection), the rest is text.
pub fn arg<T: Into<Arg>>(v: T) -> FluentValue<'static> {
    match v.into() {
        Arg::Num(n) => FluentValue::from(n),
        Arg::Text(s) => FluentValue::from(s),
    }
}

pub enum Arg {
    Num(f64),
    Text(String),
}

macro_rules! num_arg {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Self {
                Arg::Num(n as f64)
            }
        }
    )*};
}
num_arg!(i32, i64, u32, u64, usize, f32, f64);

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}
impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(s.clone())
    }
}
impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

#[cfg(test)]
mod tests;
