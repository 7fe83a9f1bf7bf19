//! A terminal by hand for the virtual card tests: builds the commands,
//! reads the answers and checks signatures and cryptograms independently
//! of the card's code, from the EMV books and `poskit_crypto` primitives.

#![allow(dead_code)] // each test file uses part of this

use std::collections::BTreeMap;

use poskit_crypto::SymmetricKey;
use poskit_crypto::emv::{Psn, ac_session_key, application_cryptogram, icc_master_key_option_a};
use poskit_crypto::hash::sha1;
use poskit_crypto::rsa::recover;
use poskit_emv::CaPublicKey;
use poskit_sim::{Card, VirtualCard, ca};
use poskit_tlv::{Dol, Tag};

pub fn h(text: &str) -> Vec<u8> {
    hex::decode(text.replace(' ', "")).unwrap()
}

pub fn card(name: &str) -> VirtualCard {
    VirtualCard::named(name).unwrap_or_else(|| panic!("profile {name}"))
}

/// Sends a command; returns the data and the status word.
pub fn send(card: &mut VirtualCard, apdu: &[u8]) -> (Vec<u8>, u16) {
    let response = card.transceive(apdu).expect("card in the reader");
    assert!(response.len() >= 2, "a response always ends with a status word");
    let (data, sw) = response.split_at(response.len() - 2);
    (data.to_vec(), u16::from_be_bytes([sw[0], sw[1]]))
}

/// A case 4 command (case 3 when `data` is empty is not used by EMV).
pub fn apdu(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![cla, ins, p1, p2];
    if !data.is_empty() {
        out.push(data.len() as u8);
        out.extend_from_slice(data);
    }
    out.push(0x00);
    out
}

pub fn ok(card: &mut VirtualCard, command: &[u8]) -> Vec<u8> {
    let (data, sw) = send(card, command);
    assert_eq!(
        sw,
        0x9000,
        "command {} answered {sw:04X}",
        hex::encode_upper(command)
    );
    data
}

/// The value of the first `tag` anywhere in `data`.
pub fn find(data: &[u8], tag: u32) -> Option<Vec<u8>> {
    poskit_tlv::find(data, Tag(tag))
        .unwrap()
        .map(|t| t.value().to_vec())
}

pub fn must(data: &[u8], tag: u32) -> Vec<u8> {
    find(data, tag).unwrap_or_else(|| panic!("tag {tag:X} missing in {}", hex::encode_upper(data)))
}

/// Terminal data as a terminal would hold it for one transaction.
#[derive(Clone)]
pub struct Terminal {
    pub values: BTreeMap<u32, Vec<u8>>,
}

impl Terminal {
    /// A 10.00 CNY purchase on 2025-03-15 at an attended online terminal.
    pub fn purchase(amount_bcd: &str) -> Terminal {
        let mut values = BTreeMap::new();
        for (tag, value) in [
            (0x9F02, amount_bcd),
            (0x9F03, "000000000000"),
            (0x9F1A, "0156"),
            (0x95, "0000008000"),
            (0x5F2A, "0156"),
            (0x9A, "250315"),
            (0x9C, "00"),
            (0x9F37, "A1B2C3D4"),
            (0x9F35, "22"),
            (0x9F45, "0000"),
            (0x9F4C, "0000000000000000"),
            (0x9F34, "410302"),
            (0x9F21, "101530"),
            (0x9F66, "37004080"),
            (0x9F7A, "00"),
            (0x8A, "3030"),
        ] {
            values.insert(tag, h(value));
        }
        values.insert(0x9F4E, b"POSKIT TEST SHOP SH".to_vec());
        Terminal { values }
    }

    pub fn set(&mut self, tag: u32, value: &[u8]) -> &mut Self {
        self.values.insert(tag, value.to_vec());
        self
    }

    pub fn get(&self, tag: u32) -> Vec<u8> {
        self.values.get(&tag).cloned().unwrap_or_default()
    }

    /// The DOL data for `dol` (Book 3 5.4).
    pub fn dol_data(&self, dol: &[u8]) -> Vec<u8> {
        Dol::parse(dol)
            .unwrap()
            .build(|t| self.values.get(&t.0).map(|v| v.as_slice()))
    }
}

pub fn select_aid(card: &mut VirtualCard, aid: &[u8]) -> Vec<u8> {
    ok(card, &apdu(0x00, 0xA4, 0x04, 0x00, aid))
}

pub fn gpo(card: &mut VirtualCard, terminal: &Terminal) -> (Vec<u8>, Vec<u8>) {
    let pdol = card.profile().pdol.clone();
    let pdol_data = terminal.dol_data(&pdol);
    let mut template = vec![0x83, pdol_data.len() as u8];
    template.extend_from_slice(&pdol_data);
    (ok(card, &apdu(0x80, 0xA8, 0x00, 0x00, &template)), pdol_data)
}

/// AIP and AFL from a format 1 or format 2 GPO response.
pub fn aip_afl(gpo: &[u8]) -> ([u8; 2], Vec<u8>) {
    if gpo[0] == 0x80 {
        let value = must(gpo, 0x80);
        ([value[0], value[1]], value[2..].to_vec())
    } else {
        let aip = must(gpo, 0x82);
        ([aip[0], aip[1]], must(gpo, 0x94))
    }
}

/// Everything read per the AFL: the records and the static data to be
/// authenticated, assembled as Book 3 10.3 says.
pub struct CardData {
    pub records: Vec<Vec<u8>>,
    pub static_data: Vec<u8>,
}

impl CardData {
    pub fn tag(&self, tag: u32) -> Option<Vec<u8>> {
        self.records.iter().find_map(|r| find(r, tag))
    }

    pub fn must(&self, tag: u32) -> Vec<u8> {
        self.tag(tag)
            .unwrap_or_else(|| panic!("tag {tag:X} not in the records"))
    }
}

pub fn read_records(card: &mut VirtualCard, afl: &[u8], aip: [u8; 2]) -> CardData {
    assert_eq!(afl.len() % 4, 0);
    let mut records = Vec::new();
    let mut static_data = Vec::new();
    for entry in afl.chunks(4) {
        let sfi = entry[0] >> 3;
        for rec in entry[1]..=entry[2] {
            let record = ok(card, &apdu(0x00, 0xB2, rec, (sfi << 3) | 4, &[]));
            assert_eq!(record[0], 0x70, "records are 70 templates");
            if rec < entry[1] + entry[3] {
                assert!(sfi <= 10);
                static_data.extend(must(&record, 0x70));
            }
            records.push(record);
        }
    }
    let data = CardData { records, static_data };
    let mut static_data = data.static_data.clone();
    if data.tag(0x9F4A).as_deref() == Some(&[0x82][..]) {
        static_data.extend_from_slice(&aip);
    }
    CardData { static_data, ..data }
}

pub fn ca_key(rid: [u8; 5], index: u8) -> CaPublicKey {
    ca::test_config()
        .ca_key(&rid, index)
        .cloned()
        .expect("test CA key")
}

/// A key recovered from a certificate.
pub struct RecoveredKey {
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
    pub serial: [u8; 3],
    pub hash_ok: bool,
}

/// Book 2 5.3: recovers the issuer public key certificate under the CA
/// key and checks header, format, trailer and hash by hand.
pub fn recover_issuer_key(data: &CardData, rid: [u8; 5]) -> RecoveredKey {
    let index = data.must(0x8F)[0];
    let ca = ca_key(rid, index);
    let cert = data.must(0x90);
    let remainder = data.tag(0x92).unwrap_or_default();
    let exponent = data.must(0x9F32);
    let x = recover(&ca.modulus, &ca.exponent, &cert).unwrap();
    let n = x.len();
    assert_eq!(n, ca.modulus.len());
    assert_eq!(
        (x[0], x[1], x[n - 1]),
        (0x6A, 0x02, 0xBC),
        "header, format, trailer"
    );
    assert_eq!((x[11], x[12]), (0x01, 0x01), "SHA-1, RSA");
    let key_len = x[13] as usize;
    assert_eq!(x[14] as usize, exponent.len());
    let field = &x[15..n - 21];
    let modulus = if key_len <= field.len() {
        assert!(remainder.is_empty());
        assert!(field[key_len..].iter().all(|&b| b == 0xBB));
        field[..key_len].to_vec()
    } else {
        [field, &remainder[..]].concat()
    };
    assert_eq!(modulus.len(), key_len);
    let hash = sha1(&[&x[1..n - 21], &remainder[..], &exponent[..]].concat());
    RecoveredKey {
        modulus,
        exponent,
        serial: [x[8], x[9], x[10]],
        hash_ok: hash[..] == x[n - 21..n - 1],
    }
}

/// Book 2 6.4: recovers the ICC public key certificate under the issuer
/// key; the hash covers the static data to be authenticated.
pub fn recover_icc_key(data: &CardData, issuer: &RecoveredKey, pan: &str) -> RecoveredKey {
    let cert = data.must(0x9F46);
    let remainder = data.tag(0x9F48).unwrap_or_default();
    let exponent = data.must(0x9F47);
    let x = recover(&issuer.modulus, &issuer.exponent, &cert).unwrap();
    let n = x.len();
    assert_eq!(
        (x[0], x[1], x[n - 1]),
        (0x6A, 0x04, 0xBC),
        "header, format, trailer"
    );
    let pan_hex: String = hex::encode_upper(&x[2..12]).trim_end_matches('F').to_string();
    assert_eq!(pan_hex, pan);
    assert_eq!((x[17], x[18]), (0x01, 0x01));
    let key_len = x[19] as usize;
    let field = &x[21..n - 21];
    let modulus = if key_len <= field.len() {
        field[..key_len].to_vec()
    } else {
        [field, &remainder[..]].concat()
    };
    let hash = sha1(
        &[
            &x[1..n - 21],
            &remainder[..],
            &exponent[..],
            &data.static_data[..],
        ]
        .concat(),
    );
    RecoveredKey {
        modulus,
        exponent,
        serial: [x[14], x[15], x[16]],
        hash_ok: hash[..] == x[n - 21..n - 1],
    }
}

/// Book 2 6.5.2 step by step: recovers signed dynamic application data,
/// checks header 6A, format 05, SHA-1, the BB padding, trailer BC and the
/// hash over the block and `terminal_data`; returns the ICC dynamic data.
pub fn check_sdad(icc: &RecoveredKey, sdad: &[u8], terminal_data: &[u8]) -> Vec<u8> {
    assert_eq!(sdad.len(), icc.modulus.len());
    let x = recover(&icc.modulus, &icc.exponent, sdad).unwrap();
    let n = x.len();
    assert_eq!((x[0], x[1], x[2], x[n - 1]), (0x6A, 0x05, 0x01, 0xBC));
    let ldd = x[3] as usize;
    let dynamic = x[4..4 + ldd].to_vec();
    assert!(x[4 + ldd..n - 21].iter().all(|&b| b == 0xBB), "pad pattern");
    let hash = sha1(&[&x[1..n - 21], terminal_data].concat());
    assert_eq!(hash[..], x[n - 21..n - 1], "SDAD hash");
    dynamic
}

/// The card's AC key for an ATC, derived here from the issuer master key
/// the way an issuer host does (EMV option A, common session key).
pub fn session_key(imk: &SymmetricKey, pan: &str, psn: u8, atc: u16) -> SymmetricKey {
    let mk = icc_master_key_option_a(imk, pan, Some(Psn::from_bcd(psn).unwrap())).unwrap();
    ac_session_key(&mk, atc).unwrap()
}

/// The cryptogram an issuer expects (module doc of `virtual_card`):
/// amounts, country, TVR, currency, date, type, UN, AIP, ATC, CVR.
pub fn expected_cryptogram(
    card: &VirtualCard,
    terminal: &Terminal,
    aip: [u8; 2],
    atc: u16,
    iad: &[u8],
) -> [u8; 8] {
    let p = card.profile();
    let sk = session_key(&p.issuer_master_key, &p.pan, p.psn, atc);
    let mut data = Vec::new();
    for tag in [0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37] {
        data.extend(terminal.get(tag));
    }
    data.extend_from_slice(&aip);
    data.extend_from_slice(&atc.to_be_bytes());
    assert_eq!((iad[0], iad[2], iad[3]), (0x06, 0x0A, 0x03), "IAD layout");
    data.extend_from_slice(&iad[3..7]);
    assert_eq!(data.len(), 37);
    application_cryptogram(&sk, &data).unwrap()
}

/// A first or second GENERATE AC; returns the raw response data.
pub fn generate_ac(card: &mut VirtualCard, p1: u8, dol: &[u8], terminal: &Terminal) -> Vec<u8> {
    let data = terminal.dol_data(dol);
    ok(card, &apdu(0x80, 0xAE, p1, 0x00, &data))
}

/// CID, ATC, AC and IAD from a format 1 or 2 GENERATE AC response.
pub struct AcResponse {
    pub cid: u8,
    pub atc: u16,
    pub ac: Option<[u8; 8]>,
    pub iad: Vec<u8>,
    pub sdad: Option<Vec<u8>>,
}

pub fn parse_ac(response: &[u8]) -> AcResponse {
    if response[0] == 0x80 {
        let v = must(response, 0x80);
        return AcResponse {
            cid: v[0],
            atc: u16::from_be_bytes([v[1], v[2]]),
            ac: Some(v[3..11].try_into().unwrap()),
            iad: v[11..].to_vec(),
            sdad: None,
        };
    }
    AcResponse {
        cid: must(response, 0x9F27)[0],
        atc: u16::from_be_bytes(must(response, 0x9F36).try_into().unwrap()),
        ac: find(response, 0x9F26).map(|v| v.try_into().unwrap()),
        iad: must(response, 0x9F10),
        sdad: find(response, 0x9F4B),
    }
}

/// An ISO 9564 format 2 PIN block, built by hand.
pub fn pin_block(pin: &str) -> Vec<u8> {
    let mut text = format!("2{:X}{pin}", pin.len());
    while text.len() < 16 {
        text.push('F');
    }
    h(&text)
}

pub fn get_data(card: &mut VirtualCard, tag: u16) -> Vec<u8> {
    let [p1, p2] = tag.to_be_bytes();
    let data = ok(card, &[0x80, 0xCA, p1, p2, 0x00]);
    must(&data, u32::from(tag))
}

pub fn atc_of(card: &mut VirtualCard) -> u16 {
    u16::from_be_bytes(get_data(card, 0x9F36).try_into().unwrap())
}
