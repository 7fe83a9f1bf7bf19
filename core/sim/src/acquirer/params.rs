//! Parameter download records (field 62 of 0810, 60.3 370 / 372): how an
//! AID entry and a CA public key of a `poskit_emv::Config` become BER-TLV
//! records with the tags of `poskit_iso8583::cup::params`, how they are cut
//! into messages, and how a terminal turns them back.
//!
//! Value encodings (the tags say which element, these say how):
//!
//! | tag | element | encoding |
//! |---|---|---|
//! | 9F06 | AID (RID for a CA key) | bytes |
//! | DF01 | partial selection | 1 byte, 01 allowed / 00 exact match |
//! | 9F09 | application version | 2 bytes |
//! | DF11 DF12 DF13 | TAC default, online, denial | 5 bytes each |
//! | DF14 | default DDOL | bytes |
//! | DF15 | random selection threshold | 4 bytes binary, minor units |
//! | DF16 DF17 | maximum target / target percentage | 1 byte binary each |
//! | 9F1B | floor limit | 4 bytes binary, minor units (as EMV 9F1B) |
//! | DF19 DF20 DF21 | contactless floor, transaction, CVM limits | 6 bytes BCD (n12), only for contactless AIDs |
//! | DF22 | kernel id | 1 byte |
//! | 9F22 | CA key index | 1 byte |
//! | DF05 | CA key expiry | 3 bytes BCD YYMMDD |
//! | DF02 | modulus | bytes |
//! | DF04 | exponent | bytes |
//! | DF03 | checksum (SHA-1 of RID, index, modulus, exponent) | 20 bytes |
//!
//! Not carried: the AID's display name and default TDOL, the terminal
//! parameters, the revocation and exception lists. Amounts above what 4
//! bytes hold are sent as FFFFFFFF.

use poskit_emv::{AidParams, CaPublicKey, Config, ContactlessLimits};
use poskit_iso8583::cup::params as tag;
use poskit_tlv::{Tag, TlvIter, encode};

/// Which table a download carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// 60.3 370.
    Aids,
    /// 60.3 372.
    CaKeys,
}

/// Why a record could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameter record: {0}")]
pub struct ParamError(pub String);

fn put(out: &mut Vec<u8>, t: u32, value: &[u8]) {
    out.extend(encode(Tag(t), value));
}

fn u32_be(n: u64) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes()
}

/// `n` as `bytes` bytes of BCD, right-aligned (too large: all nines).
fn bcd(n: u64, bytes: usize) -> Vec<u8> {
    let digits = format!("{n:0width$}", width = bytes * 2);
    let digits = if digits.len() > bytes * 2 {
        "9".repeat(bytes * 2)
    } else {
        digits
    };
    digits
        .as_bytes()
        .chunks(2)
        .map(|p| ((p[0] - b'0') << 4) | (p[1] - b'0'))
        .collect()
}

fn from_bcd(bytes: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0F] {
            if nibble > 9 {
                return None;
            }
            out.push(char::from(b'0' + nibble));
        }
    }
    Some(out)
}

/// One AID as an FF21 record.
pub fn aid_record(aid: &AidParams) -> Vec<u8> {
    let mut body = Vec::new();
    put(&mut body, tag::AID, &aid.aid);
    put(
        &mut body,
        tag::PARTIAL_SELECTION,
        &[u8::from(aid.partial_selection)],
    );
    put(&mut body, tag::APP_VERSION, &aid.app_version);
    put(&mut body, tag::TAC_DEFAULT, &aid.tac_default);
    put(&mut body, tag::TAC_ONLINE, &aid.tac_online);
    put(&mut body, tag::TAC_DENIAL, &aid.tac_denial);
    put(&mut body, tag::DEFAULT_DDOL, &aid.default_ddol);
    put(&mut body, tag::THRESHOLD, &u32_be(aid.threshold));
    put(&mut body, tag::MAX_TARGET_PERCENT, &[aid.max_target_percent]);
    put(&mut body, tag::TARGET_PERCENT, &[aid.target_percent]);
    put(&mut body, tag::FLOOR_LIMIT, &u32_be(aid.floor_limit));
    if let Some(cl) = &aid.contactless {
        put(&mut body, tag::CL_FLOOR_LIMIT, &bcd(cl.floor_limit, 6));
        put(
            &mut body,
            tag::CL_TRANSACTION_LIMIT,
            &bcd(cl.transaction_limit, 6),
        );
        put(&mut body, tag::CL_CVM_LIMIT, &bcd(cl.cvm_limit, 6));
    }
    put(&mut body, tag::KERNEL_ID, &[aid.kernel_id]);
    encode(Tag(tag::AID_TEMPLATE), &body)
}

/// One CA public key as an FF22 record.
pub fn ca_key_record(key: &CaPublicKey) -> Vec<u8> {
    let mut body = Vec::new();
    put(&mut body, tag::RID, &key.rid);
    put(&mut body, tag::CAPK_INDEX, &[key.index]);
    let expiry: u64 = key.expiry.parse().unwrap_or(0);
    put(&mut body, tag::CAPK_EXPIRY, &bcd(expiry, 3));
    put(&mut body, tag::CAPK_MODULUS, &key.modulus);
    put(&mut body, tag::CAPK_EXPONENT, &key.exponent);
    put(&mut body, tag::CAPK_CHECKSUM, &key.checksum);
    encode(Tag(tag::CAPK_TEMPLATE), &body)
}

/// Every record of a table, in the configuration's order.
pub fn records(config: &Config, table: Table) -> Vec<Vec<u8>> {
    match table {
        Table::Aids => config.aids.iter().map(aid_record).collect(),
        Table::CaKeys => config.ca_keys.iter().map(ca_key_record).collect(),
    }
}

/// Field 62 of the answer to a request for records from `start` on: the
/// flag, then as many whole records as fit in `max_bytes` after it (at
/// least one, so a download always moves), and how many were taken.
pub fn part(records: &[Vec<u8>], start: usize, max_bytes: usize) -> (Vec<u8>, usize) {
    let mut body = Vec::new();
    let mut taken = 0;
    for record in records.iter().skip(start) {
        if taken > 0 && body.len() + record.len() > max_bytes {
            break;
        }
        body.extend_from_slice(record);
        taken += 1;
    }
    let more = start + taken < records.len();
    let mut field = vec![if more { tag::MORE } else { tag::END }];
    field.extend(body);
    (field, taken)
}

fn children(value: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, ParamError> {
    TlvIter::new(value)
        .map(|t| {
            t.map(|t| (t.tag().0, t.value().to_vec()))
                .map_err(|e| ParamError(e.to_string()))
        })
        .collect()
}

fn get(items: &[(u32, Vec<u8>)], t: u32) -> Option<&[u8]> {
    items.iter().find(|(x, _)| *x == t).map(|(_, v)| v.as_slice())
}

fn need(items: &[(u32, Vec<u8>)], t: u32) -> Result<&[u8], ParamError> {
    get(items, t).ok_or_else(|| ParamError(format!("tag {t:X} missing")))
}

fn fixed<const N: usize>(items: &[(u32, Vec<u8>)], t: u32) -> Result<[u8; N], ParamError> {
    need(items, t)?
        .try_into()
        .map_err(|_| ParamError(format!("tag {t:X} is not {N} bytes")))
}

fn be(items: &[(u32, Vec<u8>)], t: u32) -> Result<u64, ParamError> {
    Ok(u64::from(u32::from_be_bytes(fixed::<4>(items, t)?)))
}

fn bcd_number(items: &[(u32, Vec<u8>)], t: u32) -> Result<u64, ParamError> {
    from_bcd(need(items, t)?)
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| ParamError(format!("tag {t:X} is not BCD")))
}

/// Reads an FF21 record's content (the template's value) back into AID
/// parameters; name and default TDOL, which are not sent, come back empty.
pub fn parse_aid(value: &[u8]) -> Result<AidParams, ParamError> {
    let items = children(value)?;
    let contactless = match get(&items, tag::CL_TRANSACTION_LIMIT) {
        Some(_) => Some(ContactlessLimits {
            transaction_limit: bcd_number(&items, tag::CL_TRANSACTION_LIMIT)?,
            floor_limit: bcd_number(&items, tag::CL_FLOOR_LIMIT)?,
            cvm_limit: bcd_number(&items, tag::CL_CVM_LIMIT)?,
        }),
        None => None,
    };
    Ok(AidParams {
        aid: need(&items, tag::AID)?.to_vec(),
        name: String::new(),
        partial_selection: fixed::<1>(&items, tag::PARTIAL_SELECTION)?[0] != 0,
        app_version: fixed(&items, tag::APP_VERSION)?,
        tac_default: fixed(&items, tag::TAC_DEFAULT)?,
        tac_denial: fixed(&items, tag::TAC_DENIAL)?,
        tac_online: fixed(&items, tag::TAC_ONLINE)?,
        floor_limit: be(&items, tag::FLOOR_LIMIT)?,
        target_percent: fixed::<1>(&items, tag::TARGET_PERCENT)?[0],
        max_target_percent: fixed::<1>(&items, tag::MAX_TARGET_PERCENT)?[0],
        threshold: be(&items, tag::THRESHOLD)?,
        default_ddol: need(&items, tag::DEFAULT_DDOL)?.to_vec(),
        default_tdol: Vec::new(),
        contactless,
        kernel_id: fixed::<1>(&items, tag::KERNEL_ID)?[0],
    })
}

/// Reads an FF22 record's content back into a CA public key.
pub fn parse_ca_key(value: &[u8]) -> Result<CaPublicKey, ParamError> {
    let items = children(value)?;
    Ok(CaPublicKey {
        rid: fixed(&items, tag::RID)?,
        index: fixed::<1>(&items, tag::CAPK_INDEX)?[0],
        modulus: need(&items, tag::CAPK_MODULUS)?.to_vec(),
        exponent: need(&items, tag::CAPK_EXPONENT)?.to_vec(),
        expiry: from_bcd(&fixed::<3>(&items, tag::CAPK_EXPIRY)?)
            .ok_or_else(|| ParamError("CA key expiry is not BCD".into()))?,
        checksum: need(&items, tag::CAPK_CHECKSUM)?.to_vec(),
    })
}

/// Splits top-level records. Not `poskit_tlv::TlvIter`: it skips 00 and
/// FF bytes between objects as EMV padding (Book 3 5.2), and FF is the
/// first byte of both templates here.
pub fn split_records(bytes: &[u8]) -> Result<Vec<(u32, &[u8])>, ParamError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (tag, tag_len) = Tag::read(rest).map_err(|e| ParamError(e.to_string()))?;
        rest = &rest[tag_len..];
        let (&first, after) = rest
            .split_first()
            .ok_or_else(|| ParamError("a record ends before its length".into()))?;
        let (len, len_len) = match first {
            0x00..=0x7F => (usize::from(first), 0),
            0x81 | 0x82 => {
                let n = usize::from(first & 0x7F);
                let digits = after
                    .get(..n)
                    .ok_or_else(|| ParamError("a record ends inside its length".into()))?;
                (digits.iter().fold(0usize, |v, b| (v << 8) | usize::from(*b)), n)
            }
            _ => return Err(ParamError("a record length longer than 2 bytes".into())),
        };
        let after = &after[len_len..];
        let value = after
            .get(..len)
            .ok_or_else(|| ParamError("a record is shorter than its length".into()))?;
        out.push((tag.0, value));
        rest = &after[len..];
    }
    Ok(out)
}

/// What one 0810 field 62 held: whether more follows, and its records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    pub more: bool,
    pub aids: Vec<AidParams>,
    pub ca_keys: Vec<CaPublicKey>,
}

impl Part {
    /// Number of records in this part: what the next request's field 62
    /// adds to its start index.
    pub fn len(&self) -> usize {
        self.aids.len() + self.ca_keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads field 62 of a parameter download response.
pub fn parse_part(field62: &[u8]) -> Result<Part, ParamError> {
    let (&flag, records) = field62
        .split_first()
        .ok_or_else(|| ParamError("field 62 is empty".into()))?;
    let more = match flag {
        tag::MORE => true,
        tag::END => false,
        _ => return Err(ParamError("the flag byte is neither '0' nor '1'".into())),
    };
    let mut part = Part {
        more,
        ..Part::default()
    };
    for (t, value) in split_records(records)? {
        match t {
            tag::AID_TEMPLATE => part.aids.push(parse_aid(value)?),
            tag::CAPK_TEMPLATE => part.ca_keys.push(parse_ca_key(value)?),
            other => return Err(ParamError(format!("unknown record template {other:X}"))),
        }
    }
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_split() {
        let config = crate::ca::test_config();
        for aid in &config.aids {
            let record = aid_record(aid);
            let records = split_records(&record).unwrap();
            assert_eq!((records.len(), records[0].0), (1, tag::AID_TEMPLATE));
            let back = parse_aid(records[0].1).unwrap();
            let expected = AidParams {
                name: String::new(),
                default_tdol: Vec::new(),
                ..aid.clone()
            };
            assert_eq!(back, expected);
        }
        let keys = records(&config, Table::CaKeys);
        let (first, taken) = part(&keys, 0, 300);
        assert!(taken >= 1 && taken < keys.len());
        let parsed = parse_part(&first).unwrap();
        assert!(parsed.more);
        assert_eq!(parsed.ca_keys[..], config.ca_keys[..taken]);
        let (last, taken_last) = part(&keys, keys.len() - 1, 511);
        assert_eq!((last[0], taken_last), (b'0', 1));
        let (past, none) = part(&keys, keys.len() + 3, 511);
        assert_eq!((past, none), (vec![b'0'], 0));
        assert_eq!(bcd(123, 6), vec![0, 0, 0, 0, 0x01, 0x23]);
        for bad in [
            &[0xFF, 0x21][..],
            &[0xFF, 0x21, 0x05, 0x01],
            &[0xFF, 0x21, 0x83, 0, 0, 1],
        ] {
            assert!(split_records(bad).is_err());
        }
        assert_eq!(bcd(10u64.pow(13), 6), vec![0x99; 6]);
    }
}
