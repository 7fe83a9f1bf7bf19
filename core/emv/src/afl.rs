//! Application file locator (94): which records to read, and which of them
//! feed offline data authentication (Book 3 10.2).

use crate::error::KernelError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AflEntry {
    pub sfi: u8,
    pub first: u8,
    pub last: u8,
    /// How many records from `first` on are signed for ODA.
    pub oda_records: u8,
}

impl AflEntry {
    pub fn records(&self) -> impl Iterator<Item = u8> {
        self.first..=self.last
    }

    pub fn is_for_oda(&self, record: u8) -> bool {
        record < self.first.saturating_add(self.oda_records)
    }
}

/// Parses an AFL; an entry outside the rules of Book 3 10.2 is an error
/// that ends the transaction.
pub fn parse(afl: &[u8]) -> Result<Vec<AflEntry>, KernelError> {
    if afl.len() % 4 != 0 {
        return Err(KernelError::CardData(
            "AFL (94) length is not a multiple of 4".into(),
        ));
    }
    afl.chunks_exact(4)
        .map(|e| {
            let entry = AflEntry {
                sfi: e[0] >> 3,
                first: e[1],
                last: e[2],
                oda_records: e[3],
            };
            let valid = (1..=30).contains(&entry.sfi)
                && entry.first != 0
                && entry.last >= entry.first
                && entry.oda_records as u16 <= (entry.last - entry.first) as u16 + 1;
            if valid {
                Ok(entry)
            } else {
                Err(KernelError::CardData("AFL (94) has an invalid entry".into()))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let afl = parse(&hex::decode("08010100100102011801020018030300").unwrap()).unwrap();
        assert_eq!(afl.len(), 4);
        assert_eq!(
            (afl[1].sfi, afl[1].first, afl[1].last, afl[1].oda_records),
            (2, 1, 2, 1)
        );
        assert!(afl[1].is_for_oda(1) && !afl[1].is_for_oda(2));
        assert!(parse(&hex::decode("00010100").unwrap()).is_err());
        assert!(parse(&hex::decode("08020100").unwrap()).is_err());
        assert!(parse(&hex::decode("08010103").unwrap()).is_err());
        assert!(parse(&[8, 1, 1]).is_err());
    }
}
