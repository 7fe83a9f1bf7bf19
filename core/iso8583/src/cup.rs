//! The messages of the `cup` dialect: which fields each one carries, the
//! codes in field 60, the working-key block of a sign-in, the parameter
//! download block, and the MAC. Shared by the terminal and the acquirer
//! simulator so both read the same conventions from one place.
//!
//! | message                 | MTI  | 3      | 60.1 | 60.3 |
//! |-------------------------|------|--------|------|------|
//! | sign-in / sign-out      | 0800 |        | 00   | 003 / 002 |
//! | parameter download      | 0800 |        | 00   | 370 (AIDs) / 372 (CA keys) |
//! | balance inquiry         | 0200 | 310000 | 01   | 000  |
//! | pre-authorisation       | 0100 | 030000 | 10   | 000  |
//! | pre-auth void           | 0100 | 200000 | 11   | 000  |
//! | completion              | 0200 | 000000 | 20   | 000  |
//! | completion void         | 0200 | 200000 | 21   | 000  |
//! | sale                    | 0200 | 000000 | 22   | 000  |
//! | void                    | 0200 | 200000 | 23   | 000  |
//! | refund                  | 0220 | 200000 | 25   | 000  |
//! | reversal                | 0400 | as the original | as the original |
//! | TC / offline advice     | 0320 | 000000 | 22   | 203  |
//! | script result advice    | 0620 | 000000 | 22   | 951  |
//! | settlement              | 0500 |        | 00   | 201  |
//! | batch upload            | 0320 | 000000 | 00   | 201  |
//! | settlement end          | 0320 |        | 00   | 207  |
//! | prepaid issue           | 0200 | 220060 | 70   | 000  |
//! | prepaid top up          | 0200 | 220060 | 71   | 000  |
//! | prepaid pay             | 0200 | 006000 | 72   | 000  |
//! | prepaid balance         | 0200 | 316000 | 73   | 000  |
//!
//! The prepaid rows are PosKit's closed-loop stored-value extension
//! (docs/prepaid.md); the cards' number range is [`prepaid::BIN`].
//!
//! Field 62 of a sign-in response: PIN key, MAC key and (optionally) track
//! key, each 16 bytes encrypted (TDES ECB) under the terminal master key
//! followed by a 4-byte check value (20 or 40 or 60 bytes).
//! Field 62 of a parameter download response: one ASCII flag byte (`1` more
//! follows, `0` end of download), then BER-TLV records (template FF21 per
//! AID, FF22 per CA key) with the tags listed in [`params`].

use poskit_crypto::SymmetricKey;
use poskit_crypto::mac::cup_ecb_mac;

use crate::error::CodecError;
use crate::message::{Message, Value};
use crate::sub::{Field60, Field61, TypeCode};
use crate::{Dialect, mac};

/// Field 60.3 network management information codes.
pub mod network {
    pub const NONE: &str = "000";
    pub const SIGN_OUT: &str = "002";
    pub const SIGN_IN: &str = "003";
    pub const SETTLEMENT: &str = "201";
    pub const TC_UPLOAD: &str = "203";
    pub const SETTLEMENT_END: &str = "207";
    pub const AID_DOWNLOAD: &str = "370";
    pub const CAPK_DOWNLOAD: &str = "372";
    pub const SCRIPT_RESULT: &str = "951";
}

/// Response codes (field 39) the terminal acts on.
pub mod response {
    pub const APPROVED: &str = "00";
    /// Invalid transaction; for a prepaid issue: the card is already issued.
    pub const INVALID_TRANSACTION: &str = "12";
    pub const UNKNOWN_CARD: &str = "14";
    pub const INSUFFICIENT_FUNDS: &str = "51";
    /// A prepaid load would take the balance over the card's limit.
    pub const EXCEEDS_LIMIT: &str = "61";
    /// A prepaid card that has not been issued (activated) yet.
    pub const NOT_ACTIVATED: &str = "78";
    pub const WRONG_PIN: &str = "55";
    pub const ISSUER_UNAVAILABLE: &str = "91";
    pub const DUPLICATE: &str = "94";
    pub const MAC_ERROR: &str = "A0";
    /// Reversal reason: no answer in time.
    pub const REVERSAL_TIMEOUT: &str = "98";
    /// Reversal reason: the card declined after the host approved.
    pub const REVERSAL_CARD_DECLINED: &str = "06";
    /// Reversal reason: the answer's MAC did not verify.
    pub const REVERSAL_BAD_MAC: &str = "A0";
}

/// The terminal's identity in every message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalIds {
    /// Field 41, 8 characters.
    pub terminal_id: String,
    /// Field 42, 15 characters.
    pub merchant_id: String,
}

/// How the card was read (field 22, first two digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryMode {
    Manual,
    Swipe,
    Chip,
    Contactless,
    /// Magnetic stripe after a failed chip read.
    Fallback,
}

impl EntryMode {
    fn code(self) -> &'static str {
        match self {
            EntryMode::Manual => "01",
            EntryMode::Swipe => "02",
            EntryMode::Chip => "05",
            EntryMode::Contactless => "07",
            EntryMode::Fallback => "80",
        }
    }
}

/// The card's part of a financial message. Card data: callers must not
/// keep or log it beyond the message.
#[derive(Clone, Default)]
pub struct CardFields {
    pub pan: Option<String>,
    /// YYMM.
    pub expiry: Option<String>,
    /// Track 2 digits with `D` as separator.
    pub track2: Option<String>,
    /// PAN sequence number, 3 digits (e.g. "001").
    pub psn: Option<String>,
    pub entry_mode: Option<EntryMode>,
    /// ISO format 0 under the PIN key.
    pub pin_block: Option<[u8; 8]>,
    pub field55: Option<Vec<u8>>,
}

impl std::fmt::Debug for CardFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardFields")
            .field("entry_mode", &self.entry_mode)
            .finish_non_exhaustive()
    }
}

/// Field 54 of a balance answer: account type 10 (default), amount type 02
/// (available balance), currency, C (credit: a positive balance), 12
/// digits of minor units; 20 characters.
pub fn balance_field(balance: u64, currency: &str) -> String {
    format!("1002{currency}C{:012}", balance % 1_000_000_000_000)
}

/// Reads [`balance_field`] back: the balance in minor units, negative for
/// a D (debit) sign.
pub fn parse_balance_field(field54: &str) -> Option<i64> {
    let b = field54.as_bytes();
    if b.len() != 20 || !field54.is_ascii() {
        return None;
    }
    let amount: i64 = field54[8..].parse().ok()?;
    match b[7] {
        b'C' => Some(amount),
        b'D' => Some(-amount),
        _ => None,
    }
}

/// The closed-loop prepaid programme's card numbers.
pub mod prepaid {
    /// The issuer identification number of the closed-loop cards: 9
    /// (ISO/IEC 7812 major industry identifier for national use), so no
    /// open-loop card shares the range. Card numbers are 16 to 19 digits
    /// with a Luhn check digit.
    pub const BIN: &str = "998801";

    /// Whether `number` is in the programme's range: all digits, 16 to 19
    /// of them, starting with [`BIN`] (the check digit is the caller's).
    pub fn in_range(number: &str) -> bool {
        (16..=19).contains(&number.len())
            && number.bytes().all(|b| b.is_ascii_digit())
            && number.starts_with(BIN)
    }
}

/// The original transaction a void, completion or refund refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Original {
    pub batch: String,
    pub stan: String,
    /// MMDD.
    pub date: String,
    /// Field 37.
    pub rrn: String,
    /// Field 38.
    pub auth_code: String,
}

fn set_ids(m: &mut Message, ids: &TerminalIds) {
    m.set_text(41, ids.terminal_id.clone());
    m.set_text(42, ids.merchant_id.clone());
}

fn stan6(stan: u32) -> String {
    format!("{:06}", stan % 1_000_000)
}

fn batch6(batch: u32) -> String {
    format!("{:06}", batch % 1_000_000)
}

fn field60(type_code: Option<TypeCode>, batch: u32, network: &str) -> Result<Value, CodecError> {
    let mut f = Field60::new(type_code.unwrap_or(TypeCode::Sale), &batch6(batch), network);
    if type_code.is_none() {
        f.type_code = "00".into();
    }
    f.to_value()
}

/// 0800 sign-in (60.3 003: double-length keys), sign-out (002) or a
/// parameter download request (370, 372).
pub fn network_management(
    ids: &TerminalIds,
    stan: u32,
    batch: u32,
    code: &str,
    operator: &str,
) -> Result<Message, CodecError> {
    let mut m = Message::new(800);
    m.set_digits(11, stan6(stan));
    set_ids(&mut m, ids);
    m.set(60, field60(None, batch, code)?);
    if code == network::SIGN_IN {
        m.set_text(63, format!("{operator:0>3}"));
    }
    Ok(m)
}

/// The MTI and processing code of a financial type.
pub fn mti_and_processing_code(kind: TypeCode) -> (u16, &'static str) {
    match kind {
        TypeCode::Inquiry => (200, "310000"),
        TypeCode::PreAuth => (100, "030000"),
        TypeCode::PreAuthVoid => (100, "200000"),
        TypeCode::Completion => (200, "000000"),
        TypeCode::CompletionVoid => (200, "200000"),
        TypeCode::Sale => (200, "000000"),
        TypeCode::Void => (200, "200000"),
        TypeCode::Refund => (220, "200000"),
        TypeCode::Settlement => (500, "000000"),
        // Digits 3-4 and 5-6 are the from and to account types; 60 is the
        // stored-value account of a closed-loop card (docs/prepaid.md).
        TypeCode::PrepaidIssue | TypeCode::PrepaidTopUp => (200, "220060"),
        TypeCode::PrepaidPay => (200, "006000"),
        TypeCode::PrepaidBalance => (200, "316000"),
    }
}

/// A financial request: inquiry, pre-auth and its void, completion and its
/// void, sale, void, refund, the prepaid messages. Field 64 is added by
/// [`seal`].
#[allow(clippy::too_many_arguments)]
pub fn financial(
    kind: TypeCode,
    ids: &TerminalIds,
    stan: u32,
    batch: u32,
    amount: u64,
    card: &CardFields,
    original: Option<&Original>,
    currency: &str,
) -> Result<Message, CodecError> {
    let (mti, processing) = mti_and_processing_code(kind);
    let mut m = Message::new(mti);
    if let Some(pan) = &card.pan {
        m.set_digits(2, pan.clone());
    }
    m.set_digits(3, processing);
    if kind.carries_amount() {
        m.set_digits(4, format!("{amount:012}"));
    }
    m.set_digits(11, stan6(stan));
    if let Some(expiry) = &card.expiry {
        m.set_digits(14, expiry.clone());
    }
    let pin = card.pin_block.is_some();
    let entry = card.entry_mode.unwrap_or(EntryMode::Manual);
    m.set_digits(22, format!("{}{}", entry.code(), if pin { 1 } else { 2 }));
    if let Some(psn) = &card.psn {
        m.set_digits(23, psn.clone());
    }
    let condition = match kind {
        TypeCode::PreAuth | TypeCode::PreAuthVoid | TypeCode::Completion | TypeCode::CompletionVoid => "06",
        _ => "00",
    };
    m.set_digits(25, condition);
    if let Some(track2) = &card.track2 {
        m.set_digits(35, track2.clone());
    }
    if let Some(o) = original {
        if !o.rrn.is_empty() {
            m.set_text(37, o.rrn.clone());
        }
        if !o.auth_code.is_empty() {
            m.set_text(38, o.auth_code.clone());
        }
    }
    set_ids(&mut m, ids);
    m.set_text(49, currency.to_owned());
    if let Some(block) = card.pin_block {
        m.set_digits(26, "12");
        m.set_binary(52, block.to_vec());
        // 53: PIN format 2 (ISO 0 with the PAN), double-length key (6).
        m.set_digits(53, "2600000000000000");
    }
    if let Some(icc) = &card.field55 {
        m.set_binary(55, icc.clone());
    }
    m.set(60, field60(Some(kind), batch, network::NONE)?);
    if let Some(o) = original {
        let f61 = Field61 {
            original_batch: o.batch.clone(),
            original_stan: o.stan.clone(),
            original_date: o.date.clone(),
            rest: String::new(),
        };
        m.set(61, f61.to_value()?);
    }
    Ok(m)
}

/// A reversal (0400) of `request`: its identifying fields, the reason in
/// field 39; no PIN data (ISO 8583: a reversal carries no PIN).
pub fn reversal(request: &Message, reason: &str) -> Message {
    let mut m = Message::new(400);
    for (field, value) in request.fields() {
        if !matches!(field, 26 | 52 | 53 | 64) {
            m.set(field, value.clone());
        }
    }
    m.set_text(39, reason.to_owned());
    m
}

/// Settlement (0500) with the batch totals in field 48.
pub fn settlement(
    ids: &TerminalIds,
    stan: u32,
    batch: u32,
    totals: &crate::sub::Field48,
    currency: &str,
) -> Result<Message, CodecError> {
    let mut m = Message::new(500);
    m.set_digits(11, stan6(stan));
    set_ids(&mut m, ids);
    m.set_digits(48, totals.pack()?);
    m.set_text(49, currency.to_owned());
    m.set(60, field60(None, batch, network::SETTLEMENT)?);
    Ok(m)
}

/// One transaction of a batch upload (0320) after unbalanced totals.
#[allow(clippy::too_many_arguments)]
pub fn batch_upload(
    ids: &TerminalIds,
    stan: u32,
    batch: u32,
    kind: TypeCode,
    original_stan: u32,
    amount: u64,
    masked_pan: &str,
    rrn: &str,
) -> Result<Message, CodecError> {
    let mut m = Message::new(320);
    let (_, processing) = mti_and_processing_code(kind);
    m.set_digits(3, processing);
    m.set_digits(4, format!("{amount:012}"));
    m.set_digits(11, stan6(stan));
    if !rrn.is_empty() {
        m.set_text(37, rrn.to_owned());
    }
    set_ids(&mut m, ids);
    // 62: the original STAN and type, then the masked card number (never clear).
    m.set_binary(
        62,
        format!("{}{}{masked_pan}", stan6(original_stan), kind.code()).into_bytes(),
    );
    m.set(60, field60(None, batch, network::SETTLEMENT)?);
    Ok(m)
}

/// The end of a batch upload.
pub fn settlement_end(ids: &TerminalIds, stan: u32, batch: u32, count: u32) -> Result<Message, CodecError> {
    let mut m = Message::new(320);
    m.set_digits(11, stan6(stan));
    set_ids(&mut m, ids);
    m.set_digits(48, format!("{:04}", count % 10_000));
    m.set(60, field60(None, batch, network::SETTLEMENT_END)?);
    Ok(m)
}

/// A TC or offline advice (0320) for a transaction already approved.
pub fn advice(request: &Message, rrn: Option<&str>, code: &str) -> Result<Message, CodecError> {
    let mut m = Message::new(320);
    for (field, value) in request.fields() {
        if matches!(field, 2 | 3 | 4 | 11 | 14 | 22 | 23 | 25 | 41 | 42 | 49 | 55) {
            m.set(field, value.clone());
        }
    }
    if let Some(rrn) = rrn {
        m.set_text(37, rrn.to_owned());
    }
    let mut f60 = Field60::from_value(request.get(60))?;
    f60.network_code = code.to_owned();
    m.set(60, f60.to_value()?);
    Ok(m)
}

/// Adds field 64 (the UnionPay ECB MAC under `mac_key`) and packs.
pub fn seal(dialect: &Dialect, message: &mut Message, mac_key: &SymmetricKey) -> Result<Vec<u8>, CodecError> {
    message.set_binary(64, vec![0u8; 8]);
    let mut packed = dialect.pack(message)?;
    let mac = cup_ecb_mac(mac_key, mac::mab(&packed, true))
        .map_err(|_| CodecError::field(64, "the MAC key must be DES or TDES"))?;
    let n = packed.len();
    packed[n - 8..].copy_from_slice(&mac);
    message.set_binary(64, mac.to_vec());
    Ok(packed)
}

/// Whether a packed message carries a MAC that verifies under `mac_key`.
pub fn verify(packed: &[u8], mac_key: &SymmetricKey) -> bool {
    if mac::has_field_64(packed) != Some(true) || packed.len() < 8 {
        return false;
    }
    let Ok(expected) = cup_ecb_mac(mac_key, mac::mab(packed, true)) else {
        return false;
    };
    poskit_crypto::constant_time_eq(&expected, &packed[packed.len() - 8..])
}

/// Whether `response` answers `request`: the response MTI, and the same
/// STAN and terminal (late or duplicate answers of other requests fail).
pub fn answers(request: &Message, response: &Message) -> bool {
    request.mti.response() == Some(response.mti)
        && request.digits(11) == response.digits(11)
        && request.text(41) == response.text(41)
}

/// Working keys delivered at sign-in, still encrypted under the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub encrypted: Vec<u8>,
    pub check_value: Vec<u8>,
}

/// Splits a sign-in field 62 into PIN key, MAC key and the optional track key.
pub fn parse_key_block(block: &[u8]) -> Result<(WrappedKey, WrappedKey, Option<WrappedKey>), CodecError> {
    let part = |i: usize| WrappedKey {
        encrypted: block[i * 20..i * 20 + 16].to_vec(),
        check_value: block[i * 20 + 16..i * 20 + 20].to_vec(),
    };
    match block.len() {
        40 => Ok((part(0), part(1), None)),
        60 => Ok((part(0), part(1), Some(part(2)))),
        n => Err(CodecError::field(
            62,
            format!("a working key block is 40 or 60 bytes, not {n}"),
        )),
    }
}

/// The inverse of [`parse_key_block`].
pub fn key_block(keys: &[&WrappedKey]) -> Vec<u8> {
    keys.iter()
        .flat_map(|k| [k.encrypted.as_slice(), k.check_value.as_slice()].concat())
        .collect()
}

/// Tags of the parameter download records (field 62).
pub mod params {
    /// One AID's parameters.
    pub const AID_TEMPLATE: u32 = 0xFF21;
    /// One CA public key.
    pub const CAPK_TEMPLATE: u32 = 0xFF22;
    pub const AID: u32 = 0x9F06;
    pub const PARTIAL_SELECTION: u32 = 0xDF01;
    pub const APP_VERSION: u32 = 0x9F09;
    pub const TAC_DEFAULT: u32 = 0xDF11;
    pub const TAC_ONLINE: u32 = 0xDF12;
    pub const TAC_DENIAL: u32 = 0xDF13;
    pub const DEFAULT_DDOL: u32 = 0xDF14;
    pub const THRESHOLD: u32 = 0xDF15;
    pub const MAX_TARGET_PERCENT: u32 = 0xDF16;
    pub const TARGET_PERCENT: u32 = 0xDF17;
    pub const FLOOR_LIMIT: u32 = 0x9F1B;
    pub const CL_FLOOR_LIMIT: u32 = 0xDF19;
    pub const CL_TRANSACTION_LIMIT: u32 = 0xDF20;
    pub const CL_CVM_LIMIT: u32 = 0xDF21;
    pub const KERNEL_ID: u32 = 0xDF22;
    pub const RID: u32 = 0x9F06;
    pub const CAPK_INDEX: u32 = 0x9F22;
    pub const CAPK_EXPIRY: u32 = 0xDF05;
    pub const CAPK_MODULUS: u32 = 0xDF02;
    pub const CAPK_EXPONENT: u32 = 0xDF04;
    pub const CAPK_CHECKSUM: u32 = 0xDF03;
    /// Field 62's first byte: more records follow.
    pub const MORE: u8 = b'1';
    pub const END: u8 = b'0';
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cup as dialect;

    fn ids() -> TerminalIds {
        TerminalIds {
            terminal_id: "10000001".into(),
            merchant_id: "898310012345678".into(),
        }
    }

    #[test]
    fn sale_packs_seals_and_verifies() {
        let card = CardFields {
            pan: Some("4761739001010010".into()),
            expiry: Some("2512".into()),
            track2: Some("4761739001010010D2512201".into()),
            psn: Some("001".into()),
            entry_mode: Some(EntryMode::Chip),
            pin_block: Some([1; 8]),
            field55: Some(vec![0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]),
        };
        let mut m = financial(TypeCode::Sale, &ids(), 12, 3, 12_345, &card, None, "156").unwrap();
        assert_eq!(m.mti.to_string(), "0200");
        assert_eq!(m.digits(22), Some("051"));
        assert_eq!(m.digits(60), Some("22000003000"));
        let key = SymmetricKey::tdes(&[0x11; 16]).unwrap();
        let packed = seal(dialect(), &mut m, &key).unwrap();
        assert!(verify(&packed, &key));
        let mut tampered = packed.clone();
        tampered[20] ^= 1;
        assert!(!verify(&tampered, &key));
        assert!(!verify(&packed, &SymmetricKey::tdes(&[0x22; 16]).unwrap()));
        let back = dialect().unpack(&packed).unwrap();
        assert_eq!(back, m);
        let rev = reversal(&back, response::REVERSAL_TIMEOUT);
        assert_eq!(rev.mti.0, 400);
        assert!(rev.get(52).is_none() && rev.get(64).is_none());
        assert_eq!(rev.text(39), Some("98"));
    }

    #[test]
    fn prepaid_messages_have_their_own_codes() {
        let card = CardFields {
            pan: Some("9988010000000014".into()),
            entry_mode: Some(EntryMode::Manual),
            ..CardFields::default()
        };
        let taken = [
            TypeCode::Inquiry,
            TypeCode::PreAuth,
            TypeCode::PreAuthVoid,
            TypeCode::Completion,
            TypeCode::CompletionVoid,
            TypeCode::Sale,
            TypeCode::Void,
            TypeCode::Refund,
            TypeCode::Settlement,
        ];
        let prepaid = [
            (TypeCode::PrepaidIssue, "70", "220060"),
            (TypeCode::PrepaidTopUp, "71", "220060"),
            (TypeCode::PrepaidPay, "72", "006000"),
            (TypeCode::PrepaidBalance, "73", "316000"),
        ];
        for (kind, code, processing) in prepaid {
            assert!(kind.is_prepaid());
            assert_eq!(TypeCode::from_code(code), Some(kind));
            assert!(
                taken
                    .iter()
                    .all(|t| t.code() != code && mti_and_processing_code(*t).1 != processing)
            );
            let m = financial(kind, &ids(), 5, 1, 2_000, &card, None, "156").unwrap();
            assert_eq!(m.digits(3), Some(processing));
            assert_eq!(m.digits(60), Some(format!("{code}000001000").as_str()));
            // The balance inquiry carries no amount, like the card one.
            assert_eq!(m.get(4).is_some(), kind != TypeCode::PrepaidBalance);
        }
        assert!(taken.iter().all(|t| !t.is_prepaid()));
    }

    #[test]
    fn field_54_round_trips() {
        assert_eq!(balance_field(123_456, "156"), "1002156C000000123456");
        assert_eq!(parse_balance_field("1002156C000000123456"), Some(123_456));
        assert_eq!(parse_balance_field("1002156D000000000001"), Some(-1));
        assert_eq!(parse_balance_field("1002156X000000000001"), None);
        assert_eq!(parse_balance_field("1156C000000123456"), None);
        assert_eq!(parse_balance_field("1002156C0000001234\u{e9}"), None);
    }

    #[test]
    fn prepaid_range() {
        assert!(prepaid::in_range("9988010000000014"));
        assert!(prepaid::in_range("9988010000000000012"));
        assert!(!prepaid::in_range("998801000000001"));
        assert!(!prepaid::in_range("6230580000000000013"));
        assert!(!prepaid::in_range("998801000000001X"));
    }

    #[test]
    fn key_blocks() {
        let k = WrappedKey {
            encrypted: vec![1; 16],
            check_value: vec![2; 4],
        };
        let block = key_block(&[&k, &k]);
        assert_eq!(parse_key_block(&block).unwrap(), (k.clone(), k.clone(), None));
        assert!(parse_key_block(&block[..39]).is_err());
    }
}
