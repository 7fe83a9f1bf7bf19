//! The EMV tag dictionary: what each data element is called, how its value
//! is formatted, where it comes from and how long it may be.
//!
//! Where the facts come from: EMV Book 3 (v4.3, with the v4.4 additions
//! 9F19, 9F24 and 9F25) Annex A, the data elements dictionary; EMV Book B
//! for the Kernel Identifier; the EMV contactless kernel specifications
//! (Book C-2 for Mastercard, Book C-3 and Visa's contactless specification
//! for Visa, Book C-4 for the American Express meanings named below); and
//! the UnionPay / PBOC 3.0 (JR/T 0025) specifications for the electronic
//! cash (EC), qPBOC and segmented-debit elements. The values were checked
//! against several independent public tag tables; names follow the specs,
//! every description here is our own.
//!
//! Conventions:
//! - Lengths are in bytes. A fixed length has `min_len == max_len`. "var.
//!   up to N" is `0..=N` (EMV treats a zero-length object as absent). When a
//!   spec gives no upper bound at all, `max_len` is [`UNBOUNDED`]. Lengths
//!   that depend on a key size (N_CA, N_I, N_IC) use the largest modulus
//!   EMV allows, 248 bytes; the remainders use their largest possible size.
//! - The format "a" (alphabetic) is recorded as [`Format::An`] and the
//!   Book 3 format "var." as [`Format::B`].
//! - `template` lists the template(s) a spec places the element in; it is
//!   empty for terminal and issuer data and for data the card returns only
//!   through GET DATA.
//! - Where payment systems use one tag number for different elements, the
//!   table keeps ONE entry: its name states every meaning (with the scheme
//!   in brackets), its format is the most permissive one ([`Format::B`]),
//!   its length range covers all meanings and its source is that of the
//!   first meaning named. Each such entry carries a "Shared tag" comment.
//! - EMV 4.4's biometric elements are left out: their nested context tags
//!   (81, 82, 90, DF50..DF52 inside A1 / BF4E) collide with the top-level
//!   Book 3 tags, and a flat table cannot tell them apart.

use crate::tag::Tag;

/// EMV data element formats (EMV Book 3 section 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Numeric: BCD, right-justified, padded with leading zeros.
    N,
    /// Compressed numeric: BCD, left-justified, padded with trailing 'F's.
    Cn,
    /// Alphanumeric (also used here for alphabetic, "a").
    An,
    /// Alphanumeric special.
    Ans,
    /// Binary (also used here for Book 3's "var." and for data object lists).
    B,
}

/// Where the data element comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The card (ICC).
    Icc,
    /// The terminal, reader or kernel.
    Terminal,
    /// The issuer (online response).
    Issuer,
}

/// What the dictionary knows about one tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagInfo {
    pub tag: Tag,
    /// Name as the spec gives it, e.g. "Amount, Authorised (Numeric)".
    pub name: &'static str,
    pub format: Format,
    /// Template(s) the element appears in ("70 or 77" is `[70, 77]`);
    /// empty if none.
    pub template: &'static [Tag],
    pub source: Source,
    /// Shortest length in bytes.
    pub min_len: u16,
    /// Longest length in bytes; [`UNBOUNDED`] when the spec sets no limit.
    pub max_len: u16,
}

/// `max_len` of an element whose spec says only "var.".
pub const UNBOUNDED: u16 = u16::MAX;

/// Looks a tag up in the dictionary.
pub fn lookup(tag: Tag) -> Option<&'static TagInfo> {
    TABLE
        .binary_search_by_key(&tag, |info| info.tag)
        .ok()
        .map(|i| &TABLE[i])
}

/// Every entry, sorted by tag value.
pub fn all() -> &'static [TagInfo] {
    TABLE
}

use Format::{An, Ans, B, Cn, N};
use Source::{Icc, Issuer, Terminal};

const ANY: u16 = UNBOUNDED;

const fn e(
    tag: u32,
    name: &'static str,
    format: Format,
    template: &'static [Tag],
    source: Source,
    min_len: u16,
    max_len: u16,
) -> TagInfo {
    TagInfo {
        tag: Tag(tag),
        name,
        format,
        template,
        source,
        min_len,
        max_len,
    }
}

// Templates.
const NONE: &[Tag] = &[];
const T61: &[Tag] = &[Tag(0x61)];
const T6F: &[Tag] = &[Tag(0x6F)];
const T70: &[Tag] = &[Tag(0x70)];
const T77: &[Tag] = &[Tag(0x77)];
const TA5: &[Tag] = &[Tag(0xA5)];
const TBF0C: &[Tag] = &[Tag(0xBF0C)];
const T61_A5: &[Tag] = &[Tag(0x61), Tag(0xA5)];
const T70_77: &[Tag] = &[Tag(0x70), Tag(0x77)];
const T77_80: &[Tag] = &[Tag(0x77), Tag(0x80)];
const T71_72: &[Tag] = &[Tag(0x71), Tag(0x72)];
const T73_BF0C: &[Tag] = &[Tag(0x73), Tag(0xBF0C)];
const TBF0C_73: &[Tag] = &[Tag(0xBF0C), Tag(0x73)];
const T70_BF0C: &[Tag] = &[Tag(0x70), Tag(0xBF0C)];
const T70_77_BF0C: &[Tag] = &[Tag(0x70), Tag(0x77), Tag(0xBF0C)];

#[rustfmt::skip]
static TABLE: &[TagInfo] = &[
    // ---- One-byte tags ----
    e(0x42, "Issuer Identification Number (IIN)", N, TBF0C_73, Icc, 3, 3),
    e(0x4F, "Application Dedicated File (ADF) Name", B, T61, Icc, 5, 16),
    e(0x50, "Application Label", Ans, T61_A5, Icc, 1, 16),
    // Mastercard (Book C-2), mag-stripe mode.
    e(0x56, "Track 1 Data", Ans, T70, Icc, 0, 76),
    e(0x57, "Track 2 Equivalent Data", B, T70_77, Icc, 0, 19),
    e(0x5A, "Application Primary Account Number (PAN)", Cn, T70_77, Icc, 0, 10),
    // Book 3 places it in 70; Book B adds the PPSE's FCI Issuer Discretionary Data.
    e(0x61, "Application Template", B, T70_BF0C, Icc, 0, 252),
    e(0x6F, "File Control Information (FCI) Template", B, NONE, Icc, 0, 252),
    e(0x70, "READ RECORD Response Message Template (AEF Data Template)", B, NONE, Icc, 0, 252),
    e(0x71, "Issuer Script Template 1", B, NONE, Issuer, 0, ANY),
    e(0x72, "Issuer Script Template 2", B, NONE, Issuer, 0, ANY),
    e(0x73, "Directory Discretionary Template", B, T61, Icc, 0, 252),
    e(0x77, "Response Message Template Format 2", B, NONE, Icc, 0, ANY),
    e(0x80, "Response Message Template Format 1", B, NONE, Icc, 0, ANY),
    e(0x81, "Amount, Authorised (Binary)", B, NONE, Terminal, 4, 4),
    e(0x82, "Application Interchange Profile (AIP)", B, T77_80, Icc, 2, 2),
    e(0x83, "Command Template", B, NONE, Terminal, 0, ANY),
    e(0x84, "Dedicated File (DF) Name", B, T6F, Icc, 5, 16),
    e(0x86, "Issuer Script Command", B, T71_72, Issuer, 0, 261),
    e(0x87, "Application Priority Indicator", B, T61_A5, Icc, 1, 1),
    e(0x88, "Short File Identifier (SFI)", B, TA5, Icc, 1, 1),
    e(0x89, "Authorisation Code", An, NONE, Issuer, 6, 6),
    // Book 3 gives the source as issuer or terminal.
    e(0x8A, "Authorisation Response Code", An, NONE, Issuer, 2, 2),
    e(0x8C, "Card Risk Management Data Object List 1 (CDOL1)", B, T70_77, Icc, 0, 252),
    e(0x8D, "Card Risk Management Data Object List 2 (CDOL2)", B, T70_77, Icc, 0, 252),
    e(0x8E, "Cardholder Verification Method (CVM) List", B, T70_77, Icc, 10, 252),
    e(0x8F, "Certification Authority Public Key Index", B, T70_77, Icc, 1, 1),
    e(0x90, "Issuer Public Key Certificate", B, T70_77, Icc, 1, 248),
    e(0x91, "Issuer Authentication Data", B, NONE, Issuer, 8, 16),
    e(0x92, "Issuer Public Key Remainder", B, T70_77, Icc, 1, 36),
    e(0x93, "Signed Static Application Data", B, T70_77, Icc, 1, 248),
    e(0x94, "Application File Locator (AFL)", B, T77_80, Icc, 0, 252),
    e(0x95, "Terminal Verification Results (TVR)", B, NONE, Terminal, 5, 5),
    e(0x97, "Transaction Certificate Data Object List (TDOL)", B, T70_77, Icc, 0, 252),
    e(0x98, "Transaction Certificate (TC) Hash Value", B, NONE, Terminal, 20, 20),
    e(0x99, "Transaction Personal Identification Number (PIN) Data", B, NONE, Terminal, 0, ANY),
    e(0x9A, "Transaction Date", N, NONE, Terminal, 3, 3),
    e(0x9B, "Transaction Status Information (TSI)", B, NONE, Terminal, 2, 2),
    e(0x9C, "Transaction Type", N, NONE, Terminal, 1, 1),
    e(0x9D, "Directory Definition File (DDF) Name", B, T61, Icc, 5, 16),
    e(0xA5, "File Control Information (FCI) Proprietary Template", B, T6F, Icc, 0, ANY),

    // ---- 5F.. ----
    e(0x5F20, "Cardholder Name", Ans, T70_77, Icc, 2, 26),
    e(0x5F24, "Application Expiration Date", N, T70_77, Icc, 3, 3),
    e(0x5F25, "Application Effective Date", N, T70_77, Icc, 3, 3),
    e(0x5F28, "Issuer Country Code", N, T70_77, Icc, 2, 2),
    e(0x5F2A, "Transaction Currency Code", N, NONE, Terminal, 2, 2),
    e(0x5F2D, "Language Preference", An, TA5, Icc, 2, 8),
    e(0x5F30, "Service Code", N, T70_77, Icc, 2, 2),
    e(0x5F34, "Application Primary Account Number (PAN) Sequence Number", N, T70_77, Icc, 1, 1),
    e(0x5F36, "Transaction Currency Exponent", N, NONE, Terminal, 1, 1),
    e(0x5F50, "Issuer URL", Ans, TBF0C_73, Icc, 0, ANY),
    e(0x5F53, "International Bank Account Number (IBAN)", B, TBF0C_73, Icc, 0, 34),
    e(0x5F54, "Bank Identifier Code (BIC)", B, TBF0C_73, Icc, 8, 11),
    e(0x5F55, "Issuer Country Code (alpha2 format)", An, TBF0C_73, Icc, 2, 2),
    e(0x5F56, "Issuer Country Code (alpha3 format)", An, TBF0C_73, Icc, 3, 3),
    e(0x5F57, "Account Type", N, NONE, Terminal, 1, 1),

    // ---- 9F.. ----
    e(0x9F01, "Acquirer Identifier", N, NONE, Terminal, 6, 6),
    e(0x9F02, "Amount, Authorised (Numeric)", N, NONE, Terminal, 6, 6),
    e(0x9F03, "Amount, Other (Numeric)", N, NONE, Terminal, 6, 6),
    e(0x9F04, "Amount, Other (Binary)", B, NONE, Terminal, 4, 4),
    e(0x9F05, "Application Discretionary Data", B, T70_77, Icc, 1, 32),
    e(0x9F06, "Application Identifier (AID) - terminal", B, NONE, Terminal, 5, 16),
    e(0x9F07, "Application Usage Control", B, T70_77, Icc, 2, 2),
    e(0x9F08, "Application Version Number (ICC)", B, T70_77, Icc, 2, 2),
    e(0x9F09, "Application Version Number (terminal)", B, NONE, Terminal, 2, 2),
    e(0x9F0A, "Application Selection Registered Proprietary Data (ASRPD)", B, T73_BF0C, Icc, 0, ANY),
    e(0x9F0B, "Cardholder Name Extended", Ans, T70_77, Icc, 27, 45),
    e(0x9F0C, "Issuer Identification Number Extended (IINE)", N, TBF0C_73, Icc, 3, 4),
    e(0x9F0D, "Issuer Action Code - Default", B, T70_77, Icc, 5, 5),
    e(0x9F0E, "Issuer Action Code - Denial", B, T70_77, Icc, 5, 5),
    e(0x9F0F, "Issuer Action Code - Online", B, T70_77, Icc, 5, 5),
    e(0x9F10, "Issuer Application Data (IAD)", B, T77_80, Icc, 0, 32),
    e(0x9F11, "Issuer Code Table Index", N, TA5, Icc, 1, 1),
    e(0x9F12, "Application Preferred Name", Ans, T61_A5, Icc, 1, 16),
    e(0x9F13, "Last Online Application Transaction Counter (ATC) Register", B, NONE, Icc, 2, 2),
    e(0x9F14, "Lower Consecutive Offline Limit", B, T70_77, Icc, 1, 1),
    e(0x9F15, "Merchant Category Code", N, NONE, Terminal, 2, 2),
    e(0x9F16, "Merchant Identifier", Ans, NONE, Terminal, 15, 15),
    e(0x9F17, "Personal Identification Number (PIN) Try Counter", B, NONE, Icc, 1, 1),
    e(0x9F18, "Issuer Script Identifier", B, T71_72, Issuer, 4, 4),
    e(0x9F19, "Token Requestor ID", N, T70_77, Icc, 6, 6),
    e(0x9F1A, "Terminal Country Code", N, NONE, Terminal, 2, 2),
    e(0x9F1B, "Terminal Floor Limit", B, NONE, Terminal, 4, 4),
    e(0x9F1C, "Terminal Identification", An, NONE, Terminal, 8, 8),
    e(0x9F1D, "Terminal Risk Management Data", B, NONE, Terminal, 1, 8),
    e(0x9F1E, "Interface Device (IFD) Serial Number", An, NONE, Terminal, 8, 8),
    e(0x9F1F, "Track 1 Discretionary Data", Ans, T70_77, Icc, 0, ANY),
    e(0x9F20, "Track 2 Discretionary Data", Cn, T70_77, Icc, 0, ANY),
    e(0x9F21, "Transaction Time", N, NONE, Terminal, 3, 3),
    e(0x9F22, "Certification Authority Public Key Index (terminal)", B, NONE, Terminal, 1, 1),
    e(0x9F23, "Upper Consecutive Offline Limit", B, T70_77, Icc, 1, 1),
    e(0x9F24, "Payment Account Reference (PAR)", An, T70_77, Icc, 29, 29),
    e(0x9F25, "Last 4 Digits of PAN", N, T70_77, Icc, 2, 2),
    e(0x9F26, "Application Cryptogram", B, T77_80, Icc, 8, 8),
    e(0x9F27, "Cryptogram Information Data", B, T77_80, Icc, 1, 1),
    // Book B: in the PPSE directory entry; 1 byte, or 3 to 8 bytes.
    e(0x9F2A, "Kernel Identifier", B, T61, Icc, 1, 8),
    e(0x9F2D, "ICC PIN Encipherment Public Key Certificate", B, T70_77, Icc, 1, 248),
    e(0x9F2E, "ICC PIN Encipherment Public Key Exponent", B, T70_77, Icc, 1, 3),
    e(0x9F2F, "ICC PIN Encipherment Public Key Remainder", B, T70_77, Icc, 1, 42),
    e(0x9F32, "Issuer Public Key Exponent", B, T70_77, Icc, 1, 3),
    e(0x9F33, "Terminal Capabilities", B, NONE, Terminal, 3, 3),
    e(0x9F34, "Cardholder Verification Method (CVM) Results", B, NONE, Terminal, 3, 3),
    e(0x9F35, "Terminal Type", N, NONE, Terminal, 1, 1),
    e(0x9F36, "Application Transaction Counter (ATC)", B, T77_80, Icc, 2, 2),
    e(0x9F37, "Unpredictable Number", B, NONE, Terminal, 4, 4),
    e(0x9F38, "Processing Options Data Object List (PDOL)", B, TA5, Icc, 0, ANY),
    e(0x9F39, "Point-of-Service (POS) Entry Mode", N, NONE, Terminal, 1, 1),
    e(0x9F3A, "Amount, Reference Currency", B, NONE, Terminal, 4, 4),
    e(0x9F3B, "Application Reference Currency", N, T70_77, Icc, 2, 8),
    e(0x9F3C, "Transaction Reference Currency Code", N, NONE, Terminal, 2, 2),
    e(0x9F3D, "Transaction Reference Currency Exponent", N, NONE, Terminal, 1, 1),
    e(0x9F40, "Additional Terminal Capabilities", B, NONE, Terminal, 5, 5),
    e(0x9F41, "Transaction Sequence Counter", N, NONE, Terminal, 2, 4),
    e(0x9F42, "Application Currency Code", N, T70_77, Icc, 2, 2),
    e(0x9F43, "Application Reference Currency Exponent", N, T70_77, Icc, 1, 4),
    e(0x9F44, "Application Currency Exponent", N, T70_77, Icc, 1, 1),
    e(0x9F45, "Data Authentication Code", B, NONE, Icc, 2, 2),
    e(0x9F46, "ICC Public Key Certificate", B, T70_77, Icc, 1, 248),
    e(0x9F47, "ICC Public Key Exponent", B, T70_77, Icc, 1, 3),
    e(0x9F48, "ICC Public Key Remainder", B, T70_77, Icc, 1, 42),
    e(0x9F49, "Dynamic Data Authentication Data Object List (DDOL)", B, T70_77, Icc, 0, 252),
    e(0x9F4A, "Static Data Authentication Tag List", B, T70_77, Icc, 0, ANY),
    e(0x9F4B, "Signed Dynamic Application Data", B, T77_80, Icc, 1, 248),
    e(0x9F4C, "ICC Dynamic Number", B, NONE, Icc, 2, 8),
    e(0x9F4D, "Log Entry", B, TBF0C_73, Icc, 2, 2),
    e(0x9F4E, "Merchant Name and Location", Ans, NONE, Terminal, 0, ANY),
    // Read with GET DATA (transaction log).
    e(0x9F4F, "Log Format", B, NONE, Icc, 0, ANY),
    // Issuer-proprietary (Visa VIS, PBOC): currency of the offline counters.
    e(0x9F51, "Application Currency Code (VIS / PBOC proprietary)", N, NONE, Icc, 2, 2),
    // Shared tag: Mastercard Transaction Category Code (terminal, an 1) /
    // Visa VIS and PBOC Consecutive Transaction Limit (International) (card, b 1).
    e(0x9F53, "Transaction Category Code (Mastercard) / Consecutive Transaction Limit (International) (Visa VIS, PBOC)", B, NONE, Terminal, 1, 1),
    // Shared tag: Visa and UnionPay Available Offline Spending Amount (n 12,
    // 6 bytes) / Mastercard Application Capabilities Information (b 3).
    e(0x9F5D, "Available Offline Spending Amount (Visa, UnionPay) / Application Capabilities Information (Mastercard)", B, T70_77, Icc, 3, 6),
    // Mastercard mag-stripe: returned by COMPUTE CRYPTOGRAPHIC CHECKSUM.
    e(0x9F60, "CVC3 (Track1)", B, T77, Icc, 2, 2),
    // Shared tag: Mastercard CVC3 (Track2) (b 2, in 77) / PBOC Cardholder
    // ID Number (an, 1 to 40, in 70).
    e(0x9F61, "CVC3 (Track2) (Mastercard) / Cardholder ID Number (PBOC)", B, T70_77, Icc, 1, 40),
    // Shared tag: Mastercard PCVC3 (Track1) (b 6) / PBOC Cardholder ID Type (cn 1).
    e(0x9F62, "PCVC3 (Track1) (Mastercard) / Cardholder ID Type (PBOC)", B, T70, Icc, 1, 6),
    // Shared tag: Mastercard PUNATC (Track1) (b 6) / UnionPay Product
    // Identification Information (b 16).
    e(0x9F63, "PUNATC (Track1) (Mastercard) / Product Identification Information (UnionPay)", B, T70, Icc, 6, 16),
    e(0x9F64, "NATC (Track1)", B, T70, Icc, 1, 1),
    e(0x9F65, "PCVC3 (Track2)", B, T70, Icc, 2, 2),
    // Shared tag: Terminal Transaction Qualifiers (Book A, Visa, UnionPay;
    // terminal, b 4) / Mastercard PUNATC (Track2) (card, b 2, in 70).
    e(0x9F66, "Terminal Transaction Qualifiers (TTQ) (Visa, UnionPay) / PUNATC (Track2) (Mastercard)", B, T70, Terminal, 2, 4),
    e(0x9F67, "NATC (Track2)", B, T70, Icc, 1, 1),
    // Shared tag: Visa and UnionPay Card Authentication Related Data (b 5 to
    // 16, for fDDA) / Mastercard UDOL (mag-stripe, b var.).
    e(0x9F69, "Card Authentication Related Data (Visa, UnionPay) / Unpredictable Number Data Object List (UDOL) (Mastercard)", B, T70, Icc, 0, 252),
    e(0x9F6A, "Unpredictable Number (Numeric)", N, NONE, Terminal, 4, 4),
    // Shared tag: Mastercard Track 2 Data (b, up to 19) / Visa and PBOC Card
    // CVM Limit (n 12, 6 bytes).
    e(0x9F6B, "Track 2 Data (Mastercard) / Card CVM Limit (Visa, PBOC)", B, T70, Icc, 0, 19),
    // Shared tag: Card Transaction Qualifiers (Visa, UnionPay; b 2) /
    // Mastercard Mag-stripe Application Version Number (Card) (b 2, in 70).
    e(0x9F6C, "Card Transaction Qualifiers (CTQ) (Visa, UnionPay) / Mag-stripe Application Version Number (Card) (Mastercard)", B, T70_77, Icc, 2, 2),
    // Shared tag: Mastercard Mag-stripe Application Version Number (Reader)
    // (terminal, b 2) / UnionPay EC Reset Threshold (card, n 12, 6 bytes) /
    // American Express Contactless Reader Capabilities (terminal, b 1).
    e(0x9F6D, "Mag-stripe Application Version Number (Reader) (Mastercard) / EC Reset Threshold (UnionPay) / Contactless Reader Capabilities (Amex)", B, NONE, Terminal, 1, 6),
    // Shared tag: Visa Form Factor Indicator (b 4) / Mastercard Third Party
    // Data (b 5 to 32, in 70 or BF0C) / American Express Enhanced
    // Contactless Reader Capabilities (terminal, b 4).
    e(0x9F6E, "Form Factor Indicator (Visa) / Third Party Data (Mastercard) / Enhanced Contactless Reader Capabilities (Amex)", B, T70_77_BF0C, Icc, 4, 32),
    // Shared tags 9F74, 9F77..9F79: UnionPay electronic cash (Visa VLP)
    // elements / Mastercard data storage envelopes (b, up to 192).
    e(0x9F74, "EC Issuer Authorisation Code (UnionPay) / VLP Issuer Authorisation Code (Visa) / Protected Data Envelope 5 (Mastercard)", B, NONE, Icc, 0, 192),
    e(0x9F77, "EC Balance Limit (UnionPay) / VLP Funds Limit (Visa) / Unprotected Data Envelope 3 (Mastercard)", B, NONE, Icc, 0, 192),
    e(0x9F78, "EC Single Transaction Limit (UnionPay) / VLP Single Transaction Limit (Visa) / Unprotected Data Envelope 4 (Mastercard)", B, NONE, Icc, 0, 192),
    e(0x9F79, "EC Balance (UnionPay) / VLP Available Funds (Visa) / Unprotected Data Envelope 5 (Mastercard)", B, NONE, Icc, 0, 192),
    e(0x9F7A, "EC Terminal Support Indicator (UnionPay) / VLP Terminal Support Indicator (Visa)", B, NONE, Terminal, 1, 1),
    e(0x9F7B, "EC Terminal Transaction Limit (UnionPay) / VLP Terminal Transaction Limit (Visa)", N, NONE, Terminal, 6, 6),
    // Shared tag: Visa Customer Exclusive Data (card, b up to 32, in the GPO
    // response) / Mastercard Merchant Custom Data (terminal, b 20).
    e(0x9F7C, "Customer Exclusive Data (Visa) / Merchant Custom Data (Mastercard)", B, T77, Icc, 0, 32),
    // Shared tag: Mastercard Mobile Support Indicator (terminal, b 1) / Visa
    // VIS Application Life Cycle Data (card, b 48).
    e(0x9F7E, "Mobile Support Indicator (Mastercard) / Application Life Cycle Data (Visa VIS)", B, NONE, Terminal, 1, 48),

    // ---- BF.. ----
    e(0xBF0C, "File Control Information (FCI) Issuer Discretionary Data", B, TA5, Icc, 0, 222),

    // ---- DF.. (two bytes) ----
    // Mastercard: returned in the GENERATE AC response.
    e(0xDF4B, "POS Cardholder Interaction Information", B, T77, Icc, 3, 3),
    // PBOC electronic cash load (credit-for-load) log.
    e(0xDF4D, "EC Load Log Entry (PBOC)", B, TBF0C, Icc, 2, 2),
    e(0xDF4F, "EC Load Log Format (PBOC)", B, NONE, Icc, 0, ANY),
    // Shared tags DF60..DF63: Mastercard data storage (kernel data) / PBOC
    // extended applications (CAPP indicator, segmented debit; PDOL data and
    // card amounts, n 12 where an amount).
    e(0xDF60, "DS Input (Card) (Mastercard) / CAPP Transaction Indicator (PBOC)", B, NONE, Terminal, 1, 8),
    e(0xDF61, "DS Digest H (Mastercard) / Segmented Debit Application Identifier (PBOC)", B, NONE, Terminal, 1, 8),
    e(0xDF62, "DS ODS Info (Mastercard) / Segmented Debit Deduction Limit (PBOC)", B, NONE, Terminal, 1, 6),
    e(0xDF63, "DS ODS Term (Mastercard) / Segmented Debit Amount Already Deducted (PBOC)", B, NONE, Terminal, 0, 160),
    e(0xDF71, "EC Application Currency Code, Second Currency (PBOC)", N, NONE, Icc, 2, 2),

    // ---- DF81.. (Mastercard Book C-2 kernel data) ----
    e(0xDF8104, "Balance Read Before Gen AC", N, NONE, Terminal, 6, 6),
    e(0xDF8105, "Balance Read After Gen AC", N, NONE, Terminal, 6, 6),
    e(0xDF8106, "Data Needed", B, NONE, Terminal, 0, ANY),
    e(0xDF8107, "CDOL1 Related Data", B, NONE, Terminal, 0, ANY),
    e(0xDF810C, "Kernel ID", B, NONE, Terminal, 1, 1),
    e(0xDF8111, "PDOL Related Data", B, NONE, Terminal, 0, ANY),
    e(0xDF8112, "Tags To Read", B, NONE, Terminal, 0, ANY),
    e(0xDF8114, "Reference Control Parameter", B, NONE, Terminal, 1, 1),
    e(0xDF8115, "Error Indication", B, NONE, Terminal, 6, 6),
    e(0xDF8116, "User Interface Request Data", B, NONE, Terminal, 22, 22),
    e(0xDF8117, "Card Data Input Capability", B, NONE, Terminal, 1, 1),
    e(0xDF8118, "CVM Capability - CVM Required", B, NONE, Terminal, 1, 1),
    e(0xDF8119, "CVM Capability - No CVM Required", B, NONE, Terminal, 1, 1),
    e(0xDF811A, "Default UDOL", B, NONE, Terminal, 3, 3),
    e(0xDF811B, "Kernel Configuration", B, NONE, Terminal, 1, 1),
    e(0xDF811C, "Max Lifetime of Torn Transaction Log Record", B, NONE, Terminal, 2, 2),
    e(0xDF811D, "Max Number of Torn Transaction Log Records", B, NONE, Terminal, 1, 1),
    e(0xDF811E, "Mag-stripe CVM Capability - CVM Required", B, NONE, Terminal, 1, 1),
    e(0xDF811F, "Security Capability", B, NONE, Terminal, 1, 1),
    e(0xDF8120, "Terminal Action Code - Default", B, NONE, Terminal, 5, 5),
    e(0xDF8121, "Terminal Action Code - Denial", B, NONE, Terminal, 5, 5),
    e(0xDF8122, "Terminal Action Code - Online", B, NONE, Terminal, 5, 5),
    e(0xDF8123, "Reader Contactless Floor Limit", N, NONE, Terminal, 6, 6),
    e(0xDF8124, "Reader Contactless Transaction Limit (No On-device CVM)", N, NONE, Terminal, 6, 6),
    e(0xDF8125, "Reader Contactless Transaction Limit (On-device CVM)", N, NONE, Terminal, 6, 6),
    e(0xDF8126, "Reader CVM Required Limit", N, NONE, Terminal, 6, 6),
    e(0xDF8127, "Time Out Value", B, NONE, Terminal, 2, 2),
    e(0xDF8128, "IDS Status", B, NONE, Terminal, 1, 1),
    e(0xDF8129, "Outcome Parameter Set", B, NONE, Terminal, 8, 8),
    e(0xDF812A, "DD Card (Track1)", Ans, NONE, Terminal, 0, 56),
    e(0xDF812B, "DD Card (Track2)", B, NONE, Terminal, 0, 8),
    e(0xDF812C, "Mag-stripe CVM Capability - No CVM Required", B, NONE, Terminal, 1, 1),
    e(0xDF812D, "Message Hold Time", N, NONE, Terminal, 3, 3),
    e(0xDF8130, "Hold Time Value", B, NONE, Terminal, 1, 1),
    e(0xDF8131, "Phone Message Table", B, NONE, Terminal, 0, ANY),
    e(0xDF8132, "Minimum Relay Resistance Grace Period", B, NONE, Terminal, 2, 2),
    e(0xDF8133, "Maximum Relay Resistance Grace Period", B, NONE, Terminal, 2, 2),
    e(0xDF8134, "Terminal Expected Transmission Time For Relay Resistance C-APDU", B, NONE, Terminal, 2, 2),
    e(0xDF8135, "Terminal Expected Transmission Time For Relay Resistance R-APDU", B, NONE, Terminal, 2, 2),
    e(0xDF8136, "Relay Resistance Accuracy Threshold", B, NONE, Terminal, 2, 2),
    e(0xDF8137, "Relay Resistance Transmission Time Mismatch Threshold", B, NONE, Terminal, 1, 1),

    // ---- FF81.. (Mastercard Book C-2 kernel templates) ----
    e(0xFF8101, "Torn Record", B, NONE, Terminal, 0, ANY),
    e(0xFF8102, "Tags To Write Before Gen AC", B, NONE, Terminal, 0, ANY),
    e(0xFF8103, "Tags To Write After Gen AC", B, NONE, Terminal, 0, ANY),
    e(0xFF8104, "Data To Send", B, NONE, Terminal, 0, ANY),
    e(0xFF8105, "Data Record", B, NONE, Terminal, 0, ANY),
    e(0xFF8106, "Discretionary Data", B, NONE, Terminal, 0, ANY),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn get(tag: u32) -> &'static TagInfo {
        lookup(Tag(tag)).unwrap_or_else(|| panic!("{:X} missing", tag))
    }

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in all().windows(2) {
            assert!(
                pair[0].tag < pair[1].tag,
                "{} must come before {}",
                pair[0].tag,
                pair[1].tag
            );
        }
    }

    #[test]
    fn every_entry_is_found_by_lookup() {
        for info in all() {
            assert!(std::ptr::eq(lookup(info.tag).unwrap(), info), "{}", info.tag);
        }
    }

    #[test]
    fn every_entry_is_well_formed() {
        for info in all() {
            assert!(!info.name.trim().is_empty(), "{} has no name", info.tag);
            assert!(info.min_len <= info.max_len, "{} length range", info.tag);
            // The tag value is a real BER tag that encodes to itself.
            let bytes = info.tag.to_bytes();
            assert_eq!(
                Tag::read(&bytes).unwrap(),
                (info.tag, bytes.len()),
                "{}",
                info.tag
            );
            // Every template named is itself in the dictionary.
            for t in info.template {
                assert!(lookup(*t).is_some(), "{}: template {} unknown", info.tag, t);
            }
        }
    }

    #[test]
    fn unknown_tags_are_none() {
        assert_eq!(lookup(Tag(0x00)), None);
        assert_eq!(lookup(Tag(0xDF7F)), None);
        assert_eq!(lookup(Tag(0x9F8F01)), None);
        assert_eq!(lookup(Tag(0xFFFF_FFFF)), None);
    }

    #[test]
    fn amount_authorised_numeric() {
        let i = get(0x9F02);
        assert_eq!(i.name, "Amount, Authorised (Numeric)");
        assert_eq!(i.format, Format::N);
        assert_eq!((i.min_len, i.max_len), (6, 6));
        assert_eq!(i.source, Source::Terminal);
        assert!(i.template.is_empty());
    }

    #[test]
    fn pan() {
        let i = get(0x5A);
        assert_eq!(i.format, Format::Cn);
        assert_eq!(i.max_len, 10);
        assert_eq!(i.source, Source::Icc);
        assert_eq!(i.template, &[Tag(0x70), Tag(0x77)]);
    }

    #[test]
    fn application_cryptogram() {
        let i = get(0x9F26);
        assert_eq!(i.format, Format::B);
        assert_eq!((i.min_len, i.max_len), (8, 8));
        assert_eq!(i.source, Source::Icc);
        assert_eq!(i.template, &[Tag(0x77), Tag(0x80)]);
    }

    #[test]
    fn ttq() {
        let i = get(0x9F66);
        assert_eq!(i.source, Source::Terminal);
        assert_eq!(i.format, Format::B);
        assert_eq!(i.max_len, 4);
        assert!(i.name.contains("Terminal Transaction Qualifiers"));
    }

    #[test]
    fn ec_balance_exists() {
        assert!(get(0x9F79).name.contains("EC Balance"));
    }

    #[test]
    fn cdol1_is_a_card_dol() {
        let i = get(0x8C);
        assert_eq!(i.format, Format::B);
        assert_eq!(i.source, Source::Icc);
        assert!(i.name.contains("CDOL1"));
    }

    #[test]
    fn issuer_and_template_entries() {
        assert_eq!(get(0x91).source, Source::Issuer);
        assert_eq!(get(0x86).template, &[Tag(0x71), Tag(0x72)]);
        for t in [0x61, 0x6F, 0x70, 0x71, 0x72, 0x77, 0x80, 0xA5, 0xBF0C] {
            get(t);
        }
        for t in [
            0x95, 0x9A, 0x9C, 0x9F37, 0x9F33, 0x9F35, 0x9F40, 0x8A, 0x89, 0x9F34, 0x9B, 0x9F03, 0x9F1A,
        ] {
            assert_ne!(get(t).source, Source::Icc, "{:X}", t);
        }
    }

    #[test]
    fn shared_tags_name_every_meaning() {
        let ffi = get(0x9F6E);
        assert!(ffi.name.contains("Form Factor") && ffi.name.contains("Third Party Data"));
        assert_eq!(ffi.format, Format::B);
        let msd = get(0x9F6D);
        assert!(msd.name.contains("Mag-stripe") && msd.name.contains("EC Reset Threshold"));
        assert_eq!(msd.format, Format::B);
    }

    #[test]
    fn mastercard_kernel_configuration_range_is_present() {
        for t in 0xDF8117..=0xDF812D {
            get(t);
        }
        assert_eq!(get(0xDF8129).max_len, 8);
    }
}
