//! Properties over random input: every message valid for a dialect comes
//! back unchanged from unpack(pack(..)), and no input makes anything panic.

use poskit_iso8583::sub::{Field48, Field60, Field61, Field63, field55_tlvs};
use poskit_iso8583::{Dialect, FieldSpec, Format, Length, Message, Value, cup, frame, mac};
use proptest::prelude::*;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ";
const PRINTABLE: &[u8] =
    br##" !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~"##;

fn chars_from(set: &'static [u8], len: std::ops::RangeInclusive<usize>) -> BoxedStrategy<String> {
    proptest::collection::vec(proptest::sample::select(set), len)
        .prop_map(|v| v.into_iter().map(char::from).collect())
        .boxed()
}

/// A value the field accepts, in the canonical form unpack produces:
/// fixed text at full width, `D` separators, `TextBytes` only when the
/// bytes are not all printable ASCII.
fn arb_value(spec: &FieldSpec) -> BoxedStrategy<Value> {
    let (min, max) = match spec.length {
        Length::Fixed(n) => (n as usize, n as usize),
        Length::LlVar(m) | Length::LllVar(m) => (0, m as usize),
    };
    match spec.format {
        Format::N => chars_from(b"0123456789", min..=max)
            .prop_map(Value::Digits)
            .boxed(),
        Format::Z => chars_from(b"0123456789D", min..=max)
            .prop_map(Value::Digits)
            .boxed(),
        Format::An => chars_from(ALNUM, min..=max).prop_map(Value::Text).boxed(),
        Format::Ans => {
            let text = chars_from(PRINTABLE, min..=max).prop_map(Value::Text);
            // GBK-like bytes: at least one byte above 0x7F.
            let gbk = proptest::collection::vec(any::<u8>(), min.max(1)..=max).prop_map(|mut b| {
                b[0] |= 0x80;
                Value::TextBytes(b)
            });
            prop_oneof![3 => text, 1 => gbk].boxed()
        }
        Format::B => proptest::collection::vec(any::<u8>(), min..=max)
            .prop_map(Value::Binary)
            .boxed(),
    }
}

fn arb_message(dialect: &Dialect) -> BoxedStrategy<Message> {
    let fields: Vec<BoxedStrategy<Option<(u8, Value)>>> = dialect
        .specs()
        .map(|spec| {
            let n = spec.number;
            proptest::option::of(arb_value(spec).prop_map(move |v| (n, v))).boxed()
        })
        .collect();
    (0u16..=9999, fields)
        .prop_map(|(mti, fields)| {
            let mut msg = Message::new(mti);
            for (n, v) in fields.into_iter().flatten() {
                msg.set(n, v);
            }
            msg
        })
        .boxed()
}

fn with_secondary() -> Dialect {
    cup()
        .clone()
        .with_field(FieldSpec::new(66, "settlement code", Format::N, Length::Fixed(1)))
        .unwrap()
        .with_field(FieldSpec::new(
            90,
            "original data elements",
            Format::N,
            Length::Fixed(42),
        ))
        .unwrap()
        .with_field(FieldSpec::new(102, "account 1", Format::Ans, Length::LlVar(28)))
        .unwrap()
        .with_field(FieldSpec::new(127, "private", Format::Z, Length::LllVar(999)))
        .unwrap()
        .with_field(FieldSpec::new(128, "MAC 2", Format::B, Length::Fixed(8)))
        .unwrap()
}

/// Everything that takes untrusted bytes, run over `data`.
fn exercise_parsers(data: &[u8]) {
    if let Ok(msg) = cup().unpack(data) {
        // What unpacks and packs again must unpack to the same message.
        if let Ok(again) = cup().pack(&msg) {
            assert_eq!(cup().unpack(&again).unwrap(), msg);
        }
        let _ = Field60::from_value(msg.get(60));
        let _ = Field61::from_value(msg.get(61));
        let _ = Field63::from_value(msg.get(63));
        let _ = msg.digits(48).map(Field48::unpack);
        let _ = msg.binary(55).map(field55_tlvs);
        let _ = format!("{msg:?}");
    }
    let _ = with_secondary().unpack(data);
    if let Ok(f) = frame::parse(data) {
        let _ = cup().unpack(f.message);
    }
    let _ = frame::split_length(data);
    let _ = mac::mab(data, true);
    let _ = mac::has_field_64(data);
    let text = String::from_utf8_lossy(data);
    let _ = Field60::from_digits(&text);
    let _ = Field61::from_digits(&text);
    let _ = Field48::unpack(&text);
    let _ = Field63::from_bytes(data);
    let _ = field55_tlvs(data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cup_messages_round_trip(msg in arb_message(cup())) {
        let packed = cup().pack(&msg).unwrap();
        prop_assert_eq!(cup().unpack(&packed).unwrap(), msg);
    }

    #[test]
    fn messages_with_a_secondary_bitmap_round_trip(msg in arb_message(&with_secondary())) {
        let dialect = with_secondary();
        let packed = dialect.pack(&msg).unwrap();
        prop_assert_eq!(packed[2] & 0x80 != 0, msg.fields().any(|(n, _)| n > 64));
        prop_assert_eq!(dialect.unpack(&packed).unwrap(), msg);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise_parsers(&data);
    }

    #[test]
    fn damaged_messages_never_panic(
        msg in arb_message(cup()),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        // Random bytes rarely get past the bitmap; damaging a valid
        // message reaches every field decoder.
        let mut packed = cup().pack(&msg).unwrap();
        for (at, byte) in flips {
            let i = at.index(packed.len());
            packed[i] = byte;
        }
        exercise_parsers(&packed);
        exercise_parsers(&packed[..cut.index(packed.len() + 1)]);
    }

    #[test]
    fn frames_round_trip(
        dest in any::<[u8; 2]>(), src in any::<[u8; 2]>(), header in any::<[u8; 6]>(),
        message in proptest::collection::vec(any::<u8>(), 1..300),
    ) {
        let tpdu = frame::Tpdu { destination: dest, source: src };
        let wire = frame::wrap(&tpdu, &header, &message).unwrap();
        let (body, prefix) = frame::split_length(&wire).unwrap();
        prop_assert_eq!(prefix + body, wire.len());
        let f = frame::parse(&wire[prefix..]).unwrap();
        prop_assert_eq!(f.tpdu, tpdu);
        prop_assert_eq!(f.header, header);
        prop_assert_eq!(f.message, &message[..]);
    }
}

#[test]
fn printable_is_all_of_printable_ascii() {
    assert_eq!(PRINTABLE, (0x20u8..=0x7E).collect::<Vec<_>>());
}
