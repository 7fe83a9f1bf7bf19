//! `posctl qr` as a user runs it: published codes, exit codes, JSON with
//! every value as the string it is in the code.

mod common;

use common::posctl;

/// The EMVCo MPM appendix example, CRC A13A.
const EMVCO_EXAMPLE: &str = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678\
520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京\
540523.7253031565502016233030412340603***0708A60086670902ME\
91320016A0112233449988770708123456786304A13A";

#[test]
fn decode_names_the_objects_and_checks_the_crc() {
    let (code, out, err) = posctl(&["qr", "decode", EMVCO_EXAMPLE]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("transaction amount") && out.contains("23.72"),
        "{out}"
    );
    assert!(
        out.contains("  01  merchant name, alternate language") && out.contains("最佳运输"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("CRC valid (A13A)"), "{out}");

    let (code, json, err) = posctl(&["qr", "decode", EMVCO_EXAMPLE, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["crc"]["valid"], true);
    let objects = &doc["objects"];
    assert_eq!(objects["54"], "23.72");
    assert_eq!(objects["53"], "156");
    assert_eq!(objects["29"]["00"], "D15600000000");
    assert_eq!(objects["62"]["06"], "***");
    assert_eq!(objects["64"]["01"], "最佳运输");
    assert_eq!(objects["63"], "A13A");
}

#[test]
fn a_damaged_code_exits_1_with_the_reason() {
    let damaged = EMVCO_EXAMPLE.replace("540523.72", "540593.72");
    let (code, out, err) = posctl(&["qr", "decode", &damaged]);
    assert_eq!(code, Some(1));
    assert!(out.contains("CRC NOT valid: the code says A13A"), "{out}");
    assert!(
        err.contains("data object 63 (CRC): the code says A13A but its content computes to"),
        "{err}"
    );
    let (code, json, _) = posctl(&["qr", "decode", &damaged, "--json"]);
    assert_eq!(code, Some(1));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (doc["valid"].as_bool(), doc["crc"]["valid"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(doc["objects"]["54"], "93.72");

    let (code, _, err) = posctl(&["qr", "decode", "000201540X"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("data object 54 (transaction amount): the length must be two digits"),
        "{err}"
    );
}

#[test]
fn encode_orders_objects_and_computes_the_crc() {
    let dir = poskit_store::testing::test_dir("cli-qr-encode");
    let file = dir.join("order.json");
    // Out of order, with a stale CRC: the encoder sorts and recomputes.
    std::fs::write(
        &file,
        r#"{"54":"88.80","26":{"01":"1234","00":"A000000333"},"00":"01","52":"5812","53":"156",
            "58":"CN","59":"NOODLE HOUSE","60":"SHANGHAI","62":{"01":"ORDER0001"},"63":"FFFF","01":"12"}"#,
    )
    .unwrap();
    let (code, out, err) = posctl(&["qr", "encode", "--json", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let encoded = out.trim();
    assert!(encoded.starts_with("000201010212262200"), "{encoded}");
    assert!(
        encoded.contains("540588.80") && encoded.contains("62130109ORDER0001"),
        "{encoded}"
    );
    assert!(!encoded.ends_with("FFFF"), "{encoded}");
    let (code, json, err) = posctl(&["qr", "decode", encoded, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["objects"]["26"]["01"], "1234");

    // decode --json output is encode input: the same code comes back.
    std::fs::write(&file, &json).unwrap();
    let (code, again, _) = posctl(&["qr", "encode", "--json", file.to_str().unwrap()]);
    assert_eq!((code, again.trim()), (Some(0), encoded));

    std::fs::write(&file, r#"{"54": 88.8}"#).unwrap();
    let (code, _, err) = posctl(&["qr", "encode", "--json", file.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("data object 54 (transaction amount): give the value as a string"),
        "{err}"
    );
    std::fs::remove_file(file).unwrap();
}

#[test]
fn classify_names_the_wallet_or_says_why_not() {
    let (code, out, _) = posctl(&["qr", "classify", "134567890123456789"]);
    assert_eq!(
        (code, out.trim()),
        (Some(0), "WeChat Pay payment code 13************6789")
    );
    let (code, out, _) = posctl(&["qr", "classify", "6212345678901234567"]);
    assert_eq!(
        (code, out.trim()),
        (Some(0), "UnionPay QR payment code 62*************4567")
    );
    let (code, _, err) = posctl(&["qr", "classify", "2512345678901"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("Alipay payment codes are 16 to 24 digits; this one has 13"),
        "{err}"
    );
    assert!(!err.contains("2512345678901"), "{err}");
}

#[test]
fn decode_a_consumer_presented_code_masks_card_data() {
    let (code, out, err) = posctl(&["qr", "decode", "hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF8="]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("A0000000555555") && out.contains("123456******3458"),
        "{out}"
    );
    assert!(!out.contains("1234567890123458"), "{out}");
}

#[test]
fn render_draws_text_or_a_png() {
    let (code, out, err) = posctl(&["qr", "render", EMVCO_EXAMPLE]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    // Version 9 (53 modules) with the quiet zone, two rows a line.
    assert_eq!(lines[0].chars().count(), 61);
    assert_eq!(lines.len(), 31);
    let dir = poskit_store::testing::test_dir("cli-qr-render");
    let file = dir.join("code.png");
    let (code, out, err) = posctl(&[
        "qr",
        "render",
        EMVCO_EXAMPLE,
        "--png",
        file.to_str().unwrap(),
        "--scale",
        "4",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("244x244 pixels"), "{out}");
    assert!(std::fs::read(&file).unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    std::fs::remove_file(file).unwrap();
    let (code, _, _) = posctl(&["qr", "render", "x", "--png", "/dev/null", "--scale", "0"]);
    assert_eq!(code, Some(2));
}
