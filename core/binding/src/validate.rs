//! Checks on what the merchant types in, before anything goes to the
//! platform.

use crate::error::{BindingError, invalid};

/// Luhn (ISO/IEC 7812-1 annex B) over a digit string.
pub fn luhn_ok(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// A bank card number for settlement: 16 to 19 digits with a valid check digit.
pub fn settlement_card(number: &str) -> Result<(), BindingError> {
    let n = number.trim();
    if !(16..=19).contains(&n.len()) || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("card number", "must be 16 to 19 digits"));
    }
    if !luhn_ok(n) {
        return Err(invalid(
            "card number",
            "check digit is wrong; type the number again",
        ));
    }
    Ok(())
}

/// The unified social credit code of a business licence (GB 32100): 18
/// characters, digits and capital letters.
pub fn business_licence(code: &str) -> Result<(), BindingError> {
    if code.len() != 18 || !code.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
        return Err(invalid(
            "business licence",
            "must be the 18-character unified social credit code",
        ));
    }
    Ok(())
}

pub fn holder_name(name: &str) -> Result<(), BindingError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 40 || n.chars().any(char::is_control) {
        return Err(invalid("holder name", "must be 1 to 40 printable characters"));
    }
    Ok(())
}

/// Bank codes: 3 or 4 characters, letters or digits (e.g. "ICBC", "102").
pub fn bank_code(code: &str) -> Result<(), BindingError> {
    if !(3..=4).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid("bank code", "must be 3 or 4 letters or digits"));
    }
    Ok(())
}

/// Branch (CNAPS) codes: 12 digits.
pub fn branch_code(code: &str) -> Result<(), BindingError> {
    if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "branch code",
            "must be the 12-digit CNAPS code of the branch",
        ));
    }
    Ok(())
}

/// A mainland mobile number: 11 digits starting with 1.
pub fn phone(number: &str) -> Result<(), BindingError> {
    if number.len() != 11 || !number.starts_with('1') || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("contact phone", "must be an 11-digit mobile number"));
    }
    Ok(())
}

/// The legal representative's id number, kept masked: first 3 and last 4.
pub fn mask_id(id: &str) -> Result<String, BindingError> {
    let id = id.trim();
    if id.len() != 18
        || !id[..17].bytes().all(|b| b.is_ascii_digit())
        || !matches!(id.as_bytes()[17], b'0'..=b'9' | b'X' | b'x')
    {
        return Err(invalid(
            "legal representative id",
            "must be an 18-character resident id number",
        ));
    }
    Ok(format!("{}***********{}", &id[..3], &id[14..]))
}

/// First 6 and last 4 of a card number.
pub fn mask_card(number: &str) -> String {
    let n = number.len();
    if n < 10 {
        return "*".repeat(n);
    }
    format!("{}{}{}", &number[..6], "*".repeat(n - 10), &number[n - 4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_cards() {
        assert!(luhn_ok("4761739001010010"));
        assert!(!luhn_ok("4761739001010011"));
        assert!(settlement_card("6230580000000000013").is_ok());
        assert!(
            settlement_card("4761739001010011")
                .unwrap_err()
                .to_string()
                .contains("check digit")
        );
        assert!(settlement_card("476173900101").is_err());
    }

    #[test]
    fn forms() {
        assert!(business_licence("91110000600037341L").is_ok());
        assert!(business_licence("91110000600037341l").is_err());
        assert!(bank_code("ICBC").is_ok() && bank_code("I").is_err());
        assert!(branch_code("102100099996").is_ok() && branch_code("1021").is_err());
        assert!(phone("13800138000").is_ok() && phone("23800138000").is_err());
        assert_eq!(mask_id("11010519491231002X").unwrap(), "110***********002X");
        assert!(mask_id("123").is_err());
        assert_eq!(mask_card("6230580000000000013"), "623058*********0013");
        assert!(holder_name("").is_err() && holder_name("张三").is_ok());
    }
}
