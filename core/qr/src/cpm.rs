//! EMVCo consumer-presented mode (EMV QRCPS CPM v1.0): the code a
//! customer's banking app shows (UnionPay's international code is one). It
//! is base64 text of BER-TLV data: a payload format indicator (`85`,
//! `CPV01`), one or more application templates (`61`) and an optional
//! common data template (`62`), with the card data and the cryptogram a
//! contactless card would give.
//!
//! The PAN, track 2 and cardholder name are card data: kept in zeroizing
//! buffers, masked in `Debug` (first 6 / last 4 of the PAN), never in an
//! error.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use poskit_emv::CardholderData;
use poskit_emv::data::cn_digits;
use poskit_emv::magstripe::Track2;
use poskit_tlv::{Tag, Tlv, TlvError, TlvIter};
use zeroize::Zeroizing;

/// The only payload format indicator CPM v1.0 defines.
pub const FORMAT_INDICATOR: &[u8] = b"CPV01";

/// The base64 text of the largest QR code (version 40, 2953 bytes) with
/// room to spare; anything longer is not a code that was scanned.
pub const MAX_LEN: usize = 4096;

const PAYLOAD_FORMAT: Tag = Tag(0x85);
const APPLICATION_TEMPLATE: Tag = Tag(0x61);
const COMMON_DATA_TEMPLATE: Tag = Tag(0x62);
const APPLICATION_TRANSPARENT: Tag = Tag(0x63);
const COMMON_TRANSPARENT: Tag = Tag(0x64);

/// Scanners and apps differ on the `=` padding; the data is the same.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a consumer-presented code was refused. Names tags, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CpmError {
    #[error("the code is empty: scan the customer's code again")]
    Empty,
    #[error("the code is {0} characters; a consumer-presented code has at most {MAX_LEN}")]
    TooLong(usize),
    #[error("not base64 text (A-Z a-z 0-9 + / and = padding); scan the customer's code again")]
    NotBase64,
    #[error("not BER-TLV data: {0}")]
    Tlv(#[from] TlvError),
    #[error("must start with tag 85 (payload format indicator)")]
    NoFormatIndicator,
    #[error("tag 85 (payload format indicator) must be CPV01; this code is of another kind or version")]
    UnknownFormat,
    #[error("has no application template (tag 61)")]
    NoApplication,
    #[error("tag {tag} is not allowed {place}")]
    Unexpected { tag: Tag, place: &'static str },
    #[error("tag {tag} appears more than once {place}")]
    Duplicate { tag: Tag, place: &'static str },
    #[error("application template {0}: no ADF name (tag 4F)")]
    NoAid(usize),
    #[error(
        "application template {0}: no PAN (5A) or track 2 equivalent data (57), in it or in the common data template"
    )]
    NoAccount(usize),
    #[error("tag {tag} ({}): {reason}", tag_name(*.tag))]
    BadElement { tag: Tag, reason: &'static str },
}

fn tag_name(tag: Tag) -> &'static str {
    poskit_tlv::lookup(tag).map_or("unknown tag", |info| info.name)
}

/// The data elements of one template: an application template (61) or the
/// common data template (62), whose elements hold for every application.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CpmTemplate {
    /// 4F, the ADF name (AID).
    pub aid: Option<Vec<u8>>,
    /// 50, the application label.
    pub label: Option<String>,
    /// 57, track 2 equivalent data as the app gave it (checked to parse).
    pub track2: Option<Zeroizing<Vec<u8>>>,
    /// 5A, the PAN's digits.
    pub pan: Option<Zeroizing<String>>,
    /// 5F20.
    pub cardholder_name: Option<Zeroizing<String>>,
    /// 5F2D, e.g. `zhen`.
    pub language_preference: Option<String>,
    /// 9F25, shown to the cashier in place of the PAN.
    pub pan_last4: Option<String>,
    /// The application specific transparent template (63) or the common
    /// data transparent template (64): the cryptogram data a host needs
    /// (9F26, 9F27, 9F10, 9F36, 82, 9F37, ...), in order.
    pub transparent: Vec<(Tag, Vec<u8>)>,
    /// Other data elements (5F50 issuer URL, 9F08, 9F19, 9F24, 5F24,
    /// 5F34, ...), in order.
    pub other: Vec<(Tag, Vec<u8>)>,
}

impl CpmTemplate {
    /// First 6 and last 4 digits of the PAN (5A, else track 2).
    pub fn masked_pan(&self) -> Option<String> {
        self.pan_digits().map(|pan| poskit_emv::mask_pan(&pan))
    }

    fn pan_digits(&self) -> Option<Zeroizing<String>> {
        if let Some(pan) = &self.pan {
            return Some(pan.clone());
        }
        let track = Track2::from_equivalent_data(self.track2.as_deref()?).ok()?;
        Some(track.pan)
    }

    /// A data element of this template, transparent template included.
    pub fn data(&self, tag: Tag) -> Option<&[u8]> {
        self.transparent
            .iter()
            .chain(&self.other)
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.as_slice())
    }
}

impl fmt::Debug for CpmTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
        f.debug_struct("CpmTemplate")
            .field("aid", &self.aid.as_deref().map(hex))
            .field("label", &self.label)
            .field("pan", &self.masked_pan())
            .field("track2", &self.track2.as_ref().map(|_| "redacted"))
            .field(
                "cardholder_name",
                &self.cardholder_name.as_ref().map(|_| "redacted"),
            )
            .field("language_preference", &self.language_preference)
            .field("pan_last4", &self.pan_last4)
            .field(
                "transparent",
                &self
                    .transparent
                    .iter()
                    .map(|(t, v)| (t, hex(v)))
                    .collect::<Vec<_>>(),
            )
            // Tags only: 5F24 (expiry) and the like are card data.
            .field("other", &self.other.iter().map(|(t, _)| t).collect::<Vec<_>>())
            .finish()
    }
}

/// A decoded consumer-presented code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerPresented {
    applications: Vec<CpmTemplate>,
    common: Option<CpmTemplate>,
}

impl ConsumerPresented {
    /// Decodes the scanned text (base64; surrounding whitespace ignored).
    pub fn decode(code: &str) -> Result<Self, CpmError> {
        let code = code.trim_matches(|c: char| c.is_ascii_whitespace());
        if code.is_empty() {
            return Err(CpmError::Empty);
        }
        if code.len() > MAX_LEN {
            return Err(CpmError::TooLong(code.chars().count()));
        }
        let bytes = Zeroizing::new(BASE64.decode(code).map_err(|_| CpmError::NotBase64)?);
        Self::from_bytes(&bytes)
    }

    /// Decodes the BER-TLV payload itself.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CpmError> {
        poskit_tlv::validate(bytes)?;
        let mut objects = TlvIter::new(bytes);
        match objects.next().transpose()? {
            Some(first) if first.tag() == PAYLOAD_FORMAT => {
                if first.value() != FORMAT_INDICATOR {
                    return Err(CpmError::UnknownFormat);
                }
            }
            _ => return Err(CpmError::NoFormatIndicator),
        }
        let mut applications = Vec::new();
        let mut common = None;
        for object in objects {
            let object = object?;
            match object.tag() {
                APPLICATION_TEMPLATE => applications.push(read_template(&object, APPLICATION_TRANSPARENT)?),
                COMMON_DATA_TEMPLATE if common.is_none() => {
                    common = Some(read_template(&object, COMMON_TRANSPARENT)?)
                }
                tag @ (COMMON_DATA_TEMPLATE | PAYLOAD_FORMAT) => {
                    return Err(CpmError::Duplicate {
                        tag,
                        place: "at the top level",
                    });
                }
                tag => {
                    return Err(CpmError::Unexpected {
                        tag,
                        place: "at the top level",
                    });
                }
            }
        }
        if applications.is_empty() {
            return Err(CpmError::NoApplication);
        }
        let code = ConsumerPresented { applications, common };
        for (i, app) in code.applications.iter().enumerate() {
            if app.aid.is_none() {
                return Err(CpmError::NoAid(i + 1));
            }
            if code.account_of(i).is_none() {
                return Err(CpmError::NoAccount(i + 1));
            }
        }
        Ok(code)
    }

    /// The application templates (61), in the order of the code: the
    /// customer's preferred application first.
    pub fn applications(&self) -> &[CpmTemplate] {
        &self.applications
    }

    /// The common data template (62), whose elements hold for every
    /// application.
    pub fn common(&self) -> Option<&CpmTemplate> {
        self.common.as_ref()
    }

    /// The template that carries application `index`'s account: its own,
    /// else the common one.
    fn account_of(&self, index: usize) -> Option<&CpmTemplate> {
        let has_account = |t: &&CpmTemplate| t.pan.is_some() || t.track2.is_some();
        let app = self.applications.get(index)?;
        Some(app)
            .filter(has_account)
            .or(self.common.as_ref().filter(has_account))
    }

    /// First 6 and last 4 digits of application `index`'s PAN.
    pub fn masked_pan(&self, index: usize) -> Option<String> {
        self.account_of(index)?.masked_pan()
    }

    /// A data element for application `index` (0-based): its own template
    /// first, then the common one (CPM 7.2).
    pub fn data(&self, index: usize, tag: Tag) -> Option<&[u8]> {
        let app = self.applications.get(index)?;
        app.data(tag).or_else(|| self.common.as_ref()?.data(tag))
    }

    /// What the host message needs for application `index`: PAN, track 2,
    /// expiry, PAN sequence number. Callers must not log or keep it.
    pub fn cardholder_data(&self, index: usize) -> Option<CardholderData> {
        let account = self.account_of(index)?;
        let pan = account.pan_digits()?;
        let track2 = account.track2.clone().unwrap_or_default();
        let from_track = Track2::from_equivalent_data(&track2).ok().map(|t| t.expiry);
        // 5F24 is YYMMDD; the host wants YYMM.
        let from_5f24 = self
            .data(index, Tag(0x5F24))
            .and_then(cn_digits)
            .filter(|d| d.len() == 6)
            .map(|d| d[..4].to_owned());
        let psn = self
            .data(index, Tag(0x5F34))
            .and_then(cn_digits)
            .filter(|d| d.len() == 2);
        Some(CardholderData {
            pan,
            track2,
            expiry: from_track.or(from_5f24).unwrap_or_default(),
            psn,
        })
    }
}

fn read_template(template: &Tlv<'_>, transparent_tag: Tag) -> Result<CpmTemplate, CpmError> {
    let place = if template.tag() == APPLICATION_TEMPLATE {
        "in an application template"
    } else {
        "in the common data template"
    };
    let mut out = CpmTemplate::default();
    let mut seen = Vec::new();
    for element in template.children() {
        let element = element?;
        let tag = element.tag();
        if seen.contains(&tag) {
            return Err(CpmError::Duplicate { tag, place });
        }
        seen.push(tag);
        let value = element.value();
        let bad = |reason| CpmError::BadElement { tag, reason };
        match tag.0 {
            0x4F => {
                if !(5..=16).contains(&value.len()) {
                    return Err(bad("an AID is 5 to 16 bytes"));
                }
                out.aid = Some(value.to_vec());
            }
            0x50 => {
                out.label =
                    Some(text(value, 1, 16).ok_or_else(|| bad("must be 1 to 16 printable characters"))?)
            }
            0x57 => {
                Track2::from_equivalent_data(value).map_err(|_| bad("not track 2 equivalent data"))?;
                out.track2 = Some(Zeroizing::new(value.to_vec()));
            }
            0x5A => {
                let digits = Zeroizing::new(cn_digits(value).unwrap_or_default());
                if !(12..=19).contains(&digits.len()) {
                    return Err(bad("a PAN is 12 to 19 digits"));
                }
                out.pan = Some(digits);
            }
            0x5F20 => {
                let name = text(value, 2, 26).ok_or_else(|| bad("must be 2 to 26 printable characters"))?;
                out.cardholder_name = Some(Zeroizing::new(name));
            }
            0x5F2D => {
                let ok = value.len() % 2 == 0 && (2..=8).contains(&value.len());
                let ok = ok && value.iter().all(u8::is_ascii_alphabetic);
                if !ok {
                    return Err(bad("must be one to four two-letter ISO 639 codes"));
                }
                out.language_preference = Some(String::from_utf8_lossy(value).into_owned());
            }
            0x9F25 => {
                let digits = cn_digits(value).filter(|d| d.len() == 4);
                out.pan_last4 = Some(digits.ok_or_else(|| bad("must be 4 digits"))?);
            }
            _ if tag == transparent_tag => {
                for inner in element.children() {
                    let inner = inner?;
                    out.transparent.push((inner.tag(), inner.value().to_vec()));
                }
            }
            _ if tag.is_constructed() => return Err(CpmError::Unexpected { tag, place }),
            _ => out.other.push((tag, value.to_vec())),
        }
    }
    Ok(out)
}

/// Printable ASCII of `min..=max` bytes.
fn text(value: &[u8], min: usize, max: usize) -> Option<String> {
    let ok = (min..=max).contains(&value.len()) && value.iter().all(|b| (0x20..0x7F).contains(b));
    ok.then(|| String::from_utf8_lossy(value).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    // EMV QRCPS CPM, as published with its test vectors by open-source
    // implementations (e.g. mvallim/emv-qrcode): one application, track 2.
    const TRACK2_ONLY: &str = "hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF8=";

    #[test]
    fn track2_only() {
        let code = ConsumerPresented::decode(TRACK2_ONLY).unwrap();
        let app = &code.applications()[0];
        assert_eq!(app.aid.as_deref(), Some(&[0xA0, 0, 0, 0, 0x55, 0x55, 0x55][..]));
        assert_eq!(code.masked_pan(0).as_deref(), Some("123456******3458"));
        let card = code.cardholder_data(0).unwrap();
        assert_eq!(card.pan.as_str(), "1234567890123458");
        assert_eq!(card.expiry, "1912");
        let debug = format!("{code:?}");
        assert!(
            !debug.contains("7890") && debug.contains("123456******3458"),
            "{debug}"
        );
    }

    #[test]
    fn padding_is_optional() {
        let unpadded = TRACK2_ONLY.trim_end_matches('=');
        assert_eq!(
            ConsumerPresented::decode(unpadded),
            ConsumerPresented::decode(TRACK2_ONLY)
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        let b64 = |bytes: &[u8]| BASE64.encode(bytes);
        assert_eq!(ConsumerPresented::decode(" "), Err(CpmError::Empty));
        assert_eq!(ConsumerPresented::decode("hQ!!"), Err(CpmError::NotBase64));
        assert_eq!(
            ConsumerPresented::decode(&b64(&hex::decode("850543505630326100").unwrap())),
            Err(CpmError::UnknownFormat)
        );
        assert_eq!(
            ConsumerPresented::decode(&b64(&hex::decode("850543505630316100").unwrap())),
            Err(CpmError::NoAid(1))
        );
        assert_eq!(
            ConsumerPresented::decode(&b64(&hex::decode("8505435056303161094F07A0000000555555").unwrap())),
            Err(CpmError::NoAccount(1))
        );
        let bad_pan = hex::decode("8505435056303161104F07A00000005555555A05123456789F").unwrap();
        let err = ConsumerPresented::decode(&b64(&bad_pan)).unwrap_err();
        assert!(!err.to_string().contains("1234"), "{err}");
        assert!(err.to_string().starts_with("tag 5A"), "{err}");
        assert!(matches!(
            ConsumerPresented::decode(&b64(&hex::decode("9F020100850543505630316100").unwrap())),
            Err(CpmError::NoFormatIndicator)
        ));
    }
}
