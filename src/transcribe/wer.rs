//! Word error rate of a transcript against a reference text: the word-level edit distance
//! (substitutions + deletions + insertions) over the reference's word count, after
//! normalising both sides.
//!
//! [`Normalization::Plain`]: lower case, ё → е, punctuation removed (apostrophes dropped so
//! "don't" is one word, every other mark is a word break, so "что-то" is two words on both sides).
//! [`Normalization::SpelledNumbers`] also spells out numbers written in digits, because Whisper
//! writes "2500 рублей" for "две тысячи пятьсот рублей" (see [`spell_numbers`] for the rules).
//! The benchmark reports the spelled-out variant; the plain one shows what digits cost.

use super::numbers::NumberLanguage;

/// How texts are normalised before words are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalization {
    Plain,
    SpelledNumbers(NumberLanguage),
}

/// Word errors against a reference (add several up for a corpus's rate).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    /// Substitutions + deletions + insertions.
    pub errors: usize,
    /// Words in the reference.
    pub words: usize,
}

impl Score {
    /// Errors per reference word (0.25 = 25 %); may exceed 1 when the transcript invents words.
    pub fn rate(&self) -> f64 {
        if self.words == 0 {
            return if self.errors == 0 { 0.0 } else { 1.0 };
        }
        self.errors as f64 / self.words as f64
    }

    pub fn add(&mut self, other: Score) {
        self.errors += other.errors;
        self.words += other.words;
    }
}

/// Scores one transcript against its reference.
pub fn score(reference: &str, hypothesis: &str, how: Normalization) -> Score {
    let reference = words(reference, how);
    let hypothesis = words(hypothesis, how);
    Score {
        errors: edit_distance(&reference, &hypothesis),
        words: reference.len(),
    }
}

/// The normalised words of a text.
pub fn words(text: &str, how: Normalization) -> Vec<String> {
    let text = match how {
        Normalization::Plain => fold(text),
        Normalization::SpelledNumbers(lang) => spell_numbers(&fold(text), lang),
    };
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() {
            cleaned.push(c);
        } else if !is_apostrophe(c) {
            cleaned.push(' ');
        }
    }
    cleaned.split_whitespace().map(str::to_string).collect()
}

/// Lower case, ё → е.
fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`')
}

/// Word-level Levenshtein distance.
pub fn edit_distance<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> usize {
    // Two rows of the usual table: row[j] = distance between reference[..i] and hypothesis[..j].
    let mut previous: Vec<usize> = (0..=hypothesis.len()).collect();
    let mut current = vec![0; hypothesis.len() + 1];
    for (i, r) in reference.iter().enumerate() {
        current[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let substitution = previous[j] + usize::from(r != h);
            current[j + 1] = substitution
                .min(previous[j + 1] + 1) // deletion
                .min(current[j] + 1); // insertion
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[hypothesis.len()]
}

/// Characters that join groups of digits into one written number ("2 500", "555-214", "14:30").
fn is_digit_separator(c: char) -> bool {
    matches!(
        c,
        '-' | '–' | '.' | ',' | ':' | '/' | ' ' | '\u{a0}' | '\u{202f}'
    )
}

/// Spells out numbers written in digits (`text` already lower-cased):
/// - "2 500", "2,500", "12 900" (groups of three after the first) are one number: a cardinal.
/// - Groups joined by hyphens ("555-214-8930", "+7 925 430-12-19") are a phone number: in
///   English digit by digit, in Russian group by group ("четыреста тридцать двенадцать").
/// - Other groups ("14:30", "12.50") are read one by one; a ":00" is dropped ("3:00" = "three").
/// - A group with a leading zero or of seven or more digits is read digit by digit, any other
///   as a cardinal.
/// - "$45" becomes "forty five dollars", "10%" "ten percent" / "десять процентов", "₽" "рублей",
///   "№" "номер"; English ordinals ("3rd") become ordinal words; Russian ordinal endings
///   ("25-го", "3-й") are dropped, leaving the cardinal.
pub fn spell_numbers(text: &str, lang: NumberLanguage) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let (groups, seps, end) = numeric_run(&chars, i);
            let dollars = i > 0 && chars[i - 1] == '$';
            let mut spoken = read_run(&groups, &seps, lang);
            i = end;
            // Ordinal endings straight after the digits.
            let suffix_end = letters_end(&chars, i);
            let suffix: String = chars[i..suffix_end].iter().collect();
            if lang == NumberLanguage::English
                && matches!(suffix.as_str(), "st" | "nd" | "rd" | "th")
            {
                spoken = en_ordinal(&spoken);
                i = suffix_end;
            } else if lang == NumberLanguage::Russian
                && matches!(chars.get(i), Some('-'))
                && (1..=3).contains(&(letters_end(&chars, i + 1) - (i + 1)))
            {
                i = letters_end(&chars, i + 1);
            }
            out.push(' ');
            out.push_str(&spoken);
            if dollars {
                out.push_str(" dollars");
            }
            out.push(' ');
            continue;
        }
        let word = match (c, lang) {
            ('%', NumberLanguage::English) => Some("percent"),
            ('%', NumberLanguage::Russian) => Some("процентов"),
            ('₽', _) => Some("рублей"),
            ('№', _) => Some("номер"),
            _ => None,
        };
        match word {
            Some(w) => {
                out.push(' ');
                out.push_str(w);
                out.push(' ');
            }
            None => out.push(c),
        }
        i += 1;
    }
    out
}

/// The digit groups starting at `start`, the single separators between them, and where the
/// run ends.
fn numeric_run(chars: &[char], start: usize) -> (Vec<String>, Vec<char>, usize) {
    let mut groups = Vec::new();
    let mut seps = Vec::new();
    let mut i = start;
    loop {
        let mut group = String::new();
        while let Some(&d) = chars.get(i).filter(|d| d.is_ascii_digit()) {
            group.push(d);
            i += 1;
        }
        groups.push(group);
        match (chars.get(i), chars.get(i + 1)) {
            (Some(&sep), Some(next)) if is_digit_separator(sep) && next.is_ascii_digit() => {
                seps.push(sep);
                i += 1;
            }
            _ => return (groups, seps, i),
        }
    }
}

fn letters_end(chars: &[char], start: usize) -> usize {
    let mut i = start;
    while chars.get(i).is_some_and(|c| c.is_alphabetic()) {
        i += 1;
    }
    i
}

fn read_run(groups: &[String], seps: &[char], lang: NumberLanguage) -> String {
    if let [group] = groups {
        return read_group(group, lang);
    }
    let thousands = groups[0].len() <= 3
        && groups[1..].iter().all(|g| g.len() == 3)
        && seps
            .iter()
            .all(|&s| s == seps[0] && matches!(s, ',' | ' ' | '\u{a0}' | '\u{202f}'));
    if thousands {
        let joined: String = groups.concat();
        if let Ok(n) = joined.parse::<u64>() {
            return lang.cardinal(n);
        }
    }
    let phone = seps.iter().any(|&s| s == '-' || s == '–');
    let mut words = Vec::new();
    for (k, group) in groups.iter().enumerate() {
        if k > 0 && seps[k - 1] == ':' && group.chars().all(|d| d == '0') {
            continue;
        }
        if phone && lang == NumberLanguage::English {
            words.push(digit_by_digit(group, lang));
        } else {
            words.push(read_group(group, lang));
        }
    }
    words.join(" ")
}

/// One group of digits: a cardinal, or digit by digit when it has a leading zero or 7+ digits.
fn read_group(group: &str, lang: NumberLanguage) -> String {
    if group.len() >= 7 || (group.len() > 1 && group.starts_with('0')) {
        return digit_by_digit(group, lang);
    }
    match group.parse::<u64>() {
        Ok(n) => lang.cardinal(n),
        Err(_) => digit_by_digit(group, lang),
    }
}

fn digit_by_digit(group: &str, lang: NumberLanguage) -> String {
    group
        .bytes()
        .map(|b| lang.digit(b.saturating_sub(b'0')))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "twenty one" → "twenty first".
fn en_ordinal(cardinal: &str) -> String {
    let (head, last) = match cardinal.rsplit_once(' ') {
        Some((h, l)) => (format!("{h} "), l),
        None => (String::new(), cardinal),
    };
    let last = match last {
        "one" => "first".to_string(),
        "two" => "second".to_string(),
        "three" => "third".to_string(),
        "five" => "fifth".to_string(),
        "eight" => "eighth".to_string(),
        "nine" => "ninth".to_string(),
        "twelve" => "twelfth".to_string(),
        w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        w => format!("{w}th"),
    };
    format!("{head}{last}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use NumberLanguage::{English, Russian};

    fn spelled(text: &str, lang: NumberLanguage) -> String {
        words(text, Normalization::SpelledNumbers(lang)).join(" ")
    }

    #[test]
    fn edit_distance_counts_substitutions_deletions_and_insertions() {
        let r = ["a", "b", "c", "d"];
        assert_eq!(edit_distance(&r, &r), 0);
        assert_eq!(edit_distance(&r, &["a", "x", "c", "d"]), 1);
        assert_eq!(edit_distance(&r, &["a", "c", "d"]), 1);
        assert_eq!(edit_distance(&r, &["a", "b", "b", "c", "d"]), 1);
        assert_eq!(edit_distance(&r, &[]), 4);
        assert_eq!(edit_distance::<&str>(&[], &["x", "y"]), 2);
        // "kitten" → "sitting" in letters: the classic 3.
        let k: Vec<char> = "kitten".chars().collect();
        let s: Vec<char> = "sitting".chars().collect();
        assert_eq!(edit_distance(&k, &s), 3);
    }

    #[test]
    fn plain_normalisation_folds_case_yo_and_punctuation() {
        assert_eq!(
            words("Всё пришёл, ЁЛКА! Что-то?", Normalization::Plain),
            ["все", "пришел", "елка", "что", "то"]
        );
        assert_eq!(
            words("I don't know — it's \"fine\".", Normalization::Plain),
            ["i", "dont", "know", "its", "fine"]
        );
        // Plain keeps digits as they are.
        assert_eq!(
            words("Заказ 4215.", Normalization::Plain),
            ["заказ", "4215"]
        );
    }

    #[test]
    fn the_rate_is_errors_over_reference_words() {
        let s = score(
            "Привезите, пожалуйста, после шести вечера.",
            "привезите пожалуйста после шести вечером",
            Normalization::Plain,
        );
        assert_eq!(
            s,
            Score {
                errors: 1,
                words: 5
            }
        );
        assert!((s.rate() - 0.2).abs() < 1e-9);
        // Inventions can take the rate past 100 %.
        let s = score("да", "да да да", Normalization::Plain);
        assert_eq!(s.rate(), 2.0);
        let mut total = Score::default();
        total.add(Score {
            errors: 1,
            words: 4,
        });
        total.add(Score {
            errors: 3,
            words: 6,
        });
        assert!((total.rate() - 0.4).abs() < 1e-9);
        assert_eq!(Score::default().rate(), 0.0);
    }

    #[test]
    fn numbers_are_spelled_out_in_russian() {
        assert_eq!(
            spelled("Заказ номер 4215 ещё не пришёл", Russian),
            "заказ номер четыре тысячи двести пятнадцать еще не пришел"
        );
        assert_eq!(
            spelled("Я оплатил 2 500 рублей", Russian),
            "я оплатил две тысячи пятьсот рублей"
        );
        assert_eq!(
            spelled("стоит 12\u{a0}900 ₽", Russian),
            "стоит двенадцать тысяч девятьсот рублей"
        );
        // Phone numbers group by group; a leading zero is read digit by digit.
        assert_eq!(
            spelled("8-916-123-45-67", Russian),
            "восемь девятьсот шестнадцать сто двадцать три сорок пять шестьдесят семь"
        );
        assert_eq!(
            spelled("+7 925 430-12-09", Russian),
            "семь девятьсот двадцать пять четыреста тридцать двенадцать ноль девять"
        );
        // Times; ordinal endings dropped.
        assert_eq!(
            spelled("с 10:00 до 14:30, 3-й подъезд, 25-го", Russian),
            "с десять до четырнадцать тридцать три подъезд двадцать пять"
        );
        assert_eq!(spelled("скидка 10%", Russian), "скидка десять процентов");
        assert_eq!(spelled("№ 7", Russian), "номер семь");
    }

    #[test]
    fn numbers_are_spelled_out_in_english() {
        assert_eq!(
            spelled("My phone number is 555-214-8930.", English),
            "my phone number is five five five two one four eight nine three zero"
        );
        assert_eq!(
            spelled("I paid $45, but only half came.", English),
            "i paid forty five dollars but only half came"
        );
        assert_eq!(
            spelled("Order #4,215 on the 3rd at 6:00", English),
            "order four thousand two hundred fifteen on the third at six"
        );
        assert_eq!(spelled("the 21st", English), "the twenty first");
        assert_eq!(
            spelled("5552148930", English),
            "five five five two one four eight nine three zero"
        );
        assert_eq!(spelled("12.50", English), "twelve fifty");
    }

    #[test]
    fn spelled_numbers_turn_digit_transcripts_into_matches() {
        let reference = "Заказ номер четыре тысячи двести пятнадцать ещё не пришёл.";
        let hypothesis = "Заказ номер 4215 еще не пришел.";
        assert_eq!(
            score(reference, hypothesis, Normalization::Plain),
            Score {
                errors: 4,
                words: 9
            }
        );
        assert_eq!(
            score(
                reference,
                hypothesis,
                Normalization::SpelledNumbers(Russian)
            ),
            Score {
                errors: 0,
                words: 9
            }
        );
    }
}
