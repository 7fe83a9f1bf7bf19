//! The PAN as certificates carry it: compressed numeric (cn), digits packed
//! two to a byte and padded on the right with hex F.
//!
//! Nothing here copies the PAN to the heap or into an error.

use super::{OdaError, tags};

/// The longest PAN EMV allows is 19 digits, 10 bytes of cn (Book 3 Annex A, 5A).
pub(crate) const PAN_FIELD_LEN: usize = 10;

/// Checks the card's PAN (5A) is cn: 1 to 10 bytes, digits and then only F
/// padding. Returns the number of digits.
pub(crate) fn check_card_pan(pan: &[u8]) -> Result<usize, OdaError> {
    if pan.is_empty() {
        return Err(OdaError::MissingData(tags::PAN));
    }
    let invalid = || OdaError::InvalidData {
        tag: tags::PAN,
        reason: "the PAN is not 1 to 19 digits padded with F",
    };
    if pan.len() > PAN_FIELD_LEN {
        return Err(invalid());
    }
    match cn_digit_count(pan) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(invalid()),
    }
}

/// Number of leading decimal digits of a cn field, or `None` when a digit
/// follows the F padding or a nibble is A to E.
pub(crate) fn cn_digit_count(field: &[u8]) -> Option<usize> {
    let mut digits = 0;
    let mut padding = false;
    for nibble in nibbles(field) {
        match nibble {
            0..=9 if !padding => digits += 1,
            0x0F => padding = true,
            _ => return None,
        }
    }
    Some(digits)
}

/// Book 2 5.3 step 8: the Issuer Identifier is the leftmost 3 to 8 PAN
/// digits, padded with F to 4 bytes. `Err` with the reason when the field
/// itself is malformed, `Ok(false)` when it is well formed but another
/// issuer's.
pub(crate) fn issuer_identifier_matches(identifier: &[u8; 4], pan: &[u8]) -> Result<bool, &'static str> {
    let digits = cn_digit_count(identifier)
        .filter(|n| (3..=8).contains(n))
        .ok_or("the issuer identifier is not 3 to 8 digits padded with F")?;
    if cn_digit_count(pan).is_none_or(|pan_digits| pan_digits < digits) {
        return Ok(false);
    }
    Ok(nibbles(identifier).take(digits).eq(nibbles(pan).take(digits)))
}

/// Book 2 6.4 step 8: the Application PAN in the ICC certificate is the
/// card's PAN padded with F to 10 bytes, so the padding must agree too.
pub(crate) fn certificate_pan_matches(field: &[u8], pan: &[u8]) -> bool {
    field.len() == PAN_FIELD_LEN
        && pan.len() <= PAN_FIELD_LEN
        && field[..pan.len()] == *pan
        && field[pan.len()..].iter().all(|&b| b == 0xFF)
}

fn nibbles(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bytes.iter().flat_map(|b| [b >> 4, b & 0x0F])
}

#[cfg(test)]
mod tests {
    use super::*;

    // A test PAN only (the Visa SDA example), never a live card.
    const PAN: [u8; 8] = [0x42, 0x76, 0x55, 0x00, 0x13, 0x23, 0x45, 0x99];

    #[test]
    fn issuer_identifier_is_the_leading_digits() {
        assert_eq!(
            issuer_identifier_matches(&[0x42, 0x76, 0x55, 0xFF], &PAN),
            Ok(true)
        );
        assert_eq!(
            issuer_identifier_matches(&[0x42, 0x7F, 0xFF, 0xFF], &PAN),
            Ok(true)
        );
        assert_eq!(
            issuer_identifier_matches(&[0x42, 0x76, 0x55, 0x00], &PAN),
            Ok(true)
        );
        assert_eq!(
            issuer_identifier_matches(&[0x42, 0x76, 0x56, 0xFF], &PAN),
            Ok(false)
        );
        // Two digits are too few, a digit after padding is malformed.
        assert!(issuer_identifier_matches(&[0x42, 0xFF, 0xFF, 0xFF], &PAN).is_err());
        assert!(issuer_identifier_matches(&[0x42, 0x7F, 0xF5, 0xFF], &PAN).is_err());
        assert!(issuer_identifier_matches(&[0x42, 0x7A, 0xFF, 0xFF], &PAN).is_err());
        // A PAN shorter than the identifier cannot match it.
        assert_eq!(
            issuer_identifier_matches(&[0x42, 0x76, 0x55, 0x00], &[0x42, 0x7F]),
            Ok(false)
        );
    }

    #[test]
    fn certificate_pan_must_match_with_its_padding() {
        let mut field = [0xFF; 10];
        field[..8].copy_from_slice(&PAN);
        assert!(certificate_pan_matches(&field, &PAN));
        field[9] = 0x00;
        assert!(!certificate_pan_matches(&field, &PAN));
        assert!(!certificate_pan_matches(&field[..9], &PAN));
        let odd = [0x12, 0x34, 0x5F];
        let mut field = [0xFF; 10];
        field[..3].copy_from_slice(&odd);
        assert!(certificate_pan_matches(&field, &odd));
        assert!(!certificate_pan_matches(&field, &[0x12, 0x34]));
    }

    #[test]
    fn card_pan_format() {
        assert_eq!(check_card_pan(&PAN), Ok(16));
        assert_eq!(check_card_pan(&[0x12, 0x3F]), Ok(3));
        assert_eq!(check_card_pan(&[]), Err(OdaError::MissingData(tags::PAN)));
        assert!(check_card_pan(&[0xFF]).is_err());
        assert!(check_card_pan(&[0x1A]).is_err());
        assert!(check_card_pan(&[0x12; 11]).is_err());
    }
}
