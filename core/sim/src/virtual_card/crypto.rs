//! The card's symmetric cryptography and the conventions an issuer host
//! needs to check it: key derivation, the cryptogram input, the IAD, ARPC
//! method 1, issuer script MACs and enciphered PIN changes.
//!
//! The acquirer/issuer simulator uses these public functions to verify
//! ARQCs and answer with ARPCs and scripts; the conventions are spelled out
//! in the `virtual_card` module documentation.

use poskit_crypto::emv::{
    Psn, ac_session_key, application_cryptogram, arpc_method_1, icc_master_key_option_a, session_key,
};
use poskit_crypto::hash::sha1;
use poskit_crypto::mac::{Padding, retail_mac};
use poskit_crypto::{CryptoError, SymmetricKey};
use poskit_tlv::{Dol, Tag};

use super::apdu::Sw;

/// The terminal data elements every cryptogram covers, in order, with the
/// lengths the card uses for them (Book 3 Annex A).
pub const AC_TERMINAL_ELEMENTS: [(u32, usize); 8] = [
    (0x9F02, 6),
    (0x9F03, 6),
    (0x9F1A, 2),
    (0x95, 5),
    (0x5F2A, 2),
    (0x9A, 3),
    (0x9C, 1),
    (0x9F37, 4),
];

/// Cryptogram version number in the IAD. The layout is Visa's CVN 10 one
/// (VIS 1.5 Appendix D); the cryptogram itself follows the convention of
/// the module documentation (EMV common session key, padding method 2).
pub const CRYPTOGRAM_VERSION: u8 = 0x0A;

/// The data a terminal sent for a DOL, split into its elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DolData {
    entries: Vec<(Tag, Vec<u8>)>,
    raw: Vec<u8>,
}

impl DolData {
    /// Splits `data` along `dol`. The length must be exactly the DOL's
    /// (Book 3 5.4): otherwise 6700.
    pub fn split(dol: &[u8], data: &[u8]) -> Result<DolData, Sw> {
        let dol = Dol::parse(dol).map_err(|_| Sw::NO_DIAGNOSIS)?;
        if dol.data_len() != data.len() {
            return Err(Sw::WRONG_LENGTH);
        }
        let mut entries = Vec::with_capacity(dol.entries().len());
        let mut pos = 0;
        for entry in dol.entries() {
            let value = data.get(pos..pos + entry.len).ok_or(Sw::WRONG_LENGTH)?;
            entries.push((entry.tag, value.to_vec()));
            pos += entry.len;
        }
        Ok(DolData {
            entries,
            raw: data.to_vec(),
        })
    }

    pub fn get(&self, tag: u32) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(t, _)| t.0 == tag)
            .map(|(_, v)| v.as_slice())
    }

    /// The data as sent, for the CDA transaction data hash.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
}

/// Looks a tag up in several DOL data sets, the first that has it wins.
pub fn lookup<'a>(sources: &[&'a DolData], tag: u32) -> Option<&'a [u8]> {
    sources.iter().find_map(|s| s.get(tag))
}

/// A value fitted to `len` bytes: longer values keep their rightmost bytes
/// (numeric amounts), shorter ones get leading zeros, as Book 3 5.4 does
/// for numeric data; absent values are zeros.
fn fitted(value: Option<&[u8]>, len: usize) -> Vec<u8> {
    let value = value.unwrap_or(&[]);
    if value.len() >= len {
        value[value.len() - len..].to_vec()
    } else {
        let mut out = vec![0u8; len - value.len()];
        out.extend_from_slice(value);
        out
    }
}

/// Everything an application cryptogram covers, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptogramData {
    /// 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37: 29 bytes.
    pub terminal: Vec<u8>,
    /// 82.
    pub aip: [u8; 2],
    /// 9F36.
    pub atc: u16,
    /// The CVR as the IAD carries it, length byte included (IAD bytes 4-7).
    pub cvr: [u8; 4],
}

impl CryptogramData {
    /// Takes the terminal elements from the DOL data sets (first source
    /// first): the current command's, then CDOL1's, then PDOL's.
    pub fn from_dol_data(sources: &[&DolData], aip: [u8; 2], atc: u16, cvr: [u8; 4]) -> CryptogramData {
        let terminal = AC_TERMINAL_ELEMENTS
            .iter()
            .flat_map(|&(tag, len)| fitted(lookup(sources, tag), len))
            .collect();
        CryptogramData {
            terminal,
            aip,
            atc,
            cvr,
        }
    }

    /// Rebuilds the input from data objects by tag, as a host finds them in
    /// field 55: the eight terminal elements, 82, 9F36 and 9F10.
    pub fn from_tags<'a>(value_of: impl Fn(u32) -> Option<&'a [u8]>) -> Option<CryptogramData> {
        let terminal = AC_TERMINAL_ELEMENTS
            .iter()
            .flat_map(|&(tag, len)| fitted(value_of(tag), len))
            .collect();
        let aip = value_of(0x82)?.try_into().ok()?;
        let atc = u16::from_be_bytes(value_of(0x9F36)?.try_into().ok()?);
        let cvr = cvr_from_iad(value_of(0x9F10)?)?;
        Some(CryptogramData {
            terminal,
            aip,
            atc,
            cvr,
        })
    }

    /// The bytes the MAC runs over.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.terminal.clone();
        out.extend_from_slice(&self.aip);
        out.extend_from_slice(&self.atc.to_be_bytes());
        out.extend_from_slice(&self.cvr);
        out
    }
}

/// The issuer application data (9F10): length 06, derivation key index,
/// cryptogram version number, then the 4 CVR bytes (03 and three bytes of
/// flags) - the Visa layout of VIS 1.5 Appendix D.
pub fn issuer_application_data(dki: u8, cvr: [u8; 4]) -> Vec<u8> {
    let mut iad = vec![0x06, dki, CRYPTOGRAM_VERSION];
    iad.extend_from_slice(&cvr);
    iad
}

/// The CVR bytes the cryptogram covers, from an IAD in that layout.
pub fn cvr_from_iad(iad: &[u8]) -> Option<[u8; 4]> {
    iad.get(3..7)?.try_into().ok()
}

fn psn(psn_bcd: u8) -> Result<Psn, CryptoError> {
    Psn::from_bcd(psn_bcd)
}

/// The card's AC master key: EMV option A from the issuer master key, the
/// PAN and the PSN (Book 2 A1.4.1).
pub fn icc_master_key(imk: &SymmetricKey, pan: &str, psn_bcd: u8) -> Result<SymmetricKey, CryptoError> {
    icc_master_key_option_a(imk, pan, Some(psn(psn_bcd)?))
}

/// The application cryptogram for `data` at `atc`: EMV common session key
/// (Book 2 A1.3.1, R = ATC || 00..00) and the A1.2.1 MAC (ISO 9797-1
/// algorithm 3, padding method 2).
pub fn cryptogram(icc_mk: &SymmetricKey, data: &CryptogramData) -> Result<[u8; 8], CryptoError> {
    let sk = ac_session_key(icc_mk, data.atc)?;
    application_cryptogram(&sk, &data.to_bytes())
}

/// ARPC method 1 (Book 2 8.2.1) as these cards check it: keyed with the AC
/// session key of the ARQC's ATC.
pub fn arpc(icc_mk: &SymmetricKey, atc: u16, arqc: &[u8], arc: &[u8]) -> Result<[u8; 8], CryptoError> {
    let sk = ac_session_key(icc_mk, atc)?;
    arpc_method_1(&sk, arqc, arc)
}

/// The 4-byte MAC of an issuer script command (Book 2 9.2.1): SK_SMI is the
/// EMV common session key of MK_SMI (option A from the issuer SMI key) with
/// R = the ARQC (A1.3.1); the MAC is ISO 9797-1 algorithm 3 with padding
/// method 2 over CLA INS P1 P2 Lc || ATC || ARQC || command data (without
/// the MAC), its leftmost 4 bytes. Lc counts the MAC.
pub fn script_mac(
    icc_mk_smi: &SymmetricKey,
    header: [u8; 5],
    atc: u16,
    arqc: &[u8],
    data: &[u8],
) -> Result<[u8; 4], CryptoError> {
    let sk = session_key(icc_mk_smi, arqc)?;
    let mut input = header.to_vec();
    input.extend_from_slice(&atc.to_be_bytes());
    input.extend_from_slice(arqc);
    input.extend_from_slice(data);
    let mac = retail_mac(&sk, &input, Padding::Method2)?;
    let mut out = [0u8; 4];
    out.copy_from_slice(&mac[..4]);
    Ok(out)
}

/// The new PIN of a PIN CHANGE script command (84 24 00 02): an ISO 9564
/// format 2 block enciphered (TDES ECB) under SK_SMC, the common session
/// key of MK_SMC with R = the ARQC (Book 2 9.3, A1.3.1).
pub fn encipher_new_pin(icc_mk_smc: &SymmetricKey, arqc: &[u8], pin: &str) -> Result<Vec<u8>, CryptoError> {
    let sk = session_key(icc_mk_smc, arqc)?;
    let block = format2_pin_block(pin).ok_or(CryptoError::Pin("must be 4 to 12 digits"))?;
    sk.encrypt_ecb(&block)
}

/// Deciphers a PIN CHANGE's new PIN; `None` when it is not a valid block.
pub fn decipher_new_pin(icc_mk_smc: &SymmetricKey, arqc: &[u8], enciphered: &[u8]) -> Option<String> {
    let sk = session_key(icc_mk_smc, arqc).ok()?;
    let block = sk.decrypt_ecb(enciphered).ok()?;
    decode_format2_pin_block(&block)
}

/// An ISO 9564-1 format 2 PIN block: control 2, length, digits, F fill.
/// EMV offline PIN uses it (Book 3 6.5.12).
pub fn format2_pin_block(pin: &str) -> Option<[u8; 8]> {
    if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nibbles = vec![0x2, pin.len() as u8];
    nibbles.extend(pin.bytes().map(|b| b - b'0'));
    nibbles.resize(16, 0xF);
    let mut out = [0u8; 8];
    for (i, pair) in nibbles.chunks(2).enumerate() {
        out[i] = (pair[0] << 4) | pair[1];
    }
    Some(out)
}

/// Reads a format 2 PIN block; `None` if any field is malformed.
pub fn decode_format2_pin_block(block: &[u8]) -> Option<String> {
    if block.len() != 8 {
        return None;
    }
    let nibbles: Vec<u8> = block.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
    let len = usize::from(nibbles[1]);
    if nibbles[0] != 0x2 || !(4..=12).contains(&len) {
        return None;
    }
    let digits = &nibbles[2..2 + len];
    let fill = &nibbles[2 + len..];
    if digits.iter().any(|&d| d > 9) || fill.iter().any(|&f| f != 0xF) {
        return None;
    }
    Some(digits.iter().map(|d| char::from(b'0' + d)).collect())
}

/// The card's "random" numbers (GET CHALLENGE, ICC dynamic numbers, the
/// card UN of fDDA): SHA-1 in counter mode over a per-card seed, so a
/// simulator run repeats exactly. Random-looking, not secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRandom {
    seed: [u8; 20],
    counter: u64,
}

impl CardRandom {
    pub fn seeded(seed_material: &[u8]) -> CardRandom {
        CardRandom {
            seed: sha1(seed_material),
            counter: 0,
        }
    }

    pub fn next_bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let mut filled = 0;
        while filled < N {
            let mut input = self.seed.to_vec();
            input.extend_from_slice(&self.counter.to_be_bytes());
            self.counter = self.counter.wrapping_add(1);
            let block = sha1(&input);
            let take = (N - filled).min(block.len());
            out[filled..filled + take].copy_from_slice(&block[..take]);
            filled += take;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format2_blocks_round_trip() {
        let block = format2_pin_block("1234").unwrap();
        assert_eq!(block, [0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(decode_format2_pin_block(&block).as_deref(), Some("1234"));
        assert!(decode_format2_pin_block(&[0x24, 0x12, 0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).is_none());
        assert!(decode_format2_pin_block(&[0x23, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).is_none());
        assert!(decode_format2_pin_block(&[0x24, 0x12, 0x34, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF]).is_none());
        assert!(format2_pin_block("12a4").is_none());
    }

    #[test]
    fn dol_data_is_split_and_fitted() {
        let data = DolData::split(&[0x9F, 0x02, 0x06, 0x9C, 0x01], &[0, 0, 0, 0, 0x10, 0x00, 0x09]).unwrap();
        assert_eq!(data.get(0x9C), Some(&[0x09][..]));
        assert_eq!(
            DolData::split(&[0x9F, 0x02, 0x06], &[0; 5]),
            Err(Sw::WRONG_LENGTH)
        );
        let input = CryptogramData::from_dol_data(&[&data], [0x3C, 0x00], 0x0011, [3, 0xA0, 0, 0]);
        assert_eq!(input.terminal.len(), 29);
        assert_eq!(input.to_bytes().len(), 37);
        assert_eq!(&input.terminal[..6], &[0, 0, 0, 0, 0x10, 0x00]);
    }

    #[test]
    fn the_random_sequence_is_deterministic() {
        let mut a = CardRandom::seeded(b"card");
        let mut b = CardRandom::seeded(b"card");
        let x: [u8; 8] = a.next_bytes();
        assert_eq!(x, b.next_bytes::<8>());
        assert_ne!(x, a.next_bytes::<8>());
        assert_eq!(a.next_bytes::<45>().len(), 45);
    }
}
