//! The platform's review and validation rules, and the little calendar
//! arithmetic the warranty needs. Pure functions.

/// A unified social credit code as the simulator checks it: 18 characters,
/// digits or uppercase letters (the real code also has a check character;
/// the simulator does not verify it).
pub fn is_valid_business_licence(licence: &str) -> bool {
    licence.len() == 18
        && licence
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// A bank card number: 16 to 19 digits with a valid Luhn check digit.
pub fn is_valid_card_number(number: &str) -> bool {
    (16..=19).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit()) && luhn_ok(number)
}

/// The Luhn (mod 10) check over a string of digits.
pub fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum % 10 == 0
}

/// A bank code: 3 or 4 characters, all digits ("102", "0102") or all
/// uppercase letters ("ICBC", "CCB").
pub fn is_valid_bank_code(code: &str) -> bool {
    (3..=4).contains(&code.len())
        && (code.bytes().all(|b| b.is_ascii_digit()) || code.bytes().all(|b| b.is_ascii_uppercase()))
}

/// A branch code: 1 to 32 letters or digits (a CNAPS code has 12 digits).
pub fn is_valid_branch_code(code: &str) -> bool {
    (1..=32).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A card number shown the only way it may be shown: first 6, last 4.
pub fn mask_card(number: &str) -> String {
    if number.len() < 10 || !number.is_ascii() {
        return "*".repeat(number.len().min(19));
    }
    format!(
        "{}{}{}",
        &number[..6],
        "*".repeat(number.len() - 10),
        &number[number.len() - 4..]
    )
}

/// A phone number with the middle hidden: "138****5678".
pub fn mask_phone(phone: &str) -> String {
    if phone.len() < 7 || !phone.is_ascii() {
        return "****".into();
    }
    format!("{}****{}", &phone[..3], &phone[phone.len() - 4..])
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date, or `None` if it is not one.
pub fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, m, d) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil calendar algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licences() {
        assert!(is_valid_business_licence("91310000MA1FL8XQ3K"));
        assert!(!is_valid_business_licence("91310000ma1fl8xq3k"));
        assert!(!is_valid_business_licence("9131000"));
        assert!(!is_valid_business_licence("91310000MA1FL8XQ3KÉ"));
    }

    #[test]
    fn cards() {
        assert!(is_valid_card_number("4111111111111111"));
        assert!(!is_valid_card_number("4111111111111112"));
        assert!(!is_valid_card_number("411111111111111")); // 15 digits
        assert!(!is_valid_card_number("4111 1111 1111 1111"));
        assert_eq!(mask_card("4111111111111111"), "411111******1111");
    }

    #[test]
    fn codes_and_phones() {
        assert!(is_valid_bank_code("ICBC") && is_valid_bank_code("102") && is_valid_bank_code("0102"));
        assert!(!is_valid_bank_code("IC") && !is_valid_bank_code("IC01") && !is_valid_bank_code("icbc"));
        assert!(is_valid_branch_code("102290000011") && !is_valid_branch_code(""));
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("123"), "****");
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert_eq!(
            parse_date("2024-02-29").map(format_date).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2023-13-01"), None);
        assert_eq!(parse_date("2023-1-01x"), None);
        assert_eq!(parse_date("+023-01-01"), None);
        for day in [-1000, 0, 59, 365, 20_000, 30_000] {
            assert_eq!(parse_date(&format_date(day)), Some(day));
        }
    }
}
