//! Any bytes as an encrypted PIN block: decoding fails cleanly or yields a
//! well-formed PIN, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poskit_crypto::SymmetricKey;
use poskit_crypto::pin::{Pan, PinBlockFormat, decode_clear_pin_block, decrypt_pin_block};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, block)) = data.split_first() else { return };
    let format = match selector % 4 {
        0 => PinBlockFormat::Iso0,
        1 => PinBlockFormat::Iso1,
        2 => PinBlockFormat::Iso3,
        _ => PinBlockFormat::Iso4,
    };
    let pan = Pan::new("4012345678909").ok();
    let key = if format == PinBlockFormat::Iso4 {
        SymmetricKey::aes(&[0x11; 16])
    } else {
        SymmetricKey::tdes(&[0x22; 16])
    }
    .expect("fixed test key");
    for result in [
        decrypt_pin_block(&key, format, block, pan.as_ref()),
        decode_clear_pin_block(format, block, pan.as_ref()),
    ] {
        if let Ok(pin) = result {
            let digits = pin.expose_secret();
            assert!((4..=12).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()));
        }
    }
});
