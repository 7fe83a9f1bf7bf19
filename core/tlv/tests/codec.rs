//! Decoding real card answers, encoding, DOLs, and never panicking.

use poskit_tlv::{Dol, ErrorKind, Format, Node, Tag, TlvError, encode, find, parse, primitives, validate};
use proptest::prelude::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

// SELECT of a Visa AID, from the devnied VisaCardPpse transcript (SW removed).
const FCI: &str = "6F 37 84 07 A0 00 00 00 42 10 10 A5 2C 9F 38 18 9F 66 04 9F 02 06 9F 03 06 9F 1A 02 95 05 5F 2A 02 9A 03 9C 01 9F 37 04 BF 0C 0E DF 60 02 0B 1E DF 61 01 03 9F 4D 02 0B 1E";

#[test]
fn decodes_a_select_response_tree() {
    let data = h(FCI);
    let top = parse(&data).unwrap();
    assert_eq!(top.len(), 1);
    let fci = &top[0];
    assert_eq!(fci.tag(), Tag(0x6F));
    assert!(fci.is_constructed());
    let children: Vec<_> = fci.children().collect::<Result<_, _>>().unwrap();
    assert_eq!(children[0].tag(), Tag(0x84));
    assert_eq!(children[0].value(), &h("A0000000421010")[..]);
    assert_eq!(children[1].tag(), Tag(0xA5));
    let pdol = find(&data, Tag(0x9F38)).unwrap().unwrap();
    assert_eq!(pdol.value().len(), 0x18);
    let log_entry = find(&data, Tag(0x9F4D)).unwrap().unwrap();
    assert_eq!(log_entry.value(), &[0x0B, 0x1E]);
    // Values borrow from the input: no copy was made.
    assert!(std::ptr::eq(pdol.value().as_ptr(), data[16..].as_ptr()));
    assert_eq!(pdol.offset(), 13);
    let prims = primitives(&data).unwrap();
    assert_eq!(
        prims.iter().map(|t| t.tag().to_string()).collect::<Vec<_>>(),
        ["84", "9F38", "DF60", "DF61", "9F4D"]
    );
}

#[test]
fn skips_filler_between_objects() {
    // EMV Book 3 Annex B: 00 and FF may pad between and after objects.
    let data = h("00 00 5A 02 12 34 FF FF 9F 36 02 00 01 00");
    let tags: Vec<_> = parse(&data).unwrap().iter().map(|t| t.tag()).collect();
    assert_eq!(tags, [Tag(0x5A), Tag(0x9F36)]);
}

#[test]
fn long_lengths_and_three_byte_tags() {
    let value = vec![0xAB; 300];
    let enc = encode(Tag(0xDF8129), &value);
    assert_eq!(&enc[..6], &h("DF 81 29 82 01 2C")[..]);
    let tlv = parse(&enc).unwrap()[0];
    assert_eq!(tlv.tag().to_string(), "DF8129");
    assert_eq!(tlv.value().len(), 300);
    assert_eq!(encode(Tag(0x5A), &[0; 200])[..3], [0x5A, 0x81, 0xC8]);
    assert_eq!(parse(&h("5A 83 00 00 01 07")).unwrap()[0].value(), &[7]);
}

#[test]
fn errors_name_the_offset_and_the_problem() {
    assert_eq!(
        parse(&h("5A 05 12 34")).unwrap_err(),
        TlvError {
            offset: 0,
            kind: ErrorKind::ValueOverrun {
                needed: 5,
                available: 2
            }
        }
    );
    assert_eq!(parse(&h("9F 02 06 00 00 00 00 01 00 9F")).unwrap_err().offset, 9);
    assert_eq!(
        parse(&h("5A 84 00 00 00 01 00")).unwrap_err().kind,
        ErrorKind::LengthTooLong(5)
    );
    assert_eq!(parse(&h("5A 80")).unwrap_err().kind, ErrorKind::IndefiniteLength);
    assert_eq!(
        parse(&h("9F FF FF FF 01 00")).unwrap_err().kind,
        ErrorKind::TagTooLong
    );
    // The error inside a template is reported at its place in the outer input.
    let err = validate(&h("70 04 5A 05 12 34")).unwrap_err();
    assert_eq!(err.offset, 2);
    let msg = err.to_string();
    assert!(msg.contains("byte 2") && msg.contains("needs 5"), "{msg}");
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let mut data = vec![0x5A, 0x00];
    for _ in 0..5000 {
        let mut outer = vec![0x70, 0x83];
        let len = data.len();
        outer.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8]);
        outer.extend_from_slice(&data);
        data = outer;
    }
    assert_eq!(
        validate(&data).unwrap_err().kind,
        ErrorKind::TooDeep(poskit_tlv::MAX_DEPTH)
    );
    assert!(find(&data, Tag(0x9F02)).is_err());
}

#[test]
fn tag_properties_and_text() {
    assert!(Tag(0x70).is_constructed());
    assert!(Tag(0xBF0C).is_constructed());
    assert!(!Tag(0x9F02).is_constructed());
    assert_eq!("9f02".parse::<Tag>().unwrap(), Tag(0x9F02));
    assert!("9F".parse::<Tag>().is_err(), "incomplete multi-byte tag");
    assert!("5A5A".parse::<Tag>().is_err(), "two tags, not one");
    assert!("xyz".parse::<Tag>().is_err());
    assert_eq!(Tag(0x9F02).to_bytes(), [0x9F, 0x02]);
}

#[test]
fn node_tree_round_trips() {
    let tree = Node::constructed(
        Tag(0x77),
        vec![
            Node::primitive(Tag(0x9F27), [0x80]),
            Node::primitive(Tag(0x9F36), [0x00, 0x01]),
            Node::constructed(Tag(0xBF0C), vec![Node::primitive(Tag(0xDF60), [1])]),
        ],
    );
    let bytes = tree.to_bytes();
    assert_eq!(bytes, h("77 10 9F 27 01 80 9F 36 02 00 01 BF 0C 04 DF 60 01 01"));
    assert_eq!(Node::parse_all(&bytes).unwrap(), vec![tree]);
}

#[test]
fn pdol_from_a_real_card_is_built_with_terminal_data() {
    let pdol = Dol::parse(&h(
        "9F 66 04 9F 02 06 9F 03 06 9F 1A 02 95 05 5F 2A 02 9A 03 9C 01 9F 37 04",
    ))
    .unwrap();
    assert_eq!(pdol.entries().len(), 9);
    assert_eq!(pdol.data_len(), 33);
    let amount = h("000000001000");
    let data = pdol.build(|t| match t.0 {
        0x9F02 => Some(&amount[..]),
        _ => None,
    });
    assert_eq!(data.len(), 33);
    assert_eq!(&data[4..10], &amount[..]);
    assert!(
        data[..4].iter().chain(&data[10..]).all(|&b| b == 0),
        "absent data is zeros"
    );
}

#[test]
fn dol_length_rules_follow_book3_5_4() {
    let dol = Dol::parse(&h("9F02 04 9F02 08 5A 0A 5A 04 9F4E 04 9F4E 06 70 02")).unwrap();
    let amount = h("000000012345");
    let pan = h("4761739001010010FFFF");
    let shorter_pan = h("47617390010100");
    let name = b"SHOP";
    let data = dol.build(|t| match t.0 {
        0x9F02 => Some(&amount[..]),
        0x5A => Some(&pan[..]),
        0x9F4E => Some(&name[..]),
        0x70 => Some(&[1, 2][..]),
        _ => None,
    });
    let mut expected = Vec::new();
    expected.extend(h("00012345")); // n, shorter: keep the rightmost bytes
    expected.extend(h("0000000000012345")); // n, longer: leading zeros
    expected.extend(&pan); // cn, same length
    expected.extend(h("47617390")); // cn, shorter: keep the leftmost bytes
    expected.extend(b"SHOP"); // ans, same
    expected.extend(b"SHOP\0\0"); // ans, longer: trailing zeros
    expected.extend([0, 0]); // constructed: zeros
    assert_eq!(data, expected);
    // cn, longer: trailing FF.
    let dol = Dol::parse(&h("5A 09")).unwrap();
    assert_eq!(dol.build(|_| Some(&shorter_pan[..])), h("47617390010100FFFF"));
    // A caller-supplied format table overrides the dictionary.
    let custom = Dol::parse(&h("DF01 03")).unwrap();
    assert_eq!(
        custom.build_with(|_| Some(&[9][..]), |_| Some(Format::N)),
        [0, 0, 9]
    );
}

#[test]
fn dol_parse_errors() {
    assert_eq!(
        Dol::parse(&h("9F")).unwrap_err().kind,
        ErrorKind::Truncated("tag")
    );
    assert_eq!(Dol::parse(&h("9F02")).unwrap_err().offset, 2);
}

fn arb_node() -> impl Strategy<Value = Node> {
    let prim_tag = prop_oneof![
        (0x41u32..0x5F).prop_filter("low tag", |t| t & 0x1F != 0x1F),
        Just(0x9F02u32),
        Just(0x5F2Au32),
        Just(0xDF8129u32),
    ];
    let leaf = (prim_tag, proptest::collection::vec(any::<u8>(), 0..300))
        .prop_map(|(t, v)| Node::primitive(Tag(t), v));
    leaf.prop_recursive(4, 64, 6, |inner| {
        (
            prop_oneof![Just(0x70u32), Just(0xA5), Just(0xBF0C)],
            proptest::collection::vec(inner, 0..6),
        )
            .prop_map(|(t, c)| Node::constructed(Tag(t), c))
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = validate(&data);
        let _ = primitives(&data);
        let _ = find(&data, Tag(0x9F02));
        let _ = Node::parse_all(&data);
        if let Ok(dol) = Dol::parse(&data) {
            prop_assert_eq!(dol.build(|_| Some(&data[..])).len(), dol.data_len());
        }
    }

    #[test]
    fn encode_then_decode_is_identity(nodes in proptest::collection::vec(arb_node(), 0..4)) {
        let bytes = poskit_tlv::encode_all(&nodes);
        prop_assert_eq!(Node::parse_all(&bytes).unwrap(), nodes);
    }
}

#[test]
fn private_class_tags_read_without_filler() {
    let data = h("FF21 03 9F0600 FF22 00");
    assert!(
        parse(&data).unwrap()[0].tag() != Tag(0xFF21),
        "as card data, FF is filler"
    );
    let tags: Vec<_> = poskit_tlv::parse_without_filler(&data)
        .unwrap()
        .iter()
        .map(|t| t.tag())
        .collect();
    assert_eq!(tags, [Tag(0xFF21), Tag(0xFF22)]);
}
