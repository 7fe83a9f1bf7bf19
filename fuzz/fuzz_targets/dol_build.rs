//! Any bytes as a card's PDOL/CDOL: parsing never panics and the built data
//! is exactly as long as the DOL asks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poskit_tlv::Dol;

fuzz_target!(|data: &[u8]| {
    if let Ok(dol) = Dol::parse(data) {
        let built = dol.build(|t| if t.0 & 1 == 0 { Some(data) } else { None });
        assert_eq!(built.len(), dol.data_len());
    }
});
