//! Scenario tests for the whole chain: a real Visa test vector for SDA, and
//! a generated CA, issuer and card for DDA, CDA and fDDA, each then broken
//! one field at a time.

use std::sync::OnceLock;

use hex::decode as h;
use proptest::prelude::*;

use super::testkit::{Cert, Issued, Sig, TestKey, cda_dynamic_data, dda_dynamic_data};
use super::*;
use crate::config::{Config, RevokedCertificate, TerminalParams};

fn hx(s: &str) -> Vec<u8> {
    h(s).unwrap()
}

// ---------------------------------------------------------------------------
// Visa test CA key A000000003 index 01 and the SDA data lumag/emv-tools
// (test/sda-test.c) checks, as in poskit-crypto's rsa tests.

const VSDC_TEST_01_MODULUS: &str = "\
    C696034213D7D8546984579D1D0F0EA519CFF8DEFFC429354CF3A871A6F7183F\
    1228DA5C7470C055387100CB935A712C4E2864DF5D64BA93FE7E63E71F25B1E5\
    F5298575EBE1C63AA617706917911DC2A75AC28B251C7EF40F2365912490B939\
    BCA2124A30A28F54402C34AECA331AB67E1E79B285DD5771B5D9FF79EA630B75";
const ISSUER_CERT: &str = "\
    3C5FEAD4DD7BCA44F93E90C44F76EDE54A3288ECDC78469FCB1225C03B2C04F2\
    C2F412281A0822DF14649230989FB1494070DAF8C9534A7881960148616ACE58\
    1788120D3506ACE4CEE564FB27EE53341C22F0B45B31873D05DE545EFE33BCD2\
    9B2185D035A806AD08C6976F3505A19999930CA8A03EFA321C486061F7DCEC9F";
const ISSUER_REMAINDER: &str = "\
    1EBCA30F00CE5962A8C6E130544B82891B236C65DE29317F364735DEE63F6598\
    975835D5";
const SIGNED_STATIC_DATA: &str = "\
    99A558B62B674AA5E7D2A57E5EF6A6F2258E5DA052D05B54E5C115FF1CECF94A\
    A2DF8F39A01D71C619EB819DA52EF381E84979586AEA7855FFBEF40AA3A71CD3\
    B04CFDF270AEC8158A2797F24FD613B748134661135CD290E45B04A8E0CCC711\
    AE042F159E73C89C2A7E65A4C2FD1D6106024AA27130B0ECEC0238F91659DE96";
const STATIC_RECORDS: &str = "\
    5F24030812315A0842765500132345995F3401019F0702FF009F0D05D040ACA8\
    009F0E0500100000009F0F05D068BCF800";
const VISA_AIP: [u8; 2] = [0x5C, 0x00];
/// The PAN inside STATIC_RECORDS (5A), a Visa test card.
const VISA_PAN: [u8; 8] = [0x42, 0x76, 0x55, 0x00, 0x13, 0x23, 0x45, 0x99];
/// 1 January 2009: the issuer certificate expires 12/09.
const VISA_TODAY: [u8; 3] = [0x09, 0x01, 0x01];

fn visa_ca() -> CaPublicKey {
    let modulus = hx(VSDC_TEST_01_MODULUS);
    let mut input = hx("A00000000301");
    input.extend(&modulus);
    input.push(0x03);
    CaPublicKey {
        rid: [0xA0, 0x00, 0x00, 0x00, 0x03],
        index: 0x01,
        modulus,
        exponent: vec![0x03],
        expiry: "091231".into(),
        checksum: poskit_crypto::hash::sha1(&input).to_vec(),
    }
}

fn visa_issuer(ca: &CaPublicKey, pan: &[u8], today: [u8; 3]) -> Result<IssuerPublicKey, OdaError> {
    let remainder = hx(ISSUER_REMAINDER);
    recover_issuer_key(
        ca,
        |_| false,
        &hx(ISSUER_CERT),
        Some(&remainder),
        &[0x03],
        pan,
        today,
    )
}

/// The records as the card returned them: one template 70 in SFI 1.
fn visa_record() -> Vec<u8> {
    let records = hx(STATIC_RECORDS);
    [&[0x70, records.len() as u8][..], &records].concat()
}

#[test]
fn visa_test_card_passes_sda_end_to_end() {
    let ca = visa_ca();
    ca.validate().expect("the CA key entry and its checksum agree");
    // Book 3 10.3: record value without 70 and length, then the AIP that
    // 9F4A names.
    let record = visa_record();
    let static_data = static_data_to_authenticate(&[(1, &record)], Some(&[0x82]), &VISA_AIP).unwrap();
    assert_eq!(static_data, [hx(STATIC_RECORDS), VISA_AIP.to_vec()].concat());

    let issuer = visa_issuer(&ca, &VISA_PAN, VISA_TODAY).unwrap();
    assert_eq!(issuer.modulus.len(), 128);
    assert_eq!(issuer.exponent, [0x03]);
    assert_eq!(issuer.expiry, [0x12, 0x09]);
    assert_eq!(issuer.serial, [0x00, 0x42, 0xB3]);

    let dac = verify_sda(&issuer, &hx(SIGNED_STATIC_DATA), &static_data).unwrap();
    assert_eq!(dac, [0x31, 0x32]);
}

#[test]
fn visa_issuer_identifier_is_six_pan_digits() {
    // The certificate names 427655: another card of that BIN passes, a
    // card of another BIN does not.
    let ca = visa_ca();
    let same_bin = [0x42, 0x76, 0x55, 0x99, 0x99, 0x99, 0x99, 0x99];
    assert!(visa_issuer(&ca, &same_bin, VISA_TODAY).is_ok());
    let other_bin = [0x42, 0x76, 0x56, 0x00, 0x13, 0x23, 0x45, 0x99];
    assert_eq!(
        visa_issuer(&ca, &other_bin, VISA_TODAY),
        Err(OdaError::IssuerIdentifierMismatch)
    );
}

#[test]
fn visa_certificate_expires_after_december_2009() {
    let ca = visa_ca();
    assert!(visa_issuer(&ca, &VISA_PAN, [0x09, 0x12, 0x31]).is_ok());
    let ca = CaPublicKey {
        expiry: "201231".into(),
        ..visa_ca()
    };
    assert_eq!(
        visa_issuer(&ca, &VISA_PAN, [0x10, 0x01, 0x01]),
        Err(OdaError::IssuerCertificateExpired)
    );
}

#[test]
fn visa_ca_key_past_its_expiry_is_not_used() {
    let ca = visa_ca();
    assert_eq!(
        visa_issuer(&ca, &VISA_PAN, [0x10, 0x01, 0x01]),
        Err(OdaError::CaKeyExpired)
    );
}

#[test]
fn visa_revoked_serial_fails() {
    let ca = visa_ca();
    let config = Config {
        revoked: vec![RevokedCertificate {
            rid: ca.rid,
            ca_index: ca.index,
            serial: [0x00, 0x42, 0xB3],
        }],
        ..empty_config()
    };
    let remainder = hx(ISSUER_REMAINDER);
    let revoked = |serial: &[u8; 3]| config.is_revoked(&ca.rid, ca.index, serial);
    let result = recover_issuer_key(
        &ca,
        revoked,
        &hx(ISSUER_CERT),
        Some(&remainder),
        &[3],
        &VISA_PAN,
        VISA_TODAY,
    );
    assert_eq!(result, Err(OdaError::IssuerCertificateRevoked));
}

#[test]
fn visa_missing_remainder_is_icc_data_missing() {
    // N_I = 128 > N_CA - 36 = 92: the remainder is mandatory.
    let ca = visa_ca();
    for remainder in [None, Some(&[][..])] {
        let err = recover_issuer_key(
            &ca,
            |_| false,
            &hx(ISSUER_CERT),
            remainder,
            &[3],
            &VISA_PAN,
            VISA_TODAY,
        )
        .unwrap_err();
        assert_eq!(err, OdaError::MissingData(tags::ISSUER_REMAINDER));
        assert!(err.is_icc_data_missing());
    }
}

#[test]
fn visa_changed_record_fails_sda() {
    let issuer = visa_issuer(&visa_ca(), &VISA_PAN, VISA_TODAY).unwrap();
    let mut static_data = [hx(STATIC_RECORDS), VISA_AIP.to_vec()].concat();
    // The application usage control (9F07) edited from FF00 to FF80.
    assert_eq!(static_data[20..25], [0x9F, 0x07, 0x02, 0xFF, 0x00]);
    static_data[24] ^= 0x80;
    assert!(matches!(
        verify_sda(&issuer, &hx(SIGNED_STATIC_DATA), &static_data),
        Err(OdaError::Signature(_))
    ));
    // Without the AIP the tag list asked for, the hash differs too.
    assert!(verify_sda(&issuer, &hx(SIGNED_STATIC_DATA), &hx(STATIC_RECORDS)).is_err());
}

fn empty_config() -> Config {
    Config {
        terminal: TerminalParams {
            terminal_type: 0x22,
            capabilities: [0xE0, 0xF8, 0xC8],
            additional_capabilities: [0; 5],
            country_code: [0x01, 0x56],
            currency_code: [0x01, 0x56],
            currency_exponent: 2,
            merchant_category_code: [0; 2],
            merchant_id: String::new(),
            terminal_id: String::new(),
            ifd_serial: String::new(),
            merchant_name_location: String::new(),
            ttq: [0x36, 0x00, 0x40, 0x80],
        },
        aids: vec![],
        ca_keys: vec![],
        revoked: vec![],
        exception_list: vec![],
    }
}

// ---------------------------------------------------------------------------
// A generated card: CA 1408 bits, issuer 1152 bits (needs a remainder), ICC
// 1024 bits with e = 65537 (needs a remainder).

const RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x09, 0x99];
const CA_INDEX: u8 = 0xF1;
/// A 19-digit test PAN, so its cn form ends with one F nibble.
const PAN: [u8; 10] = [0x62, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x7F];
const PAN_DIGITS: &str = "6212345678901234567";
const ISSUER_ID: [u8; 4] = [0x62, 0x12, 0x34, 0xFF];
const ISSUER_SERIAL: [u8; 3] = [0x12, 0x34, 0x56];
/// 15 June 2025. The ICC certificate expires 06/25: still good this month.
const TODAY: [u8; 3] = [0x25, 0x06, 0x15];
const AIP: [u8; 2] = [0x39, 0x00];
const UN: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

struct Card {
    ca_key: TestKey,
    issuer_key: TestKey,
    icc_key: TestKey,
    ca: CaPublicKey,
    records: Vec<(u8, Vec<u8>)>,
    issuer_cert: Issued,
    icc_cert: Issued,
}

/// The card every generated-key test uses, personalised once: signing
/// with the test private keys is the slow part of these tests.
fn card() -> &'static Card {
    static CARD: OnceLock<Card> = OnceLock::new();
    CARD.get_or_init(Card::new)
}

impl Card {
    fn new() -> Card {
        let (ca_key, issuer_key, icc_key) = (TestKey::ca(), TestKey::issuer(), TestKey::icc());
        let ca = ca_key.as_ca_key(RID, CA_INDEX, "301231");
        let mut sfi1 = vec![0x70, 0x12, 0x5A, 0x0A];
        sfi1.extend(PAN);
        sfi1.extend([0x5F, 0x24, 0x03, 0x27, 0x12, 0x31]);
        assert_eq!(sfi1.len(), 2 + 0x12);
        let sfi11 = vec![0x70, 0x04, 0x9F, 0x07, 0x01, 0xFF];
        let card = Card {
            issuer_cert: Cert::issuer(ISSUER_ID, [0x12, 0x29], ISSUER_SERIAL).issue(
                &ca_key,
                &issuer_key,
                &[],
            ),
            icc_cert: Issued {
                certificate: vec![],
                remainder: vec![],
            },
            records: vec![(1, sfi1), (11, sfi11)],
            ca_key,
            issuer_key,
            icc_key,
            ca,
        };
        let icc_cert =
            Cert::icc(&PAN, [0x06, 0x25]).issue(&card.issuer_key, &card.icc_key, &card.static_data());
        Card { icc_cert, ..card }
    }

    fn static_data(&self) -> Vec<u8> {
        let records: Vec<(u8, &[u8])> = self.records.iter().map(|(s, r)| (*s, &r[..])).collect();
        static_data_to_authenticate(&records, Some(&[0x82]), &AIP).unwrap()
    }

    fn issuer_with(&self, cert: &Issued) -> Result<IssuerPublicKey, OdaError> {
        recover_issuer_key(
            &self.ca,
            |_| false,
            &cert.certificate,
            cert.remainder(),
            &self.issuer_key.exponent,
            &PAN,
            TODAY,
        )
    }

    fn issuer(&self) -> IssuerPublicKey {
        self.issuer_with(&self.issuer_cert).unwrap()
    }

    fn icc_with(&self, cert: &Issued) -> Result<IccPublicKey, OdaError> {
        recover_icc_key(
            &self.issuer(),
            &cert.certificate,
            cert.remainder(),
            &self.icc_key.exponent,
            &self.static_data(),
            &PAN,
            TODAY,
        )
    }

    fn icc(&self) -> IccPublicKey {
        self.icc_with(&self.icc_cert).unwrap()
    }

    fn issuer_cert(&self, edit: impl FnOnce(&mut Cert)) -> Issued {
        let mut cert = Cert::issuer(ISSUER_ID, [0x12, 0x29], ISSUER_SERIAL);
        edit(&mut cert);
        cert.issue(&self.ca_key, &self.issuer_key, &[])
    }

    fn icc_cert(&self, edit: impl FnOnce(&mut Cert)) -> Issued {
        let mut cert = Cert::icc(&PAN, [0x06, 0x25]);
        edit(&mut cert);
        cert.issue(&self.issuer_key, &self.icc_key, &self.static_data())
    }
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= 0x10;
    out
}

#[test]
fn generated_chain_recovers_both_keys() {
    let card = card();
    assert_eq!(card.issuer_cert.remainder.len(), 144 - (176 - 36));
    assert_eq!(card.icc_cert.remainder.len(), 128 - (144 - 42));
    let issuer = card.issuer();
    assert_eq!(issuer.modulus, card.issuer_key.modulus);
    assert_eq!(issuer.serial, ISSUER_SERIAL);
    let icc = card.icc();
    assert_eq!(icc.modulus, card.icc_key.modulus);
    assert_eq!(icc.exponent, [1, 0, 1]);
}

#[test]
fn dda_round_trip() {
    let card = card();
    // DDOL 9F3704 plus the amount: what INTERNAL AUTHENTICATE carried.
    let ddol_data = [&UN[..], &[0, 0, 0, 0, 0x10, 0x00]].concat();
    let number = [0xA1, 0xB2, 0xC3, 0xD4];
    let sdad = Sig::sdad().sign_dynamic(&card.icc_key, &dda_dynamic_data(&number), &ddol_data);
    assert_eq!(verify_dda(&card.icc(), &sdad, &ddol_data).unwrap(), number);
}

#[test]
fn dda_with_a_key_that_fits_its_certificate() {
    // 768-bit ICC key: N_IC <= N_I - 42, so no remainder and BB padding.
    let card = card();
    let small = TestKey::small_icc();
    let cert = Cert::icc(&PAN, [0x06, 0x25]).issue(&card.issuer_key, &small, &card.static_data());
    assert!(cert.remainder.is_empty());
    let icc = recover_icc_key(
        &card.issuer(),
        &cert.certificate,
        None,
        &[3],
        &card.static_data(),
        &PAN,
        TODAY,
    )
    .unwrap();
    assert_eq!(icc.modulus, small.modulus);
    let sdad = Sig::sdad().sign_dynamic(&small, &dda_dynamic_data(&[1, 2]), &UN);
    assert_eq!(verify_dda(&icc, &sdad, &UN).unwrap(), [1, 2]);
    // Book 2 6.4 step 5 hashes a remainder whenever the card gives one, so
    // a stray remainder breaks the hash rather than being ignored.
    assert!(matches!(
        recover_icc_key(
            &card.issuer(),
            &cert.certificate,
            Some(&[1]),
            &[3],
            &card.static_data(),
            &PAN,
            TODAY
        ),
        Err(OdaError::IccCertificate(_))
    ));
}

#[test]
fn sda_round_trip_with_generated_issuer() {
    let card = card();
    let ssad = Sig::ssad().sign_static(&card.issuer_key, [0xDA, 0xC0], &card.static_data());
    assert_eq!(
        verify_sda(&card.issuer(), &ssad, &card.static_data()),
        Ok([0xDA, 0xC0])
    );
}

/// A GENERATE AC response with CDA, built the way the card does: the
/// transaction data hash first, over everything but the signature.
struct CdaExchange {
    pdol_data: Vec<u8>,
    cdol_data: Vec<u8>,
    response: Vec<u8>,
    sdad: Vec<u8>,
}

const ARQC: [u8; 8] = [0xAC, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07];

impl CdaExchange {
    fn new(card: &Card, signed_cid: u8, sig: Sig) -> CdaExchange {
        let pdol_data = hx("360040800000000010000156");
        let cdol_data = [
            &hx("000000001000000000000000015600000000000156250615000000"),
            &UN[..],
        ]
        .concat();
        let before = hx("9F2701809F360200419F2608AC01020304050607");
        let after = hx("9F100706011203600000");
        let input = [&pdol_data[..], &cdol_data, &before, &after].concat();
        let hash = poskit_crypto::hash::sha1(&input);
        let dynamic = cda_dynamic_data(&[0x5E, 0xED], signed_cid, ARQC, hash);
        let sdad = sig.sign_dynamic(&card.icc_key, &dynamic, &UN);
        let mut response = before;
        response.extend([0x9F, 0x4B, 0x81, sdad.len() as u8]);
        response.extend(&sdad);
        response.extend(after);
        CdaExchange {
            pdol_data,
            cdol_data,
            response,
            sdad,
        }
    }

    fn verify(&self, card: &Card, cid: u8) -> Result<CdaData, OdaError> {
        let input = cda_hash_input(&self.pdol_data, &self.cdol_data, &self.response)?;
        verify_cda(&card.icc(), &self.sdad, &UN, cid, &input)
    }
}

#[test]
fn cda_round_trip() {
    let card = card();
    let exchange = CdaExchange::new(card, 0x80, Sig::sdad());
    let data = exchange.verify(card, 0x80).unwrap();
    assert_eq!(data.icc_dynamic_number, [0x5E, 0xED]);
    assert_eq!(data.cid, 0x80);
    assert_eq!(data.cryptogram, ARQC);
}

#[test]
fn cda_hash_input_drops_only_the_signature() {
    let value = hx("9F2701409F4B03AABBCC9F360200019F4B00");
    let input = cda_hash_input(&[1, 2], &[3], &value).unwrap();
    assert_eq!(input, hx("0102039F2701409F36020001"));
    assert!(matches!(
        cda_hash_input(&[], &[], &[0x9F, 0x27, 0x05, 0x00]),
        Err(OdaError::InvalidData { .. })
    ));
}

#[test]
fn cda_cid_must_be_the_one_returned() {
    // Card signed ARQC (80) but the response says TC (40).
    let card = card();
    let exchange = CdaExchange::new(card, 0x80, Sig::sdad());
    assert_eq!(exchange.verify(card, 0x40), Err(OdaError::CidMismatch));
}

#[test]
fn cda_fails_on_another_unpredictable_number() {
    let card = card();
    let exchange = CdaExchange::new(card, 0x80, Sig::sdad());
    let input = cda_hash_input(&exchange.pdol_data, &exchange.cdol_data, &exchange.response).unwrap();
    let other_un = [0x11, 0x22, 0x33, 0x45];
    assert!(matches!(
        verify_cda(&card.icc(), &exchange.sdad, &other_un, 0x80, &input),
        Err(OdaError::Signature(_))
    ));
}

#[test]
fn cda_fails_when_transaction_data_changed() {
    // The amount in the CDOL data is not what the card signed for.
    let card = card();
    let mut exchange = CdaExchange::new(card, 0x80, Sig::sdad());
    exchange.cdol_data[4] = 0x20;
    assert_eq!(
        exchange.verify(card, 0x80),
        Err(OdaError::Signature(
            "the transaction data hash code does not match the transaction data"
        ))
    );
    // Likewise when a response data object other than 9F4B changes.
    let mut exchange = CdaExchange::new(card, 0x80, Sig::sdad());
    let last = exchange.response.len() - 1;
    exchange.response[last] ^= 1;
    assert!(exchange.verify(card, 0x80).is_err());
}

#[test]
fn cda_dynamic_data_too_short_fails() {
    let card = card();
    // A DDA-shaped dynamic data returned where CDA needs CID, AC and hash.
    let sdad = Sig::sdad().sign_dynamic(&card.icc_key, &dda_dynamic_data(&[1, 2, 3]), &UN);
    assert!(matches!(
        verify_cda(&card.icc(), &sdad, &UN, 0x80, &[]),
        Err(OdaError::Signature(_))
    ));
}

const AMOUNT: [u8; 6] = [0x00, 0x00, 0x00, 0x00, 0x25, 0x00];
const CNY: [u8; 2] = [0x01, 0x56];
/// fDDA version 01, card unpredictable number, card transaction qualifiers.
const CARD_AUTH_DATA: [u8; 7] = [0x01, 0xC1, 0xC2, 0xC3, 0xC4, 0x80, 0x00];
const ATC: [u8; 2] = [0x00, 0x2A];

fn fdda_sdad(card: &Card, terminal_data: &[u8]) -> Vec<u8> {
    Sig::sdad().sign_dynamic(&card.icc_key, &dda_dynamic_data(&ATC), terminal_data)
}

#[test]
fn fdda_version_01_signs_un_amount_currency_and_card_data() {
    let card = card();
    let signed = [&UN[..], &AMOUNT, &CNY, &CARD_AUTH_DATA].concat();
    let sdad = fdda_sdad(card, &signed);
    let icc = card.icc();
    assert_eq!(
        verify_fdda(&icc, &sdad, &UN, &AMOUNT, &CNY, Some(&CARD_AUTH_DATA)).unwrap(),
        ATC
    );
    // Another UN, amount, currency or card data each break the signature.
    let other_un = [0x11, 0x22, 0x33, 0x00];
    let other_amount = [0, 0, 0, 0, 0x26, 0];
    let other_card_data = [0x01, 0xC1, 0xC2, 0xC3, 0xC5, 0x80, 0x00];
    for result in [
        verify_fdda(&icc, &sdad, &other_un, &AMOUNT, &CNY, Some(&CARD_AUTH_DATA)),
        verify_fdda(&icc, &sdad, &UN, &other_amount, &CNY, Some(&CARD_AUTH_DATA)),
        verify_fdda(&icc, &sdad, &UN, &AMOUNT, &[0x08, 0x40], Some(&CARD_AUTH_DATA)),
        verify_fdda(&icc, &sdad, &UN, &AMOUNT, &CNY, Some(&other_card_data)),
        verify_fdda(&icc, &sdad, &UN, &AMOUNT, &CNY, None),
    ] {
        assert!(matches!(result, Err(OdaError::Signature(_))), "{result:?}");
    }
}

#[test]
fn fdda_version_00_signs_the_un_alone() {
    let card = card();
    let sdad = fdda_sdad(card, &UN);
    let icc = card.icc();
    assert_eq!(verify_fdda(&icc, &sdad, &UN, &AMOUNT, &CNY, None).unwrap(), ATC);
    assert!(verify_fdda(&icc, &sdad, &[0; 4], &AMOUNT, &CNY, None).is_err());
}

#[test]
fn fdda_unknown_version_fails() {
    let card = card();
    let sdad = fdda_sdad(card, &UN);
    assert!(matches!(
        verify_fdda(&card.icc(), &sdad, &UN, &AMOUNT, &CNY, Some(&[0x02, 0, 0, 0, 0, 0, 0])),
        Err(OdaError::InvalidData { tag, .. }) if tag == tags::CARD_AUTH_RELATED_DATA
    ));
}

// ---------------------------------------------------------------------------
// The CA key lookup.

#[test]
fn ca_key_lookup() {
    let card = card();
    let config = Config {
        ca_keys: vec![card.ca.clone()],
        ..empty_config()
    };
    assert_eq!(find_ca_key(&config, &RID, Some(&[CA_INDEX])), Ok(&card.ca));
    let missing = find_ca_key(&config, &RID, Some(&[0xF2])).unwrap_err();
    assert_eq!(
        missing,
        OdaError::CaKeyMissing {
            rid: RID,
            index: 0xF2
        }
    );
    assert!(missing.is_ca_key_missing());
    assert!(!missing.is_icc_data_missing());
    assert_eq!(
        missing.to_string(),
        "no CA public key for RID A000000999 index F2"
    );
    let other_rid = [0xA0, 0, 0, 0, 0x04];
    assert!(
        find_ca_key(&config, &other_rid, Some(&[CA_INDEX]))
            .unwrap_err()
            .is_ca_key_missing()
    );
    let no_index = find_ca_key(&config, &RID, None).unwrap_err();
    assert_eq!(no_index, OdaError::MissingData(tags::CA_KEY_INDEX));
    assert!(no_index.is_icc_data_missing());
    assert!(matches!(
        find_ca_key(&config, &RID, Some(&[CA_INDEX, 0])),
        Err(OdaError::InvalidData { .. })
    ));
}

// ---------------------------------------------------------------------------
// Broken issuer certificates (Book 2 5.3).

/// One change to a certificate's fields before it is signed.
type CertEdit = fn(&mut Cert);

fn issuer_reason(result: Result<IssuerPublicKey, OdaError>) -> &'static str {
    match result {
        Err(OdaError::IssuerCertificate(reason)) => reason,
        other => panic!("expected an issuer certificate error, got {other:?}"),
    }
}

#[test]
fn issuer_certificate_flipped_byte_fails() {
    let card = card();
    for at in [0, 50, 175] {
        let cert = Issued {
            certificate: flip(&card.issuer_cert.certificate, at),
            remainder: card.issuer_cert.remainder.clone(),
        };
        issuer_reason(card.issuer_with(&cert));
    }
}

#[test]
fn issuer_certificate_field_errors() {
    let card = card();
    let cases: [(CertEdit, &str); 4] = [
        (|c| c.format = 0x04, "wrong certificate or signed data format"),
        (
            |c| c.corrupt_hash = true,
            "the hash does not match the certificate's contents",
        ),
        (
            |c| c.hash_algorithm = 0x02,
            "the hash algorithm indicator is not SHA-1 (01)",
        ),
        (
            |c| c.key_algorithm = 0x02,
            "the issuer public key algorithm indicator is not RSA (01)",
        ),
    ];
    for (edit, reason) in cases {
        assert_eq!(issuer_reason(card.issuer_with(&card.issuer_cert(edit))), reason);
    }
    // A key length longer than the CA key is impossible (N_I <= N_CA).
    let cert = card.issuer_cert(|c| c.key_len = Some(177));
    assert_eq!(
        issuer_reason(card.issuer_with(&cert)),
        "the issuer public key length is not 1 to the CA key length"
    );
    let cert = card.issuer_cert(|c| c.subject = vec![0x62, 0xFF, 0xFF, 0xFF]);
    assert_eq!(
        issuer_reason(card.issuer_with(&cert)),
        "the issuer identifier is not 3 to 8 digits padded with F"
    );
    let cert = card.issuer_cert(|c| c.expiry = [0x13, 0x29]);
    assert_eq!(
        issuer_reason(card.issuer_with(&cert)),
        "the expiration date is not a valid MMYY"
    );
}

#[test]
fn issuer_certificate_of_wrong_length_fails() {
    let card = card();
    let cert = Issued {
        certificate: card.issuer_cert.certificate[1..].to_vec(),
        remainder: card.issuer_cert.remainder.clone(),
    };
    assert_eq!(
        issuer_reason(card.issuer_with(&cert)),
        "its length differs from the signer's key modulus"
    );
}

#[test]
fn issuer_certificate_expired() {
    let card = card();
    let cert = card.issuer_cert(|c| c.expiry = [0x05, 0x25]);
    assert_eq!(card.issuer_with(&cert), Err(OdaError::IssuerCertificateExpired));
    let cert = card.issuer_cert(|c| c.expiry = [0x06, 0x25]);
    assert!(card.issuer_with(&cert).is_ok());
}

#[test]
fn issuer_certificate_revoked() {
    let card = card();
    let config = Config {
        revoked: vec![RevokedCertificate {
            rid: RID,
            ca_index: CA_INDEX,
            serial: ISSUER_SERIAL,
        }],
        ..empty_config()
    };
    let revoked = |serial: &[u8; 3]| config.is_revoked(&RID, CA_INDEX, serial);
    let cert = &card.issuer_cert;
    let result = recover_issuer_key(
        &card.ca,
        revoked,
        &cert.certificate,
        cert.remainder(),
        &[3],
        &PAN,
        TODAY,
    );
    assert_eq!(result, Err(OdaError::IssuerCertificateRevoked));
    // The same serial under another CA index is not revoked.
    let other_ca = |serial: &[u8; 3]| config.is_revoked(&RID, 0xF2, serial);
    let result = recover_issuer_key(
        &card.ca,
        other_ca,
        &cert.certificate,
        cert.remainder(),
        &[3],
        &PAN,
        TODAY,
    );
    assert!(result.is_ok());
}

#[test]
fn issuer_identifier_of_another_bin_fails() {
    let card = card();
    let cert = card.issuer_cert(|c| c.subject = vec![0x62, 0x12, 0x35, 0xFF]);
    assert_eq!(card.issuer_with(&cert), Err(OdaError::IssuerIdentifierMismatch));
    // Eight digits, all matching, pass.
    let cert = card.issuer_cert(|c| c.subject = vec![0x62, 0x12, 0x34, 0x56]);
    assert!(card.issuer_with(&cert).is_ok());
}

#[test]
fn issuer_remainder_missing_or_wrong() {
    let card = card();
    let cert = &card.issuer_cert.certificate;
    let recover = |remainder: Option<&[u8]>| {
        recover_issuer_key(&card.ca, |_| false, cert, remainder, &[3], &PAN, TODAY)
    };
    assert_eq!(recover(None), Err(OdaError::MissingData(tags::ISSUER_REMAINDER)));
    let short = &card.issuer_cert.remainder[1..];
    assert_eq!(
        issuer_reason(recover(Some(short))),
        "the public key remainder does not complete the key to its stated length"
    );
    let changed = flip(&card.issuer_cert.remainder, 0);
    assert_eq!(
        issuer_reason(recover(Some(&changed))),
        "the hash does not match the certificate's contents"
    );
}

#[test]
fn issuer_exponent_and_required_data() {
    let card = card();
    let cert = &card.issuer_cert;
    let recover = |certificate: &[u8], exponent: &[u8], pan: &[u8]| {
        recover_issuer_key(
            &card.ca,
            |_| false,
            certificate,
            cert.remainder(),
            exponent,
            pan,
            TODAY,
        )
    };
    assert_eq!(
        recover(&[], &[3], &PAN),
        Err(OdaError::MissingData(tags::ISSUER_CERTIFICATE))
    );
    assert_eq!(
        recover(&cert.certificate, &[], &PAN),
        Err(OdaError::MissingData(tags::ISSUER_EXPONENT))
    );
    assert_eq!(
        recover(&cert.certificate, &[3], &[]),
        Err(OdaError::MissingData(tags::PAN))
    );
    assert!(matches!(
        recover(&cert.certificate, &[5], &PAN),
        Err(OdaError::InvalidData { tag, .. }) if tag == tags::ISSUER_EXPONENT
    ));
    // 65537 is a valid exponent, but not the one this certificate signs.
    assert_eq!(
        issuer_reason(recover(&cert.certificate, &[1, 0, 1], &PAN)),
        "the exponent length differs from the issuer public key exponent (9F32)"
    );
}

#[test]
fn bad_transaction_date_is_refused() {
    let card = card();
    let cert = &card.issuer_cert;
    let result = recover_issuer_key(
        &card.ca,
        |_| false,
        &cert.certificate,
        cert.remainder(),
        &[3],
        &PAN,
        [0x25, 0x13, 0x01],
    );
    assert!(matches!(result, Err(OdaError::InvalidData { tag, .. }) if tag == tags::TRANSACTION_DATE));
}

#[test]
fn certificate_under_another_ca_key_fails() {
    // The card names a CA key the terminal has, but its certificate was
    // signed by another CA of the same size.
    let card = card();
    let mut modulus = card.ca.modulus.clone();
    modulus[100] ^= 0x40;
    let ca = CaPublicKey {
        modulus,
        ..card.ca.clone()
    };
    let cert = &card.issuer_cert;
    assert!(matches!(
        recover_issuer_key(
            &ca,
            |_| false,
            &cert.certificate,
            cert.remainder(),
            &[3],
            &PAN,
            TODAY
        ),
        Err(OdaError::IssuerCertificate(_))
    ));
}

// ---------------------------------------------------------------------------
// Broken ICC certificates (Book 2 6.4).

fn icc_reason(result: Result<IccPublicKey, OdaError>) -> &'static str {
    match result {
        Err(OdaError::IccCertificate(reason)) => reason,
        other => panic!("expected an ICC certificate error, got {other:?}"),
    }
}

#[test]
fn icc_certificate_flipped_byte_fails() {
    let card = card();
    for at in [0, 77, 143] {
        let cert = Issued {
            certificate: flip(&card.icc_cert.certificate, at),
            remainder: card.icc_cert.remainder.clone(),
        };
        icc_reason(card.icc_with(&cert));
    }
}

#[test]
fn icc_certificate_field_errors() {
    let card = card();
    let cases: [(CertEdit, &str); 5] = [
        (|c| c.format = 0x02, "wrong certificate or signed data format"),
        (
            |c| c.corrupt_hash = true,
            "the hash does not match the certificate's contents and the static data",
        ),
        (
            |c| c.hash_algorithm = 0x00,
            "the hash algorithm indicator is not SHA-1 (01)",
        ),
        (
            |c| c.key_algorithm = 0x00,
            "the ICC public key algorithm indicator is not RSA (01)",
        ),
        (
            |c| c.key_len = Some(145),
            "the ICC public key length is not 1 to the issuer key length",
        ),
    ];
    for (edit, reason) in cases {
        assert_eq!(icc_reason(card.icc_with(&card.icc_cert(edit))), reason);
    }
}

#[test]
fn icc_certificate_covers_the_static_data() {
    // A record edited after personalisation: the ICC certificate no longer
    // vouches for it.
    let card = card();
    let mut static_data = card.static_data();
    static_data[3] ^= 0x01;
    let result = recover_icc_key(
        &card.issuer(),
        &card.icc_cert.certificate,
        card.icc_cert.remainder(),
        &[1, 0, 1],
        &static_data,
        &PAN,
        TODAY,
    );
    assert_eq!(
        icc_reason(result),
        "the hash does not match the certificate's contents and the static data"
    );
}

#[test]
fn icc_certificate_expired() {
    let card = card();
    let cert = card.icc_cert(|c| c.expiry = [0x05, 0x25]);
    assert_eq!(card.icc_with(&cert), Err(OdaError::IccCertificateExpired));
}

#[test]
fn icc_certificate_for_another_pan_fails() {
    let card = card();
    let other = [0x62, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x8F];
    let cert = card.icc_cert(|c| c.subject = other.to_vec());
    assert_eq!(card.icc_with(&cert), Err(OdaError::PanMismatch));
    // Same digits, but the card reads an 18-digit PAN: padding differs.
    let issuer = card.issuer();
    let short_pan = &PAN[..9];
    let result = recover_icc_key(
        &issuer,
        &card.icc_cert.certificate,
        card.icc_cert.remainder(),
        &[1, 0, 1],
        &card.static_data(),
        short_pan,
        TODAY,
    );
    assert_eq!(result, Err(OdaError::PanMismatch));
}

#[test]
fn icc_remainder_and_required_data() {
    let card = card();
    let issuer = card.issuer();
    let static_data = card.static_data();
    let cert = &card.icc_cert;
    let recover = |certificate: &[u8], remainder: Option<&[u8]>, exponent: &[u8]| {
        recover_icc_key(
            &issuer,
            certificate,
            remainder,
            exponent,
            &static_data,
            &PAN,
            TODAY,
        )
    };
    let missing = recover(&cert.certificate, None, &[1, 0, 1]).unwrap_err();
    assert_eq!(missing, OdaError::MissingData(tags::ICC_REMAINDER));
    assert!(missing.is_icc_data_missing());
    assert_eq!(
        recover(&[], cert.remainder(), &[1, 0, 1]),
        Err(OdaError::MissingData(tags::ICC_CERTIFICATE))
    );
    assert_eq!(
        recover(&cert.certificate, cert.remainder(), &[]),
        Err(OdaError::MissingData(tags::ICC_EXPONENT))
    );
    assert_eq!(
        icc_reason(recover(&cert.certificate[..143], cert.remainder(), &[1, 0, 1])),
        "its length differs from the signer's key modulus"
    );
}

// ---------------------------------------------------------------------------
// Broken signatures (Book 2 5.4, 6.5.2).

#[test]
fn signed_static_data_errors() {
    let card = card();
    let issuer = card.issuer();
    let data = card.static_data();
    let sign = |edit: fn(&mut Sig)| {
        let mut sig = Sig::ssad();
        edit(&mut sig);
        sig.sign_static(&card.issuer_key, [0, 1], &data)
    };
    assert_eq!(
        verify_sda(&issuer, &sign(|s| s.format = 0x05), &data),
        Err(OdaError::Signature("wrong certificate or signed data format"))
    );
    assert_eq!(
        verify_sda(&issuer, &sign(|s| s.corrupt_hash = true), &data),
        Err(OdaError::Signature(
            "the hash of the signed static data does not match the records"
        ))
    );
    assert_eq!(
        verify_sda(&issuer, &sign(|s| s.hash_algorithm = 0x02), &data),
        Err(OdaError::Signature(
            "the hash algorithm indicator is not SHA-1 (01)"
        ))
    );
    assert!(matches!(
        verify_sda(&issuer, &flip(&sign(|_| {}), 9), &data),
        Err(OdaError::Signature(_))
    ));
    assert_eq!(
        verify_sda(&issuer, &[], &data),
        Err(OdaError::MissingData(tags::SSAD))
    );
}

#[test]
fn signed_dynamic_data_errors() {
    let card = card();
    let icc = card.icc();
    let sign = |edit: fn(&mut Sig), dynamic: &[u8]| {
        let mut sig = Sig::sdad();
        edit(&mut sig);
        sig.sign_dynamic(&card.icc_key, dynamic, &UN)
    };
    let good = dda_dynamic_data(&[9, 9, 9]);
    assert_eq!(
        verify_dda(&icc, &sign(|s| s.format = 0x03, &good), &UN),
        Err(OdaError::Signature("wrong certificate or signed data format"))
    );
    assert_eq!(
        verify_dda(&icc, &sign(|s| s.corrupt_hash = true, &good), &UN),
        Err(OdaError::Signature(
            "the hash of the signed dynamic data does not match the terminal's data"
        ))
    );
    assert!(matches!(
        verify_dda(&icc, &sign(|_| {}, &good), &[0x11, 0x22, 0x33, 0x40]),
        Err(OdaError::Signature(_))
    ));
    assert!(matches!(
        verify_dda(&icc, &flip(&sign(|_| {}, &good), 60), &UN),
        Err(OdaError::Signature(_))
    ));
    // L_DD beyond N_IC - 25.
    assert_eq!(
        verify_dda(&icc, &sign(|s| s.dynamic_len = Some(104), &good), &UN),
        Err(OdaError::Signature(
            "the ICC dynamic data length overruns the signature"
        ))
    );
    // A one-byte ICC dynamic number is below Book 2's 2 to 8.
    assert_eq!(
        verify_dda(&icc, &sign(|_| {}, &dda_dynamic_data(&[7])), &UN),
        Err(OdaError::Signature(
            "the ICC dynamic number is not 2 to 8 bytes inside the dynamic data"
        ))
    );
    assert_eq!(verify_dda(&icc, &[], &UN), Err(OdaError::MissingData(tags::SDAD)));
    // Signed by the issuer key rather than the ICC key: wrong length.
    let by_issuer = Sig::sdad().sign_dynamic(&card.issuer_key, &good, &UN);
    assert_eq!(
        verify_dda(&icc, &by_issuer, &UN),
        Err(OdaError::Signature(
            "its length differs from the signer's key modulus"
        ))
    );
}

#[test]
fn errors_never_show_the_pan() {
    let card = card();
    let errors = [
        card.issuer_with(&card.issuer_cert(|c| c.subject = vec![0x62, 0x12, 0x35, 0xFF]))
            .unwrap_err(),
        card.icc_with(&card.icc_cert(|c| c.subject = vec![0x99; 10]))
            .unwrap_err(),
        recover_issuer_key(&card.ca, |_| false, &[1], None, &[3], &[0x62, 0x1A], TODAY).unwrap_err(),
    ];
    for err in errors {
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(PAN_DIGITS) && !text.contains("621234"), "{text}");
        }
    }
}

// ---------------------------------------------------------------------------
// Untrusted input never panics.

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_certificates_and_signatures_never_panic(
        cert in prop_oneof![bytes(200), proptest::collection::vec(any::<u8>(), 176..=176)],
        icc_cert in prop_oneof![bytes(200), proptest::collection::vec(any::<u8>(), 144..=144)],
        sdad in prop_oneof![bytes(200), proptest::collection::vec(any::<u8>(), 128..=128)],
        remainder in proptest::option::of(bytes(40)),
        exponent in prop_oneof![Just(vec![3u8]), Just(vec![1u8, 0, 1]), bytes(5)],
        pan in bytes(12),
        today in any::<[u8; 3]>(),
        small in bytes(40),
        cid in any::<u8>(),
    ) {
        let card = card();
        let _ = recover_issuer_key(&card.ca, |_| false, &cert, remainder.as_deref(), &exponent, &pan, today);
        let issuer = card.issuer();
        let _ = recover_icc_key(&issuer, &icc_cert, remainder.as_deref(), &exponent, &small, &pan, today);
        let _ = verify_sda(&issuer, &icc_cert, &small);
        let icc = IccPublicKey { modulus: card.icc_key.modulus.clone(), exponent: exponent.clone() };
        let _ = verify_dda(&icc, &sdad, &small);
        let _ = verify_cda(&icc, &sdad, &UN, cid, &small);
        let _ = verify_fdda(&icc, &sdad, &UN, &AMOUNT, &CNY, Some(&small));
        let _ = cda_hash_input(&small, &small, &sdad);
        // Keys from nowhere: any modulus bytes, any exponent.
        let odd = IssuerPublicKey { modulus: small.clone(), exponent: exponent.clone(), expiry: [0; 2], serial: [0; 3] };
        let _ = verify_sda(&odd, &small, &[]);
        let _ = recover_icc_key(&odd, &small, None, &exponent, &[], &pan, today);
    }

    #[test]
    fn arbitrary_records_never_panic(
        records in proptest::collection::vec((any::<u8>(), bytes(300)), 0..6),
        list in proptest::option::of(bytes(4)),
        aip in any::<[u8; 2]>(),
    ) {
        let records: Vec<(u8, &[u8])> = records.iter().map(|(s, r)| (*s, &r[..])).collect();
        let _ = static_data_to_authenticate(&records, list.as_deref(), &aip);
    }
}

proptest! {
    // Each case signs with a test private key, which is slow in debug
    // builds; fewer cases still reach every length field.
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Frames that pass the header, trailer and format checks but carry
    /// arbitrary fields: lengths, remainders and dynamic data that disagree.
    #[test]
    fn well_framed_garbage_never_panics(
        body in proptest::collection::vec(any::<u8>(), 200),
        remainder in proptest::option::of(bytes(40)),
        cid in any::<u8>(),
    ) {
        let card = card();
        let hash = [0u8; 20];
        let cert = card.ca_key.sign_frame(&[&[0x02][..], &body[..176 - 23]].concat(), &hash);
        let _ = recover_issuer_key(&card.ca, |_| false, &cert, remainder.as_deref(), &[3], &PAN, TODAY);
        let issuer = card.issuer();
        let icc_cert = card.issuer_key.sign_frame(&[&[0x04][..], &body[..144 - 23]].concat(), &hash);
        let _ = recover_icc_key(&issuer, &icc_cert, remainder.as_deref(), &[1, 0, 1], &[], &PAN, TODAY);
        let ssad = card.issuer_key.sign_frame(&[&[0x03][..], &body[..144 - 23]].concat(), &hash);
        let _ = verify_sda(&issuer, &ssad, &[]);
        let icc = card.icc();
        let sdad = card.icc_key.sign_frame(&[&[0x05][..], &body[..128 - 23]].concat(), &hash);
        let _ = verify_dda(&icc, &sdad, &UN);
        let _ = verify_cda(&icc, &sdad, &UN, cid, &[]);
        let _ = verify_fdda(&icc, &sdad, &UN, &AMOUNT, &CNY, remainder.as_deref());
    }
}
