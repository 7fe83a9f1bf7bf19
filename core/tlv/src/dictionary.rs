//! Temporary minimal dictionary; the full EMV table replaces this file.

use crate::tag::Tag;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    N,
    Cn,
    An,
    Ans,
    B,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Icc,
    Terminal,
    Issuer,
}

pub struct TagInfo {
    pub tag: Tag,
    pub name: &'static str,
    pub format: Format,
    pub template: &'static [Tag],
    pub source: Source,
    pub min_len: u16,
    pub max_len: u16,
}

static TABLE: &[TagInfo] = &[
    TagInfo {
        tag: Tag(0x5A),
        name: "Application Primary Account Number (PAN)",
        format: Format::Cn,
        template: &[Tag(0x70), Tag(0x77)],
        source: Source::Icc,
        min_len: 0,
        max_len: 10,
    },
    TagInfo {
        tag: Tag(0x9F02),
        name: "Amount, Authorised (Numeric)",
        format: Format::N,
        template: &[],
        source: Source::Terminal,
        min_len: 6,
        max_len: 6,
    },
    TagInfo {
        tag: Tag(0x9F4E),
        name: "Merchant Name and Location",
        format: Format::Ans,
        template: &[],
        source: Source::Terminal,
        min_len: 0,
        max_len: 255,
    },
];

pub fn lookup(tag: Tag) -> Option<&'static TagInfo> {
    TABLE
        .binary_search_by_key(&tag, |i| i.tag)
        .ok()
        .map(|i| &TABLE[i])
}

pub fn all() -> &'static [TagInfo] {
    TABLE
}
