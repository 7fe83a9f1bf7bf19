//! The rules of EMV QRCPS MPM (chapters 3 and 4) a code must keep: order,
//! CRC, mandatory objects, formats and lengths, the tip indicator.
//!
//! A reader keeps what the spec reserves for future use (MPM 4.5: an app
//! must not refuse a code for carrying it); a writer refuses it, and also
//! refuses text outside the common character set where the format is
//! "ans", since some wallets would show it garbled.

use super::error::{MpmError, Problem};
use super::object::{DataObject, Value, encode_objects, find};
use super::schema::{Kind, Path, is_reserved};
use crate::crc::crc_value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Read,
    Write,
}

/// Every rule `objects` break, layout and CRC first. `encoded` is the code
/// they were read from (or encode to).
pub(crate) fn problems(objects: &[DataObject], encoded: &str, purpose: Purpose) -> Vec<MpmError> {
    let mut out = Vec::new();
    check_layout(objects, encoded, &mut out);
    check_siblings(objects, None, &mut out);
    check_mandatory(objects, &mut out);
    for object in objects {
        check_object(object, Path::root(object.id()), purpose, &mut out);
    }
    check_tip(objects, &mut out);
    out
}

fn check_layout(objects: &[DataObject], encoded: &str, out: &mut Vec<MpmError>) {
    if encoded.len() > super::MAX_LEN {
        let chars = encoded.chars().count();
        if chars > super::MAX_LEN {
            out.push(MpmError::TooLong(chars));
        }
    }
    let has = |id| find(objects, id).is_some();
    if objects.first().is_some_and(|o| o.id() != 0) && has(0) {
        out.push(MpmError::FormatIndicatorNotFirst);
    }
    let Some(last) = objects.last() else {
        return;
    };
    if last.id() != 63 {
        if has(63) {
            out.push(MpmError::CrcNotLast);
        }
        return;
    }
    let crc = Path::root(63);
    match last.as_text() {
        Some(found) if found.len() == 4 && found.bytes().all(|b| b.is_ascii_hexdigit()) => {
            let expected = crc_value(&encoded[..encoded.len().saturating_sub(4)]);
            // Hex digits compare without case: the spec writes them
            // uppercase, and a reader loses nothing by accepting either.
            if !found.eq_ignore_ascii_case(&expected) {
                out.push(MpmError::CrcMismatch {
                    expected,
                    found: found.to_owned(),
                });
            }
        }
        Some(_) => out.push(MpmError::invalid(crc, Problem::OneOf("four hexadecimal digits"))),
        None => out.push(MpmError::invalid(crc, Problem::NotAPlainValue)),
    }
}

/// Each id once among siblings.
fn check_siblings(objects: &[DataObject], parent: Option<Path>, out: &mut Vec<MpmError>) {
    for (i, object) in objects.iter().enumerate() {
        let id = object.id();
        let first = objects.iter().position(|o| o.id() == id) == Some(i);
        if !first && objects[..i].iter().filter(|o| o.id() == id).count() == 1 {
            out.push(MpmError::Duplicate(
                parent.map_or(Path::root(id), |p| p.child(id)),
            ));
        }
    }
}

fn check_mandatory(objects: &[DataObject], out: &mut Vec<MpmError>) {
    for id in [0, 52, 53, 58, 59, 60, 63] {
        if find(objects, id).is_none() {
            out.push(MpmError::Missing(Path::root(id)));
        }
    }
    if !objects.iter().any(|o| (2..=51).contains(&o.id())) {
        out.push(MpmError::NoMerchantAccount);
    }
}

fn check_object(object: &DataObject, path: Path, purpose: Purpose, out: &mut Vec<MpmError>) {
    let mut report = |problem| out.push(MpmError::invalid(path, problem));
    if purpose == Purpose::Write && is_reserved(path.ids()) {
        report(Problem::Reserved);
    }
    match (path.kind(), object.value()) {
        (Kind::Template, Value::Text(_)) => report(Problem::NotATemplate),
        (Kind::Primitive, Value::Template(_)) => report(Problem::NotAPlainValue),
        (Kind::Primitive, Value::Text(text)) => {
            if let Some(problem) = check_text(path, text, purpose) {
                report(problem);
            }
        }
        (Kind::Template, Value::Template(children)) => {
            if purpose == Purpose::Write {
                let len = encode_objects(children).chars().count();
                if len > 99 {
                    report(Problem::TooLong { len, max: 99 });
                }
            }
            if children.is_empty() {
                report(Problem::Empty);
            }
            check_template(children, path, out);
            for child in children {
                check_object(child, path.child(child.id()), purpose, out);
            }
        }
    }
}

/// Sub-objects a template must hold.
fn check_template(children: &[DataObject], path: Path, out: &mut Vec<MpmError>) {
    check_siblings(children, Some(path), out);
    let mandatory: &[u8] = match path.ids() {
        // MPM 4.7.11 and 4.9: the globally unique identifier (an AID, a
        // UUID or a reverse domain name) says whose template it is.
        [26..=51 | 80..=99] => &[0],
        [64] => &[0, 1],
        _ => &[],
    };
    for &id in mandatory {
        if find(children, id).is_none() {
            out.push(MpmError::Missing(path.child(id)));
        }
    }
}

fn check_text(path: Path, text: &str, purpose: Purpose) -> Option<Problem> {
    let len = text.chars().count();
    if len == 0 {
        return Some(Problem::Empty);
    }
    let at_most = |max: usize| (len > max).then_some(Problem::TooLong { len, max });
    let problem = match path.ids() {
        // Checked with the layout: four hex digits, the right ones.
        [63] => None,
        [0] => (text != "01").then_some(Problem::OneOf("01")),
        [1] => (!matches!(text, "11" | "12")).then_some(Problem::OneOf("11 (static) or 12 (dynamic)")),
        [52] => digits(text, 4),
        [53] => digits(text, 3),
        [54] | [56] => amount(text, len),
        [55] => (!matches!(text, "01" | "02" | "03")).then_some(Problem::OneOf(
            "01 (prompt for a tip), 02 (fixed convenience fee) or 03 (percentage convenience fee)",
        )),
        [57] => percentage(text, len),
        [58] => letters(text, len, "ISO 3166-1 alpha-2 country code, e.g. CN"),
        [59] => at_most(25),
        [60] => at_most(15),
        [61] => at_most(10),
        [26..=51 | 80..=99, 0] | [62, 50..=99, 0] => at_most(32),
        [62, 1..=8] => at_most(25),
        [62, 9] => consumer_data_request(text),
        [62, 10] => at_most(20),
        [62, 11] => (len != 3).then_some(Problem::WrongLength { len, expected: 3 }),
        [64, 0] => letters(text, len, "ISO 639 language code, e.g. ZH"),
        [64, 1] => at_most(25),
        [64, 2] => at_most(15),
        _ => at_most(99),
    };
    if problem.is_some() || purpose == Purpose::Read {
        return problem;
    }
    let common = text.bytes().all(|b| (0x20..0x7F).contains(&b));
    match path.ids() {
        // Format "S": any Unicode character.
        [64, ..] => None,
        [59 | 60] if !common => Some(Problem::NotCommonCharacters(
            "; give a name in another script in template 64 (language template)",
        )),
        _ if !common => Some(Problem::NotCommonCharacters("")),
        _ => None,
    }
}

fn digits(text: &str, expected: usize) -> Option<Problem> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        Some(Problem::NotNumeric)
    } else if text.len() != expected {
        Some(Problem::WrongLength {
            len: text.len(),
            expected,
        })
    } else {
        None
    }
}

/// MPM 4.7.6: digits with at most one '.' as the decimal mark (`98.73`,
/// `98`, `98.`), at most 13 characters, not zero.
fn amount(text: &str, len: usize) -> Option<Problem> {
    if len > 13 {
        return Some(Problem::TooLong { len, max: 13 });
    }
    if !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Some(Problem::NotNumeric);
    }
    if text.bytes().filter(|&b| b == b'.').count() > 1 || !text.bytes().any(|b| b.is_ascii_digit()) {
        return Some(Problem::NotAnAmount);
    }
    text.bytes()
        .all(|b| b == b'0' || b == b'.')
        .then_some(Problem::Zero)
}

/// MPM 4.7.8: a percentage from 00.01 to 99.99, at most 5 characters.
fn percentage(text: &str, len: usize) -> Option<Problem> {
    if len > 5 {
        return Some(Problem::TooLong { len, max: 5 });
    }
    if !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Some(Problem::NotNumeric);
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let hundredths = (whole.len() <= 2 && fraction.len() <= 2 && !fraction.contains('.'))
        .then(|| {
            let whole: u32 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
            let fraction: u32 = format!("{fraction:0<2}").parse().ok()?;
            Some(whole * 100 + fraction)
        })
        .flatten();
    match hundredths {
        Some(1..=9999) => None,
        _ => Some(Problem::NotAPercentage),
    }
}

fn letters(text: &str, len: usize, what: &'static str) -> Option<Problem> {
    (len != 2 || !text.bytes().all(|b| b.is_ascii_alphabetic())).then_some(Problem::NotLetters(what))
}

/// MPM 4.8: "A", "M" and "E", each at most once, in any order.
fn consumer_data_request(text: &str) -> Option<Problem> {
    let ok = text.len() <= 3
        && text.bytes().all(|b| matches!(b, b'A' | b'M' | b'E'))
        && text
            .bytes()
            .enumerate()
            .all(|(i, b)| !text.as_bytes()[..i].contains(&b));
    (!ok).then_some(Problem::ConsumerDataRequest)
}

/// MPM 4.7.7 to 4.7.9: a fee value only with its indicator, and the
/// indicator's fee present.
fn check_tip(objects: &[DataObject], out: &mut Vec<MpmError>) {
    let text = |id| find(objects, id).and_then(DataObject::as_text);
    let indicator = text(55);
    for (id, wanted, what) in [(56, "02", "02 (fixed fee)"), (57, "03", "03 (percentage fee)")] {
        let path = Path::root(id);
        match (indicator == Some(wanted), find(objects, id).is_some()) {
            (true, false) => out.push(MpmError::invalid(path, Problem::TipValueMissing(what))),
            (false, true) => out.push(MpmError::invalid(path, Problem::TipIndicatorDisagrees(what))),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        for ok in ["98.73", "98", "98.", "0.01", "1234567890.12"] {
            assert_eq!(amount(ok, ok.len()), None, "{ok}");
        }
        assert_eq!(amount("12,50", 5), Some(Problem::NotNumeric));
        assert_eq!(amount("-1", 2), Some(Problem::NotNumeric));
        assert_eq!(amount("1.2.3", 5), Some(Problem::NotAnAmount));
        assert_eq!(amount(".", 1), Some(Problem::NotAnAmount));
        assert_eq!(amount("0.00", 4), Some(Problem::Zero));
        assert_eq!(
            amount("12345678901.23", 14),
            Some(Problem::TooLong { len: 14, max: 13 })
        );
    }

    #[test]
    fn percentages() {
        for ok in ["00.01", "10", "3.5", "99.99", ".5"] {
            assert_eq!(percentage(ok, ok.len()), None, "{ok}");
        }
        for bad in ["0", "00.00", "100", "1.234", "1..2"] {
            assert_eq!(percentage(bad, bad.len()), Some(Problem::NotAPercentage), "{bad}");
        }
        assert_eq!(percentage("5%", 2), Some(Problem::NotNumeric));
    }

    #[test]
    fn consumer_data_requests() {
        for ok in ["A", "ME", "AME", "EMA"] {
            assert_eq!(consumer_data_request(ok), None, "{ok}");
        }
        for bad in ["AA", "X", "AMEE"] {
            assert!(consumer_data_request(bad).is_some(), "{bad}");
        }
    }
}
