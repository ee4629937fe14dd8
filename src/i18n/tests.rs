use super::*;

#[test]
fn bitrix24_ids_pick_a_held_language_or_the_documented_fallback() {
    assert_eq!(Lang::from_bitrix24("ru"), Lang::ru());
    assert_eq!(Lang::from_bitrix24("RU "), Lang::ru());
    assert_eq!(Lang::from_bitrix24("en"), Lang::en());
    // Russian-speaking portals without a catalogue of their own read Russian.
    assert_eq!(Lang::from_bitrix24("kz"), Lang::ru());
    assert_eq!(Lang::from_bitrix24("by"), Lang::ru());
    assert_eq!(Lang::from_bitrix24("uz"), Lang::ru());
    // Ukrainian and every other language without a catalogue read English.
    assert_eq!(Lang::from_bitrix24("ua"), Lang::en());
    assert_eq!(Lang::from_bitrix24("de"), Lang::en());
    assert_eq!(Lang::from_bitrix24(""), Lang::en());
}

#[test]
fn accept_language_follows_q_values_and_falls_back_to_english() {
    assert_eq!(
        Lang::from_accept_language("ru-RU,ru;q=0.9,en;q=0.8"),
        Lang::ru()
    );
    assert_eq!(
        Lang::from_accept_language("en-US,en;q=0.9,ru;q=0.8"),
        Lang::en()
    );
    assert_eq!(Lang::from_accept_language("de;q=0.9, ru;q=0.5"), Lang::ru());
    assert_eq!(Lang::from_accept_language("en;q=0.1, ru"), Lang::ru());
    assert_eq!(Lang::from_accept_language("kk-KZ"), Lang::ru());
    assert_eq!(Lang::from_accept_language("fr"), Lang::en());
    assert_eq!(Lang::from_accept_language("*"), Lang::en());
    assert_eq!(Lang::from_accept_language(""), Lang::en());
}

#[test]
fn languages_serialize_as_their_code_and_refuse_unknown_ones() {
    assert_eq!(
        serde_json::to_string(&Lang::ru()).ok().as_deref(),
        Some("\"ru\"")
    );
    let back: Result<Lang, _> = serde_json::from_str("\"en\"");
    assert_eq!(back.ok(), Some(Lang::en()));
    let bad = serde_json::from_str::<Lang>("\"xx\"")
        .err()
        .map(|e| e.to_string());
    assert!(bad.is_some_and(|e| e.contains("unknown language \"xx\"")));
}

#[test]
fn russian_plurals_take_three_forms() {
    let ru = Lang::ru();
    let secs = |n: i64| crate::tr!(ru, "unit-seconds", count = n);
    assert_eq!(secs(1), "1 секунда");
    assert_eq!(secs(2), "2 секунды");
    assert_eq!(secs(5), "5 секунд");
    assert_eq!(secs(21), "21 секунда");
    assert_eq!(secs(45), "45 секунд");
    let en = Lang::en();
    assert_eq!(crate::tr!(en, "unit-seconds", count = 1), "1 second");
    assert_eq!(crate::tr!(en, "unit-seconds", count = 45), "45 seconds");
}

#[test]
fn dates_read_naturally_in_each_language() {
    // 2026-12-07 14:05 UTC
    let ms = 1_796_652_300_000;
    assert_eq!(date_time(Lang::en(), ms), "7 Dec 2026, 14:05 UTC");
    assert_eq!(date_time(Lang::ru(), ms), "7 декабря 2026 г., 14:05 UTC");
}

#[test]
fn arguments_carry_no_isolation_marks() {
    let t = crate::tr!(Lang::en(), "unit-seconds", count = 3);
    assert!(!t.contains('\u{2068}') && !t.contains('\u{2069}'), "{t:?}");
}
