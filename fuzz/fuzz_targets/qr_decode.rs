//! Any scanned text as a QR code: merchant-presented, consumer-presented
//! or a wallet payment code. Nothing panics, and whatever parses as a
//! merchant-presented code encodes back to the very same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poskit_qr::cpm::ConsumerPresented;
use poskit_qr::mpm::MerchantPresented;

fuzz_target!(|data: &[u8]| {
    let _ = ConsumerPresented::from_bytes(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = poskit_qr::classify(text);
    let _ = ConsumerPresented::decode(text);
    let _ = MerchantPresented::decode(text);
    if let Ok(code) = MerchantPresented::parse(text) {
        assert_eq!(code.encode(), text.trim_matches(|c: char| c.is_ascii_whitespace()));
        let _ = code.problems();
        let _ = code.crc();
    }
});
