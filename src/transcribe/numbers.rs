//! Numbers written in digits, spelled out as words (Russian or English), for scoring
//! transcripts: Whisper writes "2500 рублей" where the speaker said "две тысячи пятьсот рублей".
//!
//! Cardinals only, in the nominative (Russian: masculine units, "одна/две тысячи"); a leading
//! one thousand or million is said without "one" ("тысяча пятьсот", "one thousand" stays, as
//! English says it). English has no "and" ("four hundred twelve").

/// The language numbers are spelled out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberLanguage {
    Russian,
    English,
}

impl NumberLanguage {
    /// From an ISO 639-1 code ("ru", "en"); other languages have no number words here.
    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "ru" => Some(Self::Russian),
            "en" => Some(Self::English),
            _ => None,
        }
    }

    /// The word for one digit (0-9), as said when a number is read digit by digit.
    pub fn digit(self, d: u8) -> &'static str {
        let i = usize::from(d.min(9));
        match self {
            Self::Russian => RU_UNITS[i],
            Self::English => EN_UNITS[i],
        }
    }

    /// `n` as a cardinal, words separated by single spaces.
    pub fn cardinal(self, n: u64) -> String {
        let mut words = Vec::new();
        match self {
            Self::Russian => ru_cardinal(n, &mut words),
            Self::English => en_cardinal(n, &mut words),
        }
        words.join(" ")
    }
}

const EN_UNITS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const EN_TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const EN_SCALES: [&str; 4] = ["", "thousand", "million", "billion"];

fn en_below_thousand(n: u64, out: &mut Vec<&'static str>) {
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        out.push(EN_UNITS[hundreds as usize]);
        out.push("hundred");
    }
    if rest >= 20 {
        out.push(EN_TENS[(rest / 10) as usize]);
        if rest % 10 > 0 {
            out.push(EN_UNITS[(rest % 10) as usize]);
        }
    } else if rest > 0 {
        out.push(EN_UNITS[rest as usize]);
    }
}

fn en_cardinal(n: u64, out: &mut Vec<&'static str>) {
    if n == 0 {
        out.push(EN_UNITS[0]);
        return;
    }
    let groups = groups_of_thousand(n);
    for (scale, &group) in groups.iter().enumerate().rev() {
        if group == 0 {
            continue;
        }
        en_below_thousand(group, out);
        if scale > 0 {
            out.push(EN_SCALES[scale.min(EN_SCALES.len() - 1)]);
        }
    }
}

const RU_UNITS: [&str; 20] = [
    "ноль",
    "один",
    "два",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
];
const RU_TENS: [&str; 10] = [
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
];
const RU_HUNDREDS: [&str; 10] = [
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
];
/// Each scale: its forms for 1, 2-4 and 5+ (and 11-14), and whether it is feminine.
const RU_SCALES: [([&str; 3], bool); 4] = [
    (["", "", ""], false),
    (["тысяча", "тысячи", "тысяч"], true),
    (["миллион", "миллиона", "миллионов"], false),
    (["миллиард", "миллиарда", "миллиардов"], false),
];

fn ru_below_thousand(n: u64, feminine: bool, out: &mut Vec<&'static str>) {
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        out.push(RU_HUNDREDS[hundreds as usize]);
    }
    let units = if rest >= 20 {
        out.push(RU_TENS[(rest / 10) as usize]);
        rest % 10
    } else {
        rest
    };
    match units {
        0 => {}
        1 if feminine => out.push("одна"),
        2 if feminine => out.push("две"),
        u => out.push(RU_UNITS[u as usize]),
    }
}

/// Which of the three Russian plural forms goes with `n`.
fn ru_form(n: u64) -> usize {
    let (last, last_two) = (n % 10, n % 100);
    if (11..=14).contains(&last_two) {
        2
    } else if last == 1 {
        0
    } else if (2..=4).contains(&last) {
        1
    } else {
        2
    }
}

fn ru_cardinal(n: u64, out: &mut Vec<&'static str>) {
    if n == 0 {
        out.push(RU_UNITS[0]);
        return;
    }
    let groups = groups_of_thousand(n);
    let top = groups.len() - 1;
    for (scale, &group) in groups.iter().enumerate().rev() {
        if group == 0 {
            continue;
        }
        let (forms, feminine) = RU_SCALES[scale.min(RU_SCALES.len() - 1)];
        // "тысяча двести", not "одна тысяча двести".
        if !(scale > 0 && scale == top && group == 1) {
            ru_below_thousand(group, feminine, out);
        }
        if scale > 0 {
            out.push(forms[ru_form(group)]);
        }
    }
}

/// `n` in groups of three digits, least significant first (at least one group).
fn groups_of_thousand(mut n: u64) -> Vec<u64> {
    let mut groups = vec![n % 1000];
    n /= 1000;
    while n > 0 {
        groups.push(n % 1000);
        n /= 1000;
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::NumberLanguage::{English, Russian};

    #[test]
    fn english_cardinals() {
        assert_eq!(English.cardinal(0), "zero");
        assert_eq!(English.cardinal(15), "fifteen");
        assert_eq!(English.cardinal(43), "forty three");
        assert_eq!(English.cardinal(412), "four hundred twelve");
        assert_eq!(English.cardinal(4215), "four thousand two hundred fifteen");
        assert_eq!(English.cardinal(1000), "one thousand");
        assert_eq!(English.cardinal(2_000_017), "two million seventeen");
    }

    #[test]
    fn russian_cardinals_agree_in_gender_and_number() {
        assert_eq!(Russian.cardinal(0), "ноль");
        assert_eq!(Russian.cardinal(21), "двадцать один");
        assert_eq!(Russian.cardinal(157), "сто пятьдесят семь");
        assert_eq!(Russian.cardinal(1500), "тысяча пятьсот");
        assert_eq!(Russian.cardinal(2500), "две тысячи пятьсот");
        assert_eq!(Russian.cardinal(4215), "четыре тысячи двести пятнадцать");
        assert_eq!(Russian.cardinal(12_900), "двенадцать тысяч девятьсот");
        assert_eq!(Russian.cardinal(21_000), "двадцать одна тысяча");
        assert_eq!(Russian.cardinal(5_000), "пять тысяч");
        assert_eq!(Russian.cardinal(1_000_000), "миллион");
        assert_eq!(Russian.cardinal(3_002_001), "три миллиона две тысячи один");
    }

    #[test]
    fn languages_by_code() {
        assert_eq!(super::NumberLanguage::from_code("RU"), Some(Russian));
        assert_eq!(super::NumberLanguage::from_code("en"), Some(English));
        assert_eq!(super::NumberLanguage::from_code("uk"), None);
        assert_eq!(Russian.digit(9), "девять");
        assert_eq!(English.digit(0), "zero");
    }
}
