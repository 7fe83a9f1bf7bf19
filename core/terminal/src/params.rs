//! EMV parameters from the acquirer's parameter download (field 62
//! records, see `poskit_iso8583::cup::params`) applied to the kernel
//! configuration: AIDs replaced or added by AID, CA keys by RID and index.

use poskit_emv::{AidParams, CaPublicKey, Config, ContactlessLimits};
use poskit_iso8583::cup::params as p;
use poskit_tlv::{Tag, Tlv};

use crate::error::{Result, TerminalError};

fn bad(what: &str) -> TerminalError {
    TerminalError::Config(format!("parameter download: {what}"))
}

fn number(v: &[u8]) -> u64 {
    poskit_emv::data::bcd_to_u64(v).unwrap_or(0)
}

fn value<'a>(t: &Tlv<'a>, tag: u32) -> Option<&'a [u8]> {
    t.find(Tag(tag)).ok().flatten().map(|x| x.value())
}

fn array<const N: usize>(t: &Tlv<'_>, tag: u32, what: &str) -> Result<[u8; N]> {
    value(t, tag)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| bad(what))
}

/// How many records a block holds.
pub fn count(tlvs: &[u8]) -> usize {
    poskit_tlv::parse_without_filler(tlvs)
        .map(|v| v.len())
        .unwrap_or(0)
}

/// Applies the records in `tlvs` to `config`; returns how many.
pub fn apply(config: &mut Config, tlvs: &[u8]) -> Result<usize> {
    let records = poskit_tlv::parse_without_filler(tlvs).map_err(|e| bad(&e.to_string()))?;
    for r in &records {
        match r.tag().0 {
            p::AID_TEMPLATE => {
                let aid = value(r, p::AID)
                    .ok_or_else(|| bad("an AID record without 9F06"))?
                    .to_vec();
                let contactless = match (
                    value(r, p::CL_TRANSACTION_LIMIT),
                    value(r, p::CL_FLOOR_LIMIT),
                    value(r, p::CL_CVM_LIMIT),
                ) {
                    (Some(t), Some(f), Some(c)) => Some(ContactlessLimits {
                        transaction_limit: number(t),
                        floor_limit: number(f),
                        cvm_limit: number(c),
                    }),
                    _ => None,
                };
                let existing = config.aids.iter().position(|a| a.aid == aid);
                let name = existing.map(|i| config.aids[i].name.clone()).unwrap_or_default();
                let params = AidParams {
                    name,
                    partial_selection: value(r, p::PARTIAL_SELECTION) == Some(&[0x01][..]),
                    app_version: array(r, p::APP_VERSION, "an AID record without 9F09")?,
                    tac_default: array(r, p::TAC_DEFAULT, "an AID record without TAC default")?,
                    tac_online: array(r, p::TAC_ONLINE, "an AID record without TAC online")?,
                    tac_denial: array(r, p::TAC_DENIAL, "an AID record without TAC denial")?,
                    floor_limit: value(r, p::FLOOR_LIMIT)
                        .map(|v| {
                            // 9F1B is binary (b4).
                            v.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64)
                        })
                        .unwrap_or(0),
                    target_percent: value(r, p::TARGET_PERCENT)
                        .and_then(|v| v.first().copied())
                        .unwrap_or(0),
                    max_target_percent: value(r, p::MAX_TARGET_PERCENT)
                        .and_then(|v| v.first().copied())
                        .unwrap_or(0),
                    threshold: value(r, p::THRESHOLD)
                        .map(|v| v.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64))
                        .unwrap_or(0),
                    default_ddol: value(r, p::DEFAULT_DDOL).map(<[u8]>::to_vec).unwrap_or_default(),
                    default_tdol: Vec::new(),
                    contactless,
                    kernel_id: value(r, p::KERNEL_ID)
                        .and_then(|v| v.first().copied())
                        .unwrap_or(0),
                    aid,
                };
                match existing {
                    Some(i) => config.aids[i] = params,
                    None => config.aids.push(params),
                }
            }
            p::CAPK_TEMPLATE => {
                let key = CaPublicKey {
                    rid: array(r, p::RID, "a CA key record without its RID")?,
                    index: value(r, p::CAPK_INDEX)
                        .and_then(|v| v.first().copied())
                        .ok_or_else(|| bad("a CA key without index"))?,
                    modulus: value(r, p::CAPK_MODULUS)
                        .ok_or_else(|| bad("a CA key without modulus"))?
                        .to_vec(),
                    exponent: value(r, p::CAPK_EXPONENT)
                        .ok_or_else(|| bad("a CA key without exponent"))?
                        .to_vec(),
                    expiry: value(r, p::CAPK_EXPIRY)
                        .map(|v| v.iter().map(|b| format!("{b:02X}")).collect())
                        .ok_or_else(|| bad("a CA key without expiry"))?,
                    checksum: value(r, p::CAPK_CHECKSUM)
                        .ok_or_else(|| bad("a CA key without checksum"))?
                        .to_vec(),
                };
                // A damaged key is refused here, not discovered at a card.
                key.validate().map_err(|e| bad(&e.to_string()))?;
                config
                    .ca_keys
                    .retain(|k| !(k.rid == key.rid && k.index == key.index));
                config.ca_keys.push(key);
            }
            _ => return Err(bad("an unknown record template")),
        }
    }
    Ok(records.len())
}
