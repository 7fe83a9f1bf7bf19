//! Why a merchant-presented code was refused. Every error names the data
//! object (id and name) and what is wrong with it; none quotes a value,
//! except the CRC, which is what a person compares.

use super::schema::Path;

/// What is wrong with one data object's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    #[error("is empty")]
    Empty,
    #[error("not numeric")]
    NotNumeric,
    #[error("is {len} characters; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("is {len} characters; it must be exactly {expected}")]
    WrongLength { len: usize, expected: usize },
    #[error("not an amount: digits with at most one '.' as the decimal mark, e.g. 88.80")]
    NotAnAmount,
    #[error("must not be zero")]
    Zero,
    #[error("must be a percentage from 00.01 to 99.99, e.g. 10.00")]
    NotAPercentage,
    #[error("must be {0}")]
    OneOf(&'static str),
    #[error("must be two letters ({0})")]
    NotLetters(&'static str),
    #[error("must be made of A (address), M (mobile) and E (email), each at most once")]
    ConsumerDataRequest,
    #[error("must be a template (data objects keyed by sub-id), not plain text")]
    NotATemplate,
    #[error("is a plain value, not a template")]
    NotAPlainValue,
    #[error("has characters outside the EMV common character set (printable ASCII){0}")]
    NotCommonCharacters(&'static str),
    #[error("is present but data object 55 (tip or convenience indicator) is not {0}")]
    TipIndicatorDisagrees(&'static str),
    #[error("must be present because data object 55 (tip or convenience indicator) is {0}")]
    TipValueMissing(&'static str),
    #[error("is reserved for future use; a code must not carry it")]
    Reserved,
}

/// A merchant-presented code that cannot be read, or breaks a rule of the
/// specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MpmError {
    #[error("the code is empty: scan or paste the whole merchant-presented code")]
    Empty,
    #[error("the code is {0} characters; a merchant-presented code has at most 512")]
    TooLong(usize),
    #[error(
        "at character {at}: expected a two-digit data object id; the code is cut short or is not an EMVCo merchant-presented code"
    )]
    BadId { at: usize },
    #[error("at character {at}: data object {path}: the length must be two digits")]
    BadLength { at: usize, path: Path },
    #[error(
        "data object {path}: its length says {declared} characters but only {available} follow; the code is cut short"
    )]
    Overrun {
        path: Path,
        declared: usize,
        available: usize,
    },
    #[error("data object {path}: {problem}")]
    Invalid { path: Path, problem: Problem },
    #[error("data object id {} is out of range: ids are two digits, 00 to 99", join_ids(.0))]
    IdOutOfRange(Vec<u8>),
    #[error("data object {0} appears more than once")]
    Duplicate(Path),
    #[error("data object {0} is mandatory and missing")]
    Missing(Path),
    #[error("no merchant account information (data objects 02 to 51): a code needs at least one")]
    NoMerchantAccount,
    #[error("data object 00 (payload format indicator) must come first")]
    FormatIndicatorNotFirst,
    #[error("data object 63 (CRC) must come last")]
    CrcNotLast,
    #[error(
        "data object 63 (CRC): the code says {found} but its content computes to {expected}; the code is damaged or was altered"
    )]
    CrcMismatch { expected: String, found: String },
}

impl MpmError {
    pub(crate) fn invalid(path: Path, problem: Problem) -> Self {
        MpmError::Invalid { path, problem }
    }

    /// The data object the error is about, when it is about one.
    pub fn path(&self) -> Option<Path> {
        match self {
            MpmError::BadLength { path, .. }
            | MpmError::Overrun { path, .. }
            | MpmError::Invalid { path, .. } => Some(*path),
            MpmError::Duplicate(path) | MpmError::Missing(path) => Some(*path),
            MpmError::FormatIndicatorNotFirst => Some(Path::root(0)),
            MpmError::CrcNotLast | MpmError::CrcMismatch { .. } => Some(Path::root(63)),
            _ => None,
        }
    }
}

fn join_ids(ids: &[u8]) -> String {
    ids.iter()
        .map(|id| format!("{id:02}"))
        .collect::<Vec<_>>()
        .join(".")
}
