//! Any bytes as a host message or frame: unpacking never panics, and a
//! message that unpacks and packs again unpacks to the same message. The
//! sub-field parsers get the unpacked fields, and the raw bytes too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poskit_iso8583::sub::{Field48, Field60, Field61, Field63, field55_tlvs};
use poskit_iso8583::{cup, frame, mac};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = cup().unpack(data) {
        if let Ok(again) = cup().pack(&msg) {
            assert_eq!(cup().unpack(&again).expect("packed message unpacks"), msg);
        }
        let _ = Field60::from_value(msg.get(60));
        let _ = Field61::from_value(msg.get(61));
        let _ = Field63::from_value(msg.get(63));
        let _ = msg.digits(48).map(Field48::unpack);
        let _ = msg.binary(55).map(field55_tlvs);
        let _ = format!("{msg:?}");
    }
    if let Some((body, prefix)) = frame::split_length(data) {
        if let Some(frame_body) = data.get(prefix..prefix + body) {
            if let Ok(f) = frame::parse(frame_body) {
                let _ = cup().unpack(f.message);
            }
        }
    }
    if let Ok(f) = frame::parse(data) {
        let _ = cup().unpack(f.message);
    }
    let _ = mac::mab(data, mac::has_field_64(data).unwrap_or(false));
    let text = String::from_utf8_lossy(data);
    let _ = Field60::from_digits(&text);
    let _ = Field61::from_digits(&text);
    let _ = Field48::unpack(&text);
    let _ = Field63::from_bytes(data);
    let _ = field55_tlvs(data);
});
