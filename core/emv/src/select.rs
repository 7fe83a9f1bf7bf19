//! Application selection data: the PSE and PPSE directories, FCIs, and the
//! candidate list (EMV Book 1 section 12, Book B section 3.3).

use poskit_tlv::{Tag, Tlv, find, parse};

use crate::config::{AidParams, Config};
use crate::error::KernelError;

pub const PSE: &[u8] = b"1PAY.SYS.DDF01";
pub const PPSE: &[u8] = b"2PAY.SYS.DDF01";

/// An application the card offers and the terminal supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The card's AID (ADF name).
    pub aid: Vec<u8>,
    /// 50, or the terminal's name for the AID.
    pub label: String,
    /// 9F12, when the issuer code table is supported (shown in ASCII only).
    pub preferred_name: Option<String>,
    /// 87 bits 1-4; None when the card gives no priority.
    pub priority: Option<u8>,
    /// 87 bit 8: the cardholder must confirm this application.
    pub confirmation_required: bool,
    /// 9F2A from the PPSE, for contactless kernel selection.
    pub kernel_id: Option<u8>,
    /// Index of the matching entry in the terminal's AID table.
    pub aid_index: usize,
}

impl Candidate {
    /// What to show the cardholder: the preferred name, else the label.
    pub fn display_name(&self) -> &str {
        self.preferred_name.as_deref().unwrap_or(&self.label)
    }
}

/// The terminal AID entry a card AID matches: exactly, or by partial
/// selection when the entry allows it (Book 1 12.3.1).
pub fn matching_aid(config: &Config, card_aid: &[u8]) -> Option<usize> {
    let exact = config.aids.iter().position(|a| a.aid == card_aid);
    exact.or_else(|| {
        config
            .aids
            .iter()
            .position(|a| a.partial_selection && card_aid.len() > a.aid.len() && card_aid.starts_with(&a.aid))
    })
}

fn text(value: &[u8]) -> String {
    // Labels are an (Book 3 Annex A); anything else is shown as '?'.
    value
        .iter()
        .map(|&b| if (0x20..0x7F).contains(&b) { b as char } else { '?' })
        .collect()
}

/// Reads one directory entry (template 61) into a candidate, if the
/// terminal supports its AID.
fn entry_candidate(entry: &Tlv<'_>, config: &Config) -> Result<Option<Candidate>, KernelError> {
    let mut aid = None;
    let mut label = None;
    let mut preferred = None;
    let mut priority = None;
    let mut kernel_id = None;
    for child in entry.children() {
        let child = child?;
        match child.tag().0 {
            0x4F => aid = Some(child.value().to_vec()),
            0x50 => label = Some(text(child.value())),
            0x9F12 => preferred = Some(text(child.value())),
            0x87 => priority = child.value().first().copied(),
            0x9F2A => kernel_id = child.value().last().copied(),
            _ => {}
        }
    }
    let Some(aid) = aid.filter(|a| (5..=16).contains(&a.len())) else {
        // Book 1 12.3.2: an entry without a valid ADF name is skipped.
        return Ok(None);
    };
    let Some(aid_index) = matching_aid(config, &aid) else {
        return Ok(None);
    };
    Ok(Some(Candidate {
        label: label.unwrap_or_else(|| config.aids[aid_index].name.clone()),
        preferred_name: preferred,
        priority: priority.map(|p| p & 0x0F).filter(|p| *p != 0),
        confirmation_required: priority.is_some_and(|p| p & 0x80 != 0),
        kernel_id,
        aid,
        aid_index,
    }))
}

/// The SFI of the PSE directory from the PSE's FCI (tag 88).
pub fn pse_directory_sfi(fci: &[u8]) -> Result<u8, KernelError> {
    let sfi = find(fci, Tag(0x88))?.ok_or(KernelError::MissingData(Tag(0x88)))?;
    match sfi.value() {
        [s @ 1..=30] => Ok(*s),
        _ => Err(KernelError::CardData("PSE directory SFI out of range".into())),
    }
}

/// Candidates from one PSE directory record (template 70 with entries 61).
pub fn pse_record_candidates(record: &[u8], config: &Config) -> Result<Vec<Candidate>, KernelError> {
    let mut out = Vec::new();
    for top in parse(record)? {
        if top.tag() != Tag(0x70) {
            return Err(KernelError::CardData(
                "PSE directory record is not template 70".into(),
            ));
        }
        for entry in top.children() {
            let entry = entry?;
            if entry.tag() == Tag(0x61)
                && let Some(c) = entry_candidate(&entry, config)?
            {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Candidates from the PPSE's FCI (entries 61 in BF0C).
pub fn ppse_candidates(fci: &[u8], config: &Config) -> Result<Vec<Candidate>, KernelError> {
    let Some(directory) = find(fci, Tag(0xBF0C))? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in directory.children() {
        let entry = entry?;
        if entry.tag() == Tag(0x61)
            && let Some(c) = entry_candidate(&entry, config)?
        {
            out.push(c);
        }
    }
    Ok(out)
}

/// What the final SELECT's FCI says about the application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppFci {
    pub df_name: Vec<u8>,
    pub label: Option<String>,
    pub preferred_name: Option<String>,
    pub priority: Option<u8>,
    pub pdol: Option<Vec<u8>>,
    pub language: Option<String>,
}

pub fn parse_app_fci(fci: &[u8]) -> Result<AppFci, KernelError> {
    let top = parse(fci)?;
    let Some(template) = top.iter().find(|t| t.tag() == Tag(0x6F)) else {
        return Err(KernelError::CardData(
            "SELECT answer is not an FCI template (6F)".into(),
        ));
    };
    let get = |tag: u32| find(template.raw(), Tag(tag)).map(|t| t.map(|t| t.value().to_vec()));
    let df_name = get(0x84)?.ok_or(KernelError::MissingData(Tag(0x84)))?;
    Ok(AppFci {
        df_name,
        label: get(0x50)?.map(|v| text(&v)),
        preferred_name: get(0x9F12)?.map(|v| text(&v)),
        priority: get(0x87)?.and_then(|v| v.first().copied()),
        pdol: get(0x9F38)?,
        language: get(0x5F2D)?.map(|v| text(&v)),
    })
}

/// Orders candidates by priority, those without one last (Book 1 12.4).
pub fn order(candidates: &mut [Candidate]) {
    candidates.sort_by_key(|c| c.priority.unwrap_or(u8::MAX));
}

/// Whether the cardholder must pick or confirm (Book 1 12.4): several
/// candidates, or one that requires confirmation.
pub fn needs_cardholder(candidates: &[Candidate]) -> bool {
    candidates.len() > 1 || candidates.first().is_some_and(|c| c.confirmation_required)
}

/// A candidate for an AID found by the list-of-AIDs method from its FCI.
pub fn candidate_from_fci(fci: &AppFci, aid_index: usize, params: &AidParams) -> Candidate {
    Candidate {
        aid: fci.df_name.clone(),
        label: fci.label.clone().unwrap_or_else(|| params.name.clone()),
        preferred_name: fci.preferred_name.clone(),
        priority: fci.priority.map(|p| p & 0x0F).filter(|p| *p != 0),
        confirmation_required: fci.priority.is_some_and(|p| p & 0x80 != 0),
        kernel_id: None,
        aid_index,
    }
}

/// Payment scheme registered application provider identifiers (RIDs) and
/// the name of their scheme.
pub const SCHEMES: [([u8; 5], &str); 12] = [
    ([0xA0, 0x00, 0x00, 0x00, 0x03], "Visa"),
    ([0xA0, 0x00, 0x00, 0x00, 0x04], "Mastercard"),
    ([0xA0, 0x00, 0x00, 0x03, 0x33], "UnionPay"),
    ([0xA0, 0x00, 0x00, 0x00, 0x25], "American Express"),
    ([0xA0, 0x00, 0x00, 0x00, 0x65], "JCB"),
    ([0xA0, 0x00, 0x00, 0x01, 0x52], "Discover"),
    ([0xA0, 0x00, 0x00, 0x03, 0x24], "Discover"),
    ([0xA0, 0x00, 0x00, 0x00, 0x42], "CB"),
    ([0xA0, 0x00, 0x00, 0x02, 0x77], "Interac"),
    ([0xD2, 0x76, 0x00, 0x00, 0x25], "GeldKarte"),
    ([0xA0, 0x00, 0x00, 0x05, 0x24], "RuPay"),
    ([0xA0, 0x00, 0x00, 0x06, 0x58], "Mir"),
];

/// The scheme an AID belongs to, by its RID.
pub fn scheme_name(aid: &[u8]) -> Option<&'static str> {
    let rid = aid.get(..5)?;
    SCHEMES.iter().find(|(r, _)| r == rid).map(|(_, name)| *name)
}
