//! Magnetic stripe: track 2 (ISO/IEC 7813), service codes, and the rules
//! for falling back from a chip that could not be read.

use std::fmt;

use zeroize::Zeroizing;

/// Why a track 2 could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Track2Error {
    #[error("track 2 has no field separator")]
    NoSeparator,
    #[error("track 2 PAN must be 12 to 19 digits")]
    BadPan,
    #[error("track 2 is too short for expiry date and service code")]
    TooShort,
    #[error("track 2 holds a character that is not a digit")]
    NotNumeric,
}

/// A parsed track 2. The PAN and discretionary data are card data: wiped on
/// drop, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Track2 {
    pub pan: Zeroizing<String>,
    /// YYMM.
    pub expiry: String,
    pub service_code: ServiceCode,
    pub discretionary: Zeroizing<String>,
}

impl fmt::Debug for Track2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Track2")
            .field("pan", &crate::outcome::mask_pan(&self.pan))
            .field("expiry", &self.expiry)
            .field("service_code", &self.service_code)
            .finish_non_exhaustive()
    }
}

impl Track2 {
    /// From the stripe's characters: `;PAN=YYMMSSS...?` (sentinels optional,
    /// `=` or `D` as separator).
    pub fn parse(text: &str) -> Result<Self, Track2Error> {
        let body = text.trim().trim_start_matches(';');
        let body = body.split('?').next().unwrap_or(body);
        let (pan, rest) = body.split_once(['=', 'D', 'd']).ok_or(Track2Error::NoSeparator)?;
        if !(12..=19).contains(&pan.len()) || !pan.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Track2Error::BadPan);
        }
        if rest.len() < 7 {
            return Err(Track2Error::TooShort);
        }
        if !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Track2Error::NotNumeric);
        }
        let code: [u8; 3] = rest.as_bytes()[4..7].try_into().expect("checked length");
        Ok(Track2 {
            pan: Zeroizing::new(pan.to_owned()),
            expiry: rest[..4].to_owned(),
            service_code: ServiceCode(code.map(|b| b - b'0')),
            discretionary: Zeroizing::new(rest[7..].to_owned()),
        })
    }

    /// From track 2 equivalent data (57): BCD with a `D` separator and an
    /// `F` pad.
    pub fn from_equivalent_data(bytes: &[u8]) -> Result<Self, Track2Error> {
        let mut text = Zeroizing::new(String::with_capacity(bytes.len() * 2));
        for n in bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
            match n {
                0..=9 => text.push(char::from(b'0' + n)),
                0xD => text.push('='),
                0xF => break,
                _ => return Err(Track2Error::NotNumeric),
            }
        }
        Self::parse(&text)
    }
}

/// PAN and expiry (YYMM) from track 2 equivalent data, even when the rest
/// is missing or masked with `F` (as recorded sessions often are).
pub fn pan_and_expiry(bytes: &[u8]) -> Option<(Zeroizing<String>, String)> {
    let mut digits = Zeroizing::new(String::new());
    let mut nibbles = bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]);
    for n in nibbles.by_ref() {
        match n {
            0..=9 => digits.push(char::from(b'0' + n)),
            0xD => break,
            _ => return None,
        }
    }
    if !(12..=19).contains(&digits.len()) {
        return None;
    }
    let expiry: String = nibbles
        .take(4)
        .map(|n| if n <= 9 { char::from(b'0' + n) } else { '?' })
        .collect();
    if expiry.len() != 4 || expiry.contains('?') {
        return None;
    }
    Some((digits, expiry))
}

/// The three-digit service code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCode(pub [u8; 3]);

impl ServiceCode {
    /// First digit 2 or 6: the card has a chip that must be used when it works.
    pub fn has_chip(&self) -> bool {
        matches!(self.0[0], 2 | 6)
    }

    /// First digit 1 or 2: international; 5 or 6: national use only.
    pub fn international(&self) -> bool {
        matches!(self.0[0], 1 | 2)
    }

    /// Second digit 2 or 4: the issuer wants every transaction online.
    pub fn online_only(&self) -> bool {
        matches!(self.0[1], 2 | 4)
    }

    /// Third digit 0, 3, 5 or 6 (6 and 7: "prompt for PIN if PIN pad present").
    pub fn pin_required(&self) -> bool {
        matches!(self.0[2], 0 | 3 | 5)
    }

    /// Third digit 2, 5 or 7: goods and services only (no cash).
    pub fn goods_and_services_only(&self) -> bool {
        matches!(self.0[2], 2 | 5 | 7)
    }
}

/// What the terminal may do with a swiped card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwipeDecision {
    /// Process as magnetic stripe (POS entry mode 90).
    Accept,
    /// A chip card swiped while its chip works: ask for it to be inserted.
    UseChip,
    /// Fallback after a failed chip read (entry mode 80/92): process online.
    Fallback,
}

/// Book 4 and scheme rules: a chip card must be read by its chip; only a
/// chip failure in this same transaction allows the stripe, and then online.
pub fn swipe_decision(track: &Track2, chip_failed: bool) -> SwipeDecision {
    match (track.service_code.has_chip(), chip_failed) {
        (false, _) => SwipeDecision::Accept,
        (true, false) => SwipeDecision::UseChip,
        (true, true) => SwipeDecision::Fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_stripe_and_equivalent_data() {
        let t = Track2::parse(";4761739001010010=25122011143878?").unwrap();
        assert_eq!(&*t.pan, "4761739001010010");
        assert_eq!(t.expiry, "2512");
        assert_eq!(t.service_code, ServiceCode([2, 0, 1]));
        assert!(t.service_code.has_chip());
        let e =
            Track2::from_equivalent_data(&hex::decode("4761739001010010D25122011143878F").unwrap()).unwrap();
        assert_eq!(e, t);
        assert!(!format!("{t:?}").contains("4761739001010010"));
    }

    #[test]
    fn errors_and_fallback() {
        assert_eq!(
            Track2::parse("4761739001010010").unwrap_err(),
            Track2Error::NoSeparator
        );
        assert_eq!(Track2::parse("123=2512201").unwrap_err(), Track2Error::BadPan);
        assert_eq!(
            Track2::parse("4761739001010010=2512").unwrap_err(),
            Track2Error::TooShort
        );
        let chip = Track2::parse("4761739001010010=2512201").unwrap();
        assert_eq!(swipe_decision(&chip, false), SwipeDecision::UseChip);
        assert_eq!(swipe_decision(&chip, true), SwipeDecision::Fallback);
        let stripe = Track2::parse("4761739001010010=2512101").unwrap();
        assert_eq!(swipe_decision(&stripe, false), SwipeDecision::Accept);
    }

    #[test]
    fn pan_and_expiry_from_masked_track() {
        let (pan, expiry) =
            pan_and_expiry(&hex::decode("4999999999999999D15092FFFFFFFFFFFFFF0F").unwrap()).unwrap();
        assert_eq!((pan.as_str(), expiry.as_str()), ("4999999999999999", "1509"));
        assert!(pan_and_expiry(&[0x12, 0xD1]).is_none());
    }

    proptest! {
        #[test]
        fn never_panics(text in ".{0,64}", bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Track2::parse(&text);
            let _ = Track2::from_equivalent_data(&bytes);
        }
    }
}
