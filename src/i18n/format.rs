//! Dates and times for a reader, in their language (month names from the locale data chrono
//! carries). Times are UTC and say so: a portal's time zone is not known to us.

use chrono::{DateTime, Locale, Utc};

use super::Lang;

fn locale(lang: Lang) -> Locale {
    match lang.code() {
        "ru" => Locale::ru_RU,
        "uk" => Locale::uk_UA,
        "kk" => Locale::kk_KZ,
        _ => Locale::en_GB,
    }
}

fn at(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// `7 Dec 2026` / `7 декабря 2026`.
pub fn date(lang: Lang, ms: i64) -> String {
    let Some(t) = at(ms) else {
        return String::new();
    };
    // Russian writes the month in full and in the genitive ("7 декабря"): chrono's ru_RU `%B`.
    let pattern = if lang.code() == "en" {
        "%-d %b %Y"
    } else {
        "%-d %B %Y"
    };
    t.format_localized(pattern, locale(lang)).to_string()
}

/// `14:05 UTC`, the same in every language the catalogues hold.
pub fn time(_lang: Lang, ms: i64) -> String {
    at(ms).map_or(String::new(), |t| t.format("%H:%M UTC").to_string())
}

/// The date and the time, joined as the language joins them (`7 Dec 2026, 14:05 UTC`).
pub fn date_time(lang: Lang, ms: i64) -> String {
    crate::tr!(
        lang,
        "date-time",
        date = date(lang, ms),
        time = time(lang, ms)
    )
}
