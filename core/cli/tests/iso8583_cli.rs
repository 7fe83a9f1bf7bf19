//! `posctl iso8583 decode|encode` as the issue specifies.

mod common;

use common::posctl;

const MESSAGE: &str = r#"{"tpdu":"6000030000","header":"603100310100","mti":"0200","fields":{"2":"4761739001010010","3":"000000","4":"000000000100","11":"000012","22":"051","23":"001","25":"00","35":"4761739001010010D2512201","41":"12345678","42":"898310012345678","49":"156","55":"9F2608010203040506070895050000008000","60":"22000003000"}}"#;

#[test]
fn encode_then_decode_round_trips() {
    let dir = poskit_store::testing::test_dir("cli-iso8583");
    let file = dir.join("sale.json");
    std::fs::write(&file, MESSAGE).unwrap();
    let (code, hex, err) = posctl(&["iso8583", "encode", "--json", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let hex = hex.trim();
    assert!(
        hex.starts_with("6000030000603100310100" /* TPDU + header */),
        "{hex}"
    );
    assert_eq!(&hex[22..26], "0200");
    let (code, json, err) = posctl(&["iso8583", "decode", hex, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    let want: serde_json::Value = serde_json::from_str(MESSAGE).unwrap();
    assert_eq!(back, want);
    // A bare message from the MTI on.
    let (code, json, _) = posctl(&["iso8583", "decode", &hex[22..], "--json", "--no-header"]);
    assert_eq!(code, Some(0));
    let bare: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(bare["mti"], "0200");
    assert!(bare.get("tpdu").is_none());
    // The readable form names the fields.
    let (_, text, _) = posctl(&["iso8583", "decode", hex]);
    assert!(
        text.contains("system trace audit number") && text.contains("000012"),
        "{text}"
    );
    std::fs::remove_file(file).unwrap();
}

#[test]
fn bad_input_names_the_problem() {
    let (code, _, err) = posctl(&["iso8583", "decode", "60000300006031003101000200FFFF"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("HEX"), "{err}");
    let (code, _, err) = posctl(&["iso8583", "decode", "0200", "--no-header"]);
    assert_eq!(code, Some(2), "{err}");
    let dir = poskit_store::testing::test_dir("cli-iso8583-bad");
    let file = dir.join("bad.json");
    std::fs::write(&file, r#"{"mti":"0200","fields":{"4":"12AB"}}"#).unwrap();
    let (code, _, err) = posctl(&["iso8583", "encode", "--json", file.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("field 4"), "{err}");
}
