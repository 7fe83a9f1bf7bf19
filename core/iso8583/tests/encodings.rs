//! Known encodings, derived by hand from shared/specs/cup-pos-8583.md, for
//! every format, both alignments, both length prefixes and both bitmaps.

use poskit_iso8583::{Align, CodecError, Dialect, FieldSpec, Format, Length, Message, Value, cup, mac};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// Packs one field into a 0200 and returns the bytes after MTI and bitmap.
fn field_bytes(field: u8, value: Value) -> Vec<u8> {
    let mut msg = Message::new(200);
    msg.set(field, value);
    let packed = cup().pack(&msg).unwrap();
    assert_eq!(cup().unpack(&packed).unwrap(), msg, "field {field} round trip");
    packed[10..].to_vec()
}

fn digits(s: &str) -> Value {
    Value::Digits(s.to_string())
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn pack_err(field: u8, value: Value) -> CodecError {
    let mut msg = Message::new(200);
    msg.set(field, value);
    cup().pack(&msg).unwrap_err()
}

#[test]
fn fixed_even_numeric_is_plain_bcd() {
    assert_eq!(field_bytes(4, digits("000000001000")), h("000000001000"));
    assert_eq!(field_bytes(3, digits("310000")), h("310000"));
}

#[test]
fn fixed_odd_numeric_is_right_aligned_with_a_leading_zero_nibble() {
    // Spec: field 23 `001` -> `00 01`.
    assert_eq!(field_bytes(23, digits("001")), h("0001"));
    assert_eq!(field_bytes(23, digits("123")), h("0123"));
}

#[test]
fn field_22_is_left_aligned_with_a_trailing_zero_nibble() {
    // Spec: field 22 `051` -> `05 10`.
    assert_eq!(field_bytes(22, digits("051")), h("0510"));
    assert_eq!(field_bytes(22, digits("072")), h("0720"));
}

#[test]
fn variable_numeric_counts_digits_and_left_aligns() {
    // 19-digit PAN: prefix 19 (digits), 10 bytes, trailing pad nibble.
    assert_eq!(
        field_bytes(2, digits("6212345678901234567")),
        h("19 6212345678901234567 0")
    );
    // Even count: no pad.
    assert_eq!(
        field_bytes(2, digits("6212345678901234")),
        h("16 6212345678901234")
    );
    // LLLVAR numeric: two BCD bytes of digit count.
    assert_eq!(field_bytes(60, digits("22000001000")), h("0011 22000001000 0"));
    assert_eq!(field_bytes(61, digits("000001000123")), h("0012 000001000123"));
    assert_eq!(field_bytes(32, digits("")), h("00"));
}

#[test]
fn track_data_packs_the_separator_as_a_d_nibble() {
    let track2 = "6212345678901234567D25122011234567890";
    assert_eq!(track2.len(), 37);
    assert_eq!(
        field_bytes(35, digits(track2)),
        h("37 6212345678901234567D25122011234567890 0")
    );
    // `=` is accepted on input and comes back as `D`.
    let mut msg = Message::new(200);
    msg.set_digits(35, "6212345678901234=2512");
    let packed = cup().pack(&msg).unwrap();
    assert_eq!(packed[10..], h("21 6212345678901234D2512 0"));
    assert_eq!(
        cup().unpack(&packed).unwrap().digits(35),
        Some("6212345678901234D2512")
    );
    // Track 3, LLLVAR.
    assert_eq!(field_bytes(36, digits("996212D1")), h("0008 996212D1"));
}

#[test]
fn fixed_text_is_ascii_padded_with_trailing_spaces() {
    assert_eq!(field_bytes(41, text("12345678")), b"12345678");
    assert_eq!(field_bytes(49, text("156")), b"156");
    let mut msg = Message::new(200);
    msg.set_text(39, "0");
    let packed = cup().pack(&msg).unwrap();
    assert_eq!(&packed[10..], b"0 ");
    // Unpack gives the field as sent, padding included.
    assert_eq!(cup().unpack(&packed).unwrap().text(39), Some("0 "));
}

#[test]
fn variable_text_counts_bytes() {
    let mut expected = h("0003");
    expected.extend_from_slice(b"CUP");
    assert_eq!(field_bytes(63, text("CUP")), expected);
    let mut expected = h("23");
    expected.extend_from_slice(b"01234567890 98765432109");
    assert_eq!(field_bytes(44, text("01234567890 98765432109")), expected);
}

#[test]
fn gbk_text_is_kept_as_bytes() {
    // "CUP" then 银联 (GBK D2 F8 C1 AA).
    let gbk = h("435550 D2F8 C1AA");
    assert_eq!(
        field_bytes(63, Value::TextBytes(gbk.clone())),
        [h("0007"), gbk.clone()].concat()
    );
    let mut msg = Message::new(210);
    msg.set_text_bytes(63, gbk.clone());
    let back = cup().unpack(&cup().pack(&msg).unwrap()).unwrap();
    assert_eq!(back.text(63), None);
    assert_eq!(back.text_bytes(63), Some(&gbk[..]));
}

#[test]
fn binary_fields_are_raw_bytes() {
    let pin = h("1122334455667788");
    assert_eq!(field_bytes(52, Value::Binary(pin.clone())), pin);
    let icc = h("9F2608 0102030405060708 9F2701 80");
    assert_eq!(
        field_bytes(55, Value::Binary(icc.clone())),
        [h("0015"), icc].concat()
    );
}

#[test]
fn a_full_sale_request_packs_to_the_expected_bytes() {
    let mut msg = Message::new(200);
    msg.set_digits(2, "6212345678901234567")
        .set_digits(3, "000000")
        .set_digits(4, "000000001000")
        .set_digits(11, "000123")
        .set_digits(14, "2512")
        .set_digits(22, "051")
        .set_digits(23, "001")
        .set_digits(25, "00")
        .set_digits(26, "12")
        .set_digits(35, "6212345678901234567D25122011234567890")
        .set_text(41, "12345678")
        .set_text(42, "123456789012345")
        .set_text(49, "156")
        .set_binary(52, h("1122334455667788"))
        .set_digits(53, "2600000000000000")
        .set_binary(55, h("9F26080102030405060708 9F270180"))
        .set_digits(60, "22000001000")
        .set_binary(64, h("0102030405060708"));

    let expected = [
        "0200",                                       // MTI, BCD
        "7024 06C0 20C0 9A11",                        // bitmap, worked out below
        "19 6212345678901234567 0",                   // 2: LLVAR digits, trailing pad nibble
        "000000",                                     // 3
        "000000001000",                               // 4
        "000123",                                     // 11
        "2512",                                       // 14
        "0510",                                       // 22: left-aligned
        "0001",                                       // 23: right-aligned
        "00",                                         // 25
        "12",                                         // 26
        "37 6212345678901234567D25122011234567890 0", // 35
        "3132333435363738",                           // 41: "12345678"
        "313233343536373839303132333435",             // 42: "123456789012345"
        "313536",                                     // 49: "156"
        "1122334455667788",                           // 52
        "2600000000000000",                           // 53
        "0015 9F26080102030405060708 9F270180",       // 55: LLLVAR bytes
        "0011 22000001000 0",                         // 60: LLLVAR digits
        "0102030405060708",                           // 64
    ]
    .concat();
    // Bitmap, bit n is bit (8 - ((n - 1) % 8)) of byte (n - 1) / 8:
    //   byte 1 (1-8):   2 3 4        -> 0111 0000 = 70
    //   byte 2 (9-16):  11 14        -> 0010 0100 = 24
    //   byte 3 (17-24): 22 23        -> 0000 0110 = 06
    //   byte 4 (25-32): 25 26        -> 1100 0000 = C0
    //   byte 5 (33-40): 35           -> 0010 0000 = 20
    //   byte 6 (41-48): 41 42        -> 1100 0000 = C0
    //   byte 7 (49-56): 49 52 53 55  -> 1001 1010 = 9A
    //   byte 8 (57-64): 60 64        -> 0001 0001 = 11
    let packed = cup().pack(&msg).unwrap();
    assert_eq!(hex::encode_upper(&packed), expected.replace(' ', ""));
    assert_eq!(cup().unpack(&packed).unwrap(), msg);

    // The MAC block is everything but field 64.
    assert!(mac::has_field_64(&packed).unwrap());
    let mab = mac::mab(&packed, true);
    assert_eq!(mab.len(), packed.len() - 8);
    assert_eq!(mab, &packed[..packed.len() - 8]);
    assert_eq!(mac::mab(&packed, false), &packed[..]);
}

/// A dialect with fields above 64, which cup has none of: proves a
/// dialect is data, and exercises the secondary bitmap.
fn with_secondary() -> Dialect {
    cup()
        .clone()
        .with_field(FieldSpec::new(
            70,
            "network management code",
            Format::N,
            Length::Fixed(3),
        ))
        .unwrap()
        .with_field(FieldSpec::new(
            100,
            "receiving institution",
            Format::N,
            Length::LlVar(11),
        ))
        .unwrap()
        .with_field(FieldSpec::new(128, "MAC 2", Format::B, Length::Fixed(8)))
        .unwrap()
}

#[test]
fn a_field_above_64_brings_the_secondary_bitmap() {
    let dialect = with_secondary();
    let mut msg = Message::new(800);
    msg.set_digits(11, "000001")
        .set_digits(70, "001")
        .set_digits(100, "12345");
    let packed = dialect.pack(&msg).unwrap();
    let expected = [
        "0800",
        "8020000000000000", // bit 1 (secondary follows), bit 11
        "0400000010000000", // bit 70 (byte 9: 65-72, 6th bit), bit 100 (byte 13: 97-104, 4th bit)
        "000001",
        "0001",       // 70: n3 right-aligned
        "05 12345 0", // 100: LLVAR digits
    ]
    .concat();
    assert_eq!(hex::encode_upper(&packed), expected.replace(' ', ""));
    assert_eq!(dialect.unpack(&packed).unwrap(), msg);

    msg.set_binary(128, h("0102030405060708"));
    let packed = dialect.pack(&msg).unwrap();
    assert_eq!(
        packed[17], 0x01,
        "bit 128 is the last bit of the secondary bitmap"
    );
    assert_eq!(dialect.unpack(&packed).unwrap(), msg);

    // cup itself does not know field 70.
    let err = cup().pack(&msg).unwrap_err();
    assert_eq!(err.to_string(), "field 70: not defined in dialect cup");
    let err = cup().unpack(&packed).unwrap_err();
    assert_eq!(err.field, Some(70));
}

#[test]
fn a_dialect_built_from_a_table() {
    let dialect = Dialect::new(
        "tiny",
        &[
            FieldSpec::new(3, "processing code", Format::N, Length::Fixed(5)).aligned(Align::Left),
            FieldSpec::new(41, "terminal", Format::Ans, Length::Fixed(4)).aligned(Align::Right),
            FieldSpec::new(90, "original data", Format::N, Length::LllVar(42)),
        ],
    )
    .unwrap();
    let mut msg = Message::new(420);
    msg.set_digits(3, "12345").set_text(41, "T1").set_digits(90, "7");
    let packed = dialect.pack(&msg).unwrap();
    assert_eq!(
        hex::encode_upper(&packed),
        "0420 A000000000800000 0000004000000000 12345 0 20205431 0001 70".replace(' ', "")
    );
    assert_eq!(dialect.unpack(&packed).unwrap().text(41), Some("  T1"));
    assert_eq!(dialect.field(90).unwrap().name, "original data");
    assert!(dialect.field(2).is_none());

    let bad = |spec| Dialect::new("bad", &[spec]).unwrap_err().to_string();
    assert_eq!(
        bad(FieldSpec::new(1, "bitmap", Format::B, Length::Fixed(8))),
        "field 1: field numbers run from 2 to 128"
    );
    assert!(bad(FieldSpec::new(2, "x", Format::N, Length::LlVar(100))).contains("LLVAR"));
    assert!(bad(FieldSpec::new(2, "x", Format::N, Length::LllVar(1000))).contains("LLLVAR"));
    assert!(bad(FieldSpec::new(2, "x", Format::N, Length::Fixed(0))).contains("fixed"));
    let twice = FieldSpec::new(2, "x", Format::N, Length::Fixed(2));
    assert_eq!(
        Dialect::new("dup", &[twice, twice]).unwrap_err().to_string(),
        "field 2: defined twice in dialect dup"
    );
    assert!(cup().clone().without_field(64).field(64).is_none());
}

#[test]
fn the_cup_table_matches_the_spec() {
    let c = cup();
    assert_eq!(c.name, "cup");
    let numbers: Vec<u8> = c.specs().map(|s| s.number).collect();
    assert_eq!(
        numbers,
        [
            2, 3, 4, 11, 12, 13, 14, 15, 22, 23, 25, 26, 32, 35, 36, 37, 38, 39, 41, 42, 44, 48, 49, 52, 53,
            54, 55, 60, 61, 62, 63, 64
        ]
    );
    let f = |n| *c.field(n).unwrap();
    assert_eq!(
        (f(2).format, f(2).length, f(2).align),
        (Format::N, Length::LlVar(19), Align::Left)
    );
    assert_eq!((f(22).length, f(22).align), (Length::Fixed(3), Align::Left));
    assert_eq!((f(23).length, f(23).align), (Length::Fixed(3), Align::Right));
    assert_eq!((f(35).format, f(35).length), (Format::Z, Length::LlVar(37)));
    assert_eq!((f(36).format, f(36).length), (Format::Z, Length::LllVar(104)));
    assert_eq!((f(48).format, f(48).length), (Format::N, Length::LllVar(322)));
    assert_eq!((f(55).format, f(55).length), (Format::B, Length::LllVar(255)));
    assert_eq!((f(62).format, f(62).length), (Format::B, Length::LllVar(512)));
    assert_eq!((f(63).format, f(63).length), (Format::Ans, Length::LllVar(163)));
    assert_eq!((f(64).format, f(64).length), (Format::B, Length::Fixed(8)));
}

#[test]
fn pack_refuses_what_does_not_fit_and_says_why() {
    let cases = [
        (
            pack_err(4, digits("1000")),
            "field 4: needs exactly 12 digits, got 4",
        ),
        (
            pack_err(4, digits("00000000100A")),
            "field 4: character 12 is not a digit",
        ),
        (
            pack_err(2, digits("62123456789012345678")),
            "field 2: 20 digits is more than the maximum of 19",
        ),
        (
            pack_err(35, digits("6212X")),
            "field 35: character 5 is not a digit or the track separator D (=)",
        ),
        (
            pack_err(2, digits("6212D")),
            "field 2: character 5 is not a digit",
        ),
        (
            pack_err(4, text("000000001000")),
            "field 4: n field needs digits, got text",
        ),
        (
            pack_err(41, digits("12345678")),
            "field 41: ans field needs text, got digits",
        ),
        (
            pack_err(52, text("12345678")),
            "field 52: b field needs binary, got text",
        ),
        (
            pack_err(52, Value::Binary(vec![0; 7])),
            "field 52: needs exactly 8 bytes, got 7",
        ),
        (
            pack_err(55, Value::Binary(vec![0; 256])),
            "field 55: 256 bytes is more than the maximum of 255",
        ),
        (
            pack_err(41, text("123456789")),
            "field 41: 9 bytes do not fit the fixed length of 8",
        ),
        (
            pack_err(39, text("0-")),
            "field 39: character 2 is outside letters, digits and spaces (an)",
        ),
        (
            pack_err(63, text("CUP\u{94f6}")),
            "field 63: character 4 is outside printable ASCII (ans); send GBK text as Value::TextBytes",
        ),
        (pack_err(5, digits("1")), "field 5: not defined in dialect cup"),
        (
            pack_err(1, Value::Binary(vec![0; 8])),
            "field 1: is the secondary bitmap, which pack sets itself; it cannot be set",
        ),
        (pack_err(0, digits("1")), "field 0: not defined in dialect cup"),
        (
            pack_err(200, digits("1")),
            "field 200: not defined in dialect cup",
        ),
    ];
    for (err, expected) in cases {
        assert_eq!(err.to_string(), expected);
    }
    let err = cup().pack(&Message::new(10000)).unwrap_err();
    assert_eq!(
        (err.field, err.to_string().as_str()),
        (None, "MTI 10000 has more than 4 digits")
    );
}

#[test]
fn errors_never_quote_card_data() {
    let err = pack_err(2, digits("621234567890123456X"));
    assert!(!err.reason.contains("6212"), "{err}");
    let mut packed = h("0200 4000000000000000 19 6212345678901234567 0");
    packed[11] = 0x6B; // a non-digit nibble inside the PAN
    let err = cup().unpack(&packed).unwrap_err();
    assert_eq!(err.to_string(), "field 2: nibble 2 is B, not a digit");
}

#[test]
fn unpack_refuses_malformed_messages_and_says_why() {
    let cases: [(&str, &str); 14] = [
        ("", "message shorter than its 2-byte MTI"),
        ("02", "message shorter than its 2-byte MTI"),
        ("0A00 0000000000000000", "MTI is not BCD (4 digits in 2 bytes)"),
        ("0200 00000000", "message ends inside the primary bitmap"),
        (
            "0200 8000000000000000 0000",
            "message ends inside the secondary bitmap",
        ),
        (
            "0200 0800000000000000",
            "field 5: present in the bitmap but not defined in dialect cup",
        ),
        (
            "0200 1000000000000000 0000",
            "field 4: needs 6 bytes but the message has 2 left",
        ),
        (
            "0200 4000000000000000",
            "field 2: message ends inside the length prefix",
        ),
        ("0200 4000000000000000 1A 00", "field 2: length prefix is not BCD"),
        (
            "0200 4000000000000000 20 6212345678901234567800",
            "field 2: length prefix says 20 digits, more than the maximum of 19",
        ),
        (
            "0200 0000000000000200 0256 00",
            "field 55: length prefix says 256 bytes, more than the maximum of 255",
        ),
        (
            "0200 0000020000000000 1510",
            "field 23: pad nibble of an odd-length value is 1, expected 0",
        ),
        (
            "0200 2000000000000000 000000 FF",
            "1 bytes left over after field 3",
        ),
        ("0200 0000000000000000 00", "1 bytes left over after the bitmap"),
    ];
    for (input, expected) in cases {
        let err = cup().unpack(&h(input)).unwrap_err();
        assert_eq!(err.to_string(), expected, "input {input}");
    }
}

#[test]
fn unpack_tolerates_what_hosts_send() {
    // Track data padded with F, not 0.
    let msg = cup().unpack(&h("0200 0000000020000000 05 6212D F")).unwrap();
    assert_eq!(msg.digits(35), Some("6212D"));
    // Non-alphanumeric characters in an `an` field come through as text.
    let msg = cup().unpack(&h("0200 0000000002000000 2D31")).unwrap();
    assert_eq!(msg.text(39), Some("-1"));
    // Control characters make it TextBytes: nothing is lost.
    let msg = cup().unpack(&h("0200 0000000000000002 0002 0A41")).unwrap();
    assert_eq!(msg.get(63), Some(&Value::TextBytes(vec![0x0A, 0x41])));
    // A secondary bitmap with no bits set is accepted.
    let msg = cup()
        .unpack(&h("0200 A000000000000000 0000000000000000 000000"))
        .unwrap();
    assert_eq!(msg.digits(3), Some("000000"));
}

#[test]
fn debug_output_masks_card_data() {
    let mut msg = Message::new(200);
    msg.set_digits(2, "6212345678901234567")
        .set_digits(14, "2512")
        .set_digits(35, "6212345678901234567D2512201")
        .set_binary(52, h("1122334455667788"))
        .set_binary(55, h("5A0862123456789012349F2701 80"))
        .set_digits(4, "000000001000");
    let shown = format!("{msg:?}");
    assert!(shown.contains("621234*********4567"), "{shown}");
    assert!(!shown.contains("6212345678"), "{shown}");
    assert!(!shown.contains("2512"), "{shown}");
    assert!(shown.contains("<track data, 27 long>"), "{shown}");
    assert!(shown.contains("<PIN block, 8 long>"), "{shown}");
    assert!(shown.contains("000000001000"), "{shown}");
    assert!(shown.starts_with("Message { mti: 0200"), "{shown}");
}

#[test]
fn mti_display_and_response() {
    use poskit_iso8583::Mti;
    assert_eq!(Mti(200).to_string(), "0200");
    assert_eq!(Mti(800).response(), Some(Mti(810)));
    assert_eq!(Mti(400).response(), Some(Mti(410)));
    assert_eq!(Mti(210).response(), None);
}

#[test]
fn message_accessors() {
    let mut msg = Message::new(200);
    msg.set_digits(3, "000000")
        .set_text(41, "T")
        .set_binary(52, [1u8; 8]);
    assert_eq!(msg.digits(3), Some("000000"));
    assert_eq!(msg.text(3), None);
    assert_eq!(msg.text(41), Some("T"));
    assert_eq!(msg.text_bytes(41), Some(&b"T"[..]));
    assert_eq!(msg.binary(52), Some(&[1u8; 8][..]));
    assert_eq!(msg.fields().map(|(n, _)| n).collect::<Vec<_>>(), [3, 41, 52]);
    assert_eq!(msg.remove(41), Some(Value::Text("T".into())));
    assert_eq!(msg.len(), 2);
    assert!(!msg.contains(41));
}
