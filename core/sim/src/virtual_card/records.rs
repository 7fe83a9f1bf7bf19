//! Personalisation: the card's files, FCIs and directories, derived from a
//! profile the way a data-preparation system derives them from a card
//! order.
//!
//! Record layout (short EF identifiers, Book 3 5.3.2 and 10.2):
//!
//! | SFI | record | content                                           | ODA |
//! |-----|--------|---------------------------------------------------|-----|
//! | 1   | 1      | 57 track 2 equivalent, 5F20 name, 9F1F            | no  |
//! | 2   | 1      | PAN, dates, CVM list, IACs, CDOLs, DDOL, 9F4A ... | yes |
//! | 2   | 2      | 8F, 90 issuer certificate, 92, 9F32               | no  |
//! | 3   | 1      | 9F46 ICC certificate, 9F47, 9F48                  | no  |
//! | 3   | 2      | 93 signed static application data (SDA cards)     | no  |
//! | 11  | 1..10  | transaction log (9F4D), outside the AFL           | -   |
//!
//! The signed record is SFI 2 record 1; 9F4A = 82 adds the AIP to the
//! static data to be authenticated (Book 3 10.3). The certificates stay
//! outside the signed records because the ICC certificate hashes them.

use std::collections::BTreeMap;

use poskit_tlv::{Node, Tag, encode};

use super::certificates::{self, Certificate};
use super::profile::{Interface, Profile};

/// The SFI of the PSE directory file (Book 1 12.2.3: the FCI gives it).
pub const PSE_DIRECTORY_SFI: u8 = 1;
/// The transaction log file (Book 3 Annex D).
pub const LOG_SFI: u8 = 11;
pub const LOG_RECORDS: u8 = 10;

pub const PSE_NAME: &[u8] = b"1PAY.SYS.DDF01";
pub const PPSE_NAME: &[u8] = b"2PAY.SYS.DDF01";

/// Log format (9F4F): date, amount, currency, transaction type, ATC, CID.
pub const LOG_FORMAT: &[u8] = &[
    0x9A, 0x03, 0x9F, 0x02, 0x06, 0x5F, 0x2A, 0x02, 0x9C, 0x01, 0x9F, 0x36, 0x02, 0x9F, 0x27, 0x01,
];

/// Everything written into the card at personalisation.
#[derive(Debug, Clone)]
pub struct Personalisation {
    /// Whole records (70 templates) by SFI and record number.
    pub records: BTreeMap<(u8, u8), Vec<u8>>,
    pub afl: Vec<u8>,
    /// The static data to be authenticated (Book 3 10.3): what the ICC
    /// certificate and the signed static data hash.
    pub static_data: Vec<u8>,
    /// Track 2 equivalent data (57), also returned by qVSDC GPO.
    pub track2: Vec<u8>,
}

fn t(tag: u32, value: impl Into<Vec<u8>>) -> Node {
    Node::primitive(Tag(tag), value)
}

fn record(children: Vec<Node>) -> Vec<u8> {
    Node::constructed(Tag(0x70), children).to_bytes()
}

/// The value of a 70 template, for SFIs 1 to 10 (Book 3 10.3: tag and
/// length are not part of the static data).
fn template_value(record: &[u8]) -> Vec<u8> {
    poskit_tlv::parse(record)
        .ok()
        .and_then(|objects| objects.first().map(|o| o.value().to_vec()))
        .unwrap_or_default()
}

/// Digits to BCD bytes, padded with F when odd (format cn).
pub fn bcd_cn(digits: &str) -> Vec<u8> {
    let nibbles: Vec<u8> = digits.bytes().map(|d| d.wrapping_sub(b'0') & 0x0F).collect();
    pack(&nibbles)
}

fn pack(nibbles: &[u8]) -> Vec<u8> {
    nibbles
        .chunks(2)
        .map(|p| (p[0] << 4) | p.get(1).copied().unwrap_or(0x0F))
        .collect()
}

fn nibbles(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bytes.iter().flat_map(|b| [b >> 4, b & 0x0F])
}

/// Track 2 equivalent data (57): PAN, separator D, expiry YYMM, service
/// code, discretionary data, F padding (Book 3 Annex A, ISO/IEC 7813).
fn track2(profile: &Profile) -> Vec<u8> {
    let mut n: Vec<u8> = profile.pan.bytes().map(|d| d.wrapping_sub(b'0') & 0x0F).collect();
    n.push(0x0D);
    n.extend(nibbles(&profile.expiry[..2]));
    // The service code is three digits held in two bytes (0201 -> 201).
    n.extend(nibbles(&profile.service_code).skip(1));
    // Discretionary data: PIN verification key indicator and value,
    // then zeros; the simulator has no magnetic stripe secrets.
    n.extend(std::iter::repeat_n(0, 11));
    pack(&n)
}

/// Writes a profile into a card.
pub fn personalise(profile: &Profile) -> Option<Personalisation> {
    let mut records = BTreeMap::new();
    let track2 = track2(profile);

    records.insert(
        (1, 1),
        record(vec![
            t(0x57, track2.clone()),
            t(0x5F20, profile.cardholder_name.as_bytes()),
            t(0x9F1F, b"0000000000".to_vec()),
        ]),
    );

    let oda = profile.has_icc_key() || profile.has_sda();
    let mut app_data = vec![
        t(0x5A, bcd_cn(&profile.pan)),
        t(0x5F24, profile.expiry),
        t(0x5F25, profile.effective),
        t(0x5F28, profile.issuer_country),
        t(0x5F34, [profile.psn]),
        t(0x9F07, profile.auc),
        t(0x8E, profile.cvm_list.clone()),
        t(0x9F0D, profile.iac_default),
        t(0x9F0E, profile.iac_denial),
        t(0x9F0F, profile.iac_online),
        t(0x5F30, profile.service_code),
        t(0x9F08, profile.app_version),
        t(0x9F42, profile.currency),
        t(0x8C, profile.cdol1.clone()),
        t(0x8D, profile.cdol2.clone()),
    ];
    if !profile.ddol.is_empty() && profile.has_icc_key() {
        app_data.push(t(0x9F49, profile.ddol.clone()));
    }
    if oda {
        app_data.push(t(0x9F4A, [0x82]));
    }
    let signed_record = record(app_data);
    let mut static_data = template_value(&signed_record);
    static_data.extend_from_slice(&profile.aip);
    records.insert((2, 1), signed_record);

    let mut afl = vec![0x08, 0x01, 0x01, 0x00];
    if !oda {
        afl.extend_from_slice(&[0x10, 0x01, 0x01, 0x00]);
        return Some(Personalisation {
            records,
            afl,
            static_data: Vec::new(),
            track2,
        });
    }

    let ca = profile.ca_key_pair()?;
    let issuer_cert = certificates::issuer_certificate(
        &ca,
        &profile.issuer_key,
        certificates::issuer_identifier(&profile.pan),
        profile.issuer_cert_expiry,
        profile.issuer_cert_serial,
        profile.damaged_issuer_certificate,
    )?;
    records.insert(
        (2, 2),
        key_record(
            0x90,
            0x92,
            0x9F32,
            &issuer_cert,
            &profile.issuer_key,
            Some(profile.ca_index),
        ),
    );
    afl.extend_from_slice(&[0x10, 0x01, 0x02, 0x01]);

    let mut last_sfi3 = 0u8;
    if profile.has_icc_key() {
        let icc_cert = certificates::icc_certificate(
            &profile.issuer_key,
            &profile.icc_key,
            certificates::pan_field(&profile.pan),
            profile.icc_cert_expiry,
            profile.icc_cert_serial,
            &static_data,
        )?;
        last_sfi3 += 1;
        records.insert(
            (3, last_sfi3),
            key_record(0x9F46, 0x9F48, 0x9F47, &icc_cert, &profile.icc_key, None),
        );
    }
    if profile.has_sda() {
        let ssad = certificates::signed_static_data(
            &profile.issuer_key,
            profile.data_authentication_code,
            &static_data,
        )?;
        last_sfi3 += 1;
        records.insert((3, last_sfi3), record(vec![t(0x93, ssad)]));
    }
    if last_sfi3 > 0 {
        afl.extend_from_slice(&[0x18, 0x01, last_sfi3, 0x00]);
    }
    Some(Personalisation {
        records,
        afl,
        static_data,
        track2,
    })
}

/// A record holding a certificate, its remainder (when there is one) and
/// the certified key's exponent, and for the issuer key the CA index.
fn key_record(
    cert_tag: u32,
    remainder_tag: u32,
    exponent_tag: u32,
    cert: &Certificate,
    key: &crate::rsa_key::RsaKeyPair,
    ca_index: Option<u8>,
) -> Vec<u8> {
    let mut children = Vec::new();
    if let Some(index) = ca_index {
        children.push(t(0x8F, [index]));
    }
    children.push(t(cert_tag, cert.certificate.clone()));
    if !cert.remainder.is_empty() {
        children.push(t(remainder_tag, cert.remainder.clone()));
    }
    children.push(t(exponent_tag, key.exponent().to_vec()));
    record(children)
}

/// FCI of an application (Book 1 11.3.4 table 43; Book 3 6.5.11): DF name,
/// label, priority, PDOL, language, issuer code table, and the log entry.
pub fn application_fci(profile: &Profile, app: usize) -> Vec<u8> {
    let Some(application) = profile.applications.get(app) else {
        return Vec::new();
    };
    let mut proprietary = vec![
        t(0x50, application.label.as_bytes()),
        t(0x87, [application.priority]),
    ];
    if !profile.pdol.is_empty() {
        proprietary.push(t(0x9F38, profile.pdol.clone()));
    }
    proprietary.push(t(0x5F2D, profile.language.as_bytes()));
    proprietary.push(t(0x9F11, [0x01]));
    proprietary.push(Node::constructed(
        Tag(0xBF0C),
        vec![t(0x9F4D, [LOG_SFI, LOG_RECORDS])],
    ));
    Node::constructed(
        Tag(0x6F),
        vec![
            t(0x84, application.aid.clone()),
            Node::constructed(Tag(0xA5), proprietary),
        ],
    )
    .to_bytes()
}

/// FCI of the PSE (Book 1 11.3.4 table 41): the directory SFI and language.
pub fn pse_fci(profile: &Profile) -> Vec<u8> {
    Node::constructed(
        Tag(0x6F),
        vec![
            t(0x84, PSE_NAME),
            Node::constructed(
                Tag(0xA5),
                vec![
                    t(0x88, [PSE_DIRECTORY_SFI]),
                    t(0x5F2D, profile.language.as_bytes()),
                    t(0x9F11, [0x01]),
                ],
            ),
        ],
    )
    .to_bytes()
}

fn directory_entry(profile: &Profile, app: usize, contactless: bool) -> Option<Node> {
    let application = profile.applications.get(app)?;
    let mut children = vec![
        t(0x4F, application.aid.clone()),
        t(0x50, application.label.as_bytes()),
        t(0x87, [application.priority]),
    ];
    if contactless {
        // Book B 3.3.2: the kernel identifier lets entry point pick the
        // kernel without guessing from the RID.
        let kernel = match profile.scheme {
            super::profile::Scheme::Mastercard => 0x02,
            super::profile::Scheme::Visa => 0x03,
            super::profile::Scheme::UnionPay => 0x07,
        };
        children.push(t(0x9F2A, [kernel]));
    }
    Some(Node::constructed(Tag(0x61), children))
}

/// The PSE directory record (Book 1 12.2.3): one 61 entry per application.
pub fn pse_directory_record(profile: &Profile) -> Vec<u8> {
    let entries = (0..profile.applications.len())
        .filter_map(|i| directory_entry(profile, i, false))
        .collect();
    record(entries)
}

/// FCI of the PPSE (Book B 3.3.1): the directory itself in BF0C.
pub fn ppse_fci(profile: &Profile) -> Vec<u8> {
    let entries = (0..profile.applications.len())
        .filter_map(|i| directory_entry(profile, i, true))
        .collect();
    Node::constructed(
        Tag(0x6F),
        vec![
            t(0x84, PPSE_NAME),
            Node::constructed(Tag(0xA5), vec![Node::constructed(Tag(0xBF0C), entries)]),
        ],
    )
    .to_bytes()
}

/// Whether the card answers to the PSE (contact) or PPSE (contactless).
pub fn directory_name(profile: &Profile) -> &'static [u8] {
    match profile.interface {
        Interface::Contact => PSE_NAME,
        Interface::Contactless => PPSE_NAME,
    }
}

/// A primitive data object, encoded.
pub fn tlv(tag: u32, value: &[u8]) -> Vec<u8> {
    encode(Tag(tag), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_personalises_into_readable_records() {
        for name in Profile::names() {
            let profile = Profile::named(name).unwrap();
            let perso = personalise(&profile).unwrap();
            for ((sfi, rec), bytes) in &perso.records {
                assert!(bytes.len() <= 254, "{name} {sfi}/{rec} is {} bytes", bytes.len());
                poskit_tlv::validate(bytes).unwrap();
            }
            assert_eq!(perso.afl.len() % 4, 0);
        }
    }

    #[test]
    fn track2_layout() {
        let profile = Profile::named("visa-contact").unwrap();
        let t2 = track2(&profile);
        let text: String = t2.iter().map(|b| format!("{b:02X}")).collect();
        assert!(text.starts_with("4761739001010010D3012201"), "{text}");
        assert!(text.ends_with('F'));
    }
}
