//! The frame around a message, the MAC block, and the UnionPay sub-fields.

use poskit_iso8583::frame::{self, Tpdu};
use poskit_iso8583::sub::{
    Field48, Field60, Field61, Field63, Totals, TypeCode, build_field55, field55_tlvs,
};
use poskit_iso8583::{Message, Value, cup, mac};
use poskit_tlv::Tag;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

#[test]
fn a_frame_is_length_tpdu_header_message() {
    let tpdu = Tpdu {
        destination: [0x00, 0x03],
        source: [0x00, 0x00],
    };
    let header = [0x60, 0x31, 0x00, 0x31, 0x01, 0x00];
    let mut msg = Message::new(800);
    msg.set_digits(11, "000001");
    let message = cup().pack(&msg).unwrap();
    let wire = frame::wrap(&tpdu, &header, &message).unwrap();
    assert_eq!(
        hex::encode_upper(&wire),
        "0018 6000030000 603100310100 0800 0020000000000000 000001".replace(' ', "")
    );

    assert_eq!(frame::split_length(&wire), Some((0x18, 2)));
    assert_eq!(frame::split_length(&wire[..1]), None);
    let f = frame::parse(&wire[2..]).unwrap();
    assert_eq!(f.tpdu, tpdu);
    assert_eq!(f.header, header);
    assert_eq!(cup().unpack(f.message).unwrap(), msg);

    // The host answers with the addresses swapped.
    assert_eq!(tpdu.swapped().to_bytes(), [0x60, 0x00, 0x00, 0x00, 0x03]);
    assert_eq!(tpdu.swapped().swapped(), tpdu);
}

#[test]
fn bad_frames_are_refused() {
    let err = |b: &str| frame::parse(&h(b)).unwrap_err().to_string();
    assert_eq!(err(""), "frame of 0 bytes is shorter than its 5-byte TPDU");
    assert_eq!(
        err("7000030000 603100310100 0800"),
        "TPDU starts with 70, expected 60"
    );
    assert_eq!(err("6000030000 6031"), "frame ends inside its 6-byte header");
    assert_eq!(
        err("6000030000 603100310100"),
        "frame has no message after its header"
    );
    let tpdu = Tpdu {
        destination: [0; 2],
        source: [0; 2],
    };
    let huge = vec![0u8; frame::MAX_MESSAGE_LEN + 1];
    assert!(frame::wrap(&tpdu, &[0; 6], &huge).is_err());
    let wire = frame::wrap(&tpdu, &[0; 6], &huge[1..]).unwrap();
    assert_eq!(frame::split_length(&wire), Some((0xFFFF, 2)));
}

#[test]
fn the_mac_block_runs_from_the_mti_to_field_63() {
    // A sign-in style 0200 in the spec's frame example's dialect, MAC
    // placeholder in field 64 (pack first, MAC the block, then fill in).
    let mut msg = Message::new(200);
    msg.set_digits(3, "000000")
        .set_digits(11, "000001")
        .set_text(41, "12345678")
        .set_text(42, "123456789012345")
        .set_digits(60, "22000001000")
        .set_text(63, "001")
        .set_binary(64, [0u8; 8]);
    let packed = cup().pack(&msg).unwrap();
    // MTI 2 + bitmap 8 + 3 + 3 + 8 + 15 + (2 + 6) + (2 + 3) = 52 bytes before 64.
    assert_eq!(packed.len(), 52 + 8);
    assert_eq!(mac::has_field_64(&packed), Some(true));
    let mab = mac::mab(&packed, true);
    assert_eq!(mab.len(), 52);
    assert_eq!(&mab[..2], [0x02, 0x00]);
    assert_eq!(&mab[mab.len() - 3..], b"001");

    msg.remove(64);
    let packed = cup().pack(&msg).unwrap();
    assert_eq!(mac::has_field_64(&packed), Some(false));
    assert_eq!(mac::mab(&packed, false).len(), 52);
    assert_eq!(mac::mab(&[1, 2, 3], true), &[] as &[u8]);
    assert_eq!(mac::has_field_64(&[0x02]), None);
}

#[test]
fn field_60_splits_into_type_batch_and_network_code() {
    let f = Field60::from_digits("22000001000").unwrap();
    assert_eq!(f.type_code, "22");
    assert_eq!(f.kind(), Some(TypeCode::Sale));
    assert_eq!(f.batch, "000001");
    assert_eq!(f.network_code, "000");
    assert_eq!(f.rest, "");
    assert_eq!(f.to_digits().unwrap(), "22000001000");

    // 60.4 and 60.5 follow in some messages: kept.
    let f = Field60::from_digits("2200000100050").unwrap();
    assert_eq!(f.rest, "50");
    assert_eq!(f.to_digits().unwrap(), "2200000100050");

    let sign_in = Field60::new(TypeCode::Inquiry, "000001", "003");
    assert_eq!(sign_in.to_value().unwrap(), Value::Digits("01000001003".into()));
    assert_eq!(
        Field60::from_digits("2200000").unwrap_err().to_string(),
        "field 60: ends inside 60.2 batch number (6 digits)"
    );
    assert_eq!(
        Field60::from_digits("22000001A00").unwrap_err().to_string(),
        "field 60: character 9 is not a digit"
    );
    let bad = Field60 {
        batch: "1".into(),
        ..sign_in
    };
    assert_eq!(
        bad.to_digits().unwrap_err().to_string(),
        "field 60: 60.2 batch number must be exactly 6 digits"
    );
    assert!(Field60::from_value(None).is_err());
    assert!(Field60::from_value(Some(&Value::Text("22000001000".into()))).is_err());
}

#[test]
fn type_codes_are_the_specs() {
    let codes: Vec<_> = [
        TypeCode::Inquiry,
        TypeCode::PreAuth,
        TypeCode::PreAuthVoid,
        TypeCode::Completion,
        TypeCode::CompletionVoid,
        TypeCode::Sale,
        TypeCode::Void,
        TypeCode::Refund,
        TypeCode::Settlement,
    ]
    .iter()
    .map(|t| t.code())
    .collect();
    assert_eq!(codes, ["01", "10", "11", "20", "21", "22", "23", "25", "30"]);
    assert_eq!(TypeCode::from_code("25"), Some(TypeCode::Refund));
    assert_eq!(TypeCode::from_code("99"), None);
}

#[test]
fn field_61_carries_the_original_transaction() {
    // Refund: batch, STAN and date.
    let f = Field61::from_digits("0000010001230615").unwrap();
    assert_eq!(
        (
            f.original_batch.as_str(),
            f.original_stan.as_str(),
            f.original_date.as_str()
        ),
        ("000001", "000123", "0615")
    );
    assert_eq!(f.to_digits().unwrap(), "0000010001230615");
    // Void: batch and STAN only.
    let f = Field61::from_digits("000001000123").unwrap();
    assert_eq!(f.original_date, "");
    assert_eq!(f.to_digits().unwrap(), "000001000123");
    // Further digits are kept.
    let f = Field61::from_digits("0000010001230615123456").unwrap();
    assert_eq!(f.rest, "123456");
    assert_eq!(f.to_digits().unwrap(), "0000010001230615123456");

    assert_eq!(
        Field61::from_digits("00000100012306").unwrap_err().to_string(),
        "field 61: ends inside 61.3 original date MMDD (4 digits)"
    );
    let orphan = Field61 {
        rest: "1".into(),
        ..Field61::from_digits("000001000123").unwrap()
    };
    assert!(orphan.to_digits().is_err());
}

#[test]
fn field_63_is_a_code_then_free_text() {
    let f = Field63::from_value(Some(&Value::Text("CUP".into()))).unwrap();
    assert_eq!((f.code.as_str(), f.rest.as_slice()), ("CUP", &b""[..]));
    // GBK free text after the code stays bytes.
    let gbk = h("435550 D2F8C1AA");
    let f = Field63::from_value(Some(&Value::TextBytes(gbk.clone()))).unwrap();
    assert_eq!(f.code, "CUP");
    assert_eq!(f.rest, h("D2F8C1AA"));
    assert_eq!(f.rest_text(), None);
    assert_eq!(f.to_value().unwrap(), Value::TextBytes(gbk));
    let f = Field63 {
        code: "01 ".into(),
        rest: b"note".to_vec(),
    };
    assert_eq!(f.rest_text(), Some("note"));
    assert_eq!(f.to_value().unwrap(), Value::Text("01 note".into()));
    assert_eq!(
        Field63::from_bytes(b"CU").unwrap_err().to_string(),
        "field 63: 2 bytes is shorter than 63.1 (an3)"
    );
    assert!(Field63::from_bytes(&h("D2F8C1")).is_err());
    assert!(
        Field63 {
            code: "CUPX".into(),
            rest: vec![]
        }
        .to_bytes()
        .is_err()
    );
}

#[test]
fn field_48_holds_domestic_then_foreign_totals() {
    let totals = Field48 {
        domestic: Totals {
            debit_amount: 123_456,
            debit_count: 12,
            credit_amount: 1_000,
            credit_count: 1,
            result: Totals::NOT_RECONCILED,
        },
        foreign: Totals {
            debit_amount: 999_999_999_999,
            debit_count: 999,
            credit_amount: 0,
            credit_count: 0,
            result: Totals::BALANCED,
        },
    };
    let digits = totals.pack().unwrap();
    assert_eq!(
        digits,
        [
            "000000123456",
            "012",
            "000000001000",
            "001",
            "0", // domestic
            "999999999999",
            "999",
            "000000000000",
            "000",
            "1", // foreign
        ]
        .concat()
    );
    assert_eq!(digits.len(), Field48::LEN);
    assert_eq!(Field48::unpack(&digits).unwrap(), totals);

    // It fits the cup field 48 (n..322, LLLVAR) and round trips there.
    let mut msg = Message::new(500);
    msg.set_digits(48, digits.clone());
    let packed = cup().pack(&msg).unwrap();
    assert_eq!(packed[10..12], [0x00, 0x62]);
    assert_eq!(
        Field48::unpack(cup().unpack(&packed).unwrap().digits(48).unwrap()).unwrap(),
        totals
    );

    let mut over = totals;
    over.domestic.debit_count = 1000;
    assert_eq!(
        over.pack().unwrap_err().to_string(),
        "field 48: domestic debit count does not fit its digits"
    );
    assert_eq!(
        Field48::unpack(&digits[1..]).unwrap_err().to_string(),
        "field 48: settlement totals are 62 digits, got 61"
    );
    assert!(Field48::unpack(&digits.replace('9', "A")).is_err());
}

#[test]
fn field_55_builds_and_reads_icc_data() {
    let arqc = h("0102030405060708");
    let data = build_field55([(Tag(0x9F26), &arqc[..]), (Tag(0x9F27), &[0x80][..])]);
    assert_eq!(data, h("9F2608 0102030405060708 9F2701 80"));
    assert_eq!(
        field55_tlvs(&data).unwrap(),
        vec![(Tag(0x9F26), arqc), (Tag(0x9F27), vec![0x80])]
    );
    // An issuer script template comes back whole.
    let response = h("910A 1122334455667788 3030 7207 9F1804 00000001");
    let tlvs = field55_tlvs(&response).unwrap();
    assert_eq!(tlvs[1], (Tag(0x72), h("9F1804 00000001")));
    let err = field55_tlvs(&h("9F2608 0102")).unwrap_err();
    assert_eq!(err.field, Some(55));
}
