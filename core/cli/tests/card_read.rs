//! `posctl card read` over every recorded card in tests/fixtures: the
//! readable ones give their application, masked PAN, expiry and scheme;
//! the others exit 1 with a reason.

use std::process::Command;

fn fixture(name: &str) -> String {
    format!(
        "{}/../../tests/fixtures/cards/devnied/{name}.trace",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn read(name: &str) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_posctl"))
        .args(["card", "read", "--transcript", &fixture(name), "--json"])
        .output()
        .expect("posctl runs");
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn readable_cards() {
    // name, first application AID, masked PAN, expiry, scheme
    let cases = [
        (
            "FailPpseVisaAid",
            "A0000000031010",
            "577282******3472",
            Some("2014-08"),
            "Visa",
        ),
        (
            "InteractPpse",
            "A0000002771010",
            "520000******0000",
            Some("2019-11"),
            "Interac",
        ),
        (
            "MasterCardPpse",
            "A0000000421010",
            "559999******9999",
            Some("2015-09"),
            "CB",
        ),
        (
            "MasterCardPpse2",
            "A0000000041010",
            "520000******0000",
            None,
            "Mastercard",
        ),
        (
            "MasterCardPpse3",
            "A0000000041010",
            "520000******0000",
            Some("2019-11"),
            "Mastercard",
        ),
        (
            "VisaCardAid",
            "A0000000031010",
            "400000******0000",
            Some("2014-09"),
            "Visa",
        ),
        (
            "VisaCardNullTransaction",
            "A0000000421010",
            "499999******9999",
            Some("2015-09"),
            "CB",
        ),
        (
            "VisaCardPpse",
            "A0000000421010",
            "499999******9999",
            Some("2015-09"),
            "CB",
        ),
        (
            "VisaCardPpse2",
            "A0000000421010",
            "499999******9999",
            Some("2015-09"),
            "CB",
        ),
        (
            "VisaCardPpse3",
            "A0000000421010",
            "499999******9999",
            Some("2017-06"),
            "CB",
        ),
        (
            "VisaCardPpseNoCplc",
            "A0000000421010",
            "499999******9999",
            Some("2015-09"),
            "CB",
        ),
        (
            "VisaCardPpseNoOptions",
            "A0000000421010",
            "499999******9999",
            Some("2015-09"),
            "CB",
        ),
        (
            "VisaCardPse",
            "A0000000421010",
            "497967******3600",
            Some("2016-02"),
            "CB",
        ),
    ];
    for (name, aid, pan, expiry, scheme) in cases {
        let (code, stdout, stderr) = read(name);
        assert_eq!(code, Some(0), "{name}: {stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["applications"][0]["aid"], aid, "{name}");
        assert_eq!(v["pan"], pan, "{name}");
        assert_eq!(v["expiry"].as_str(), expiry, "{name}");
        assert_eq!(v["scheme"], scheme, "{name}");
        let digits: String = pan.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(
            digits.len(),
            10,
            "{name}: only first 6 and last 4 digits are shown"
        );
    }
    // Co-badged cards list every application, in priority order.
    let v: serde_json::Value = serde_json::from_str(&read("VisaCardPpse").1).unwrap();
    assert_eq!(v["applications"][1]["aid"], "A0000000031010");
    assert_eq!(v["applications"][1]["priority"], 2);
}

#[test]
fn unreadable_cards_exit_1_with_a_reason() {
    for name in [
        "FailErrorCard",
        "GeldKartePpse",
        "LockedCard",
        "UnknownCard",
        "wrapperTestSW_61",
        "wrapperTestSW_6C",
    ] {
        let (code, stdout, stderr) = read(name);
        assert_eq!(code, Some(1), "{name}: {stdout}");
        assert!(stdout.is_empty(), "{name}");
        assert!(stderr.starts_with("error: card not read: "), "{name}: {stderr}");
    }
}

#[test]
fn a_missing_transcript_is_a_bad_argument() {
    let out = Command::new(env!("CARGO_BIN_EXE_posctl"))
        .args(["card", "read", "--transcript", "/nonexistent/file.trace"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--transcript"));
}

#[test]
fn simulate_every_profile() {
    let expected = [
        ("visa-contact", "approved"),
        ("visa-contactless", "approved"),
        ("mastercard-contact", "approved"),
        ("mastercard-contactless", "approved online"),
        ("unionpay-contact", "approved"),
        ("unionpay-qpboc", "approved"),
        ("expired", "approved"),
        ("revoked-capk", "approved"),
        ("bad-cert", "approved"),
        ("offline-decline", "declined"),
        ("online-pin", "approved"),
        ("pulled", "terminated"),
    ];
    for (profile, outcome) in expected {
        let out = Command::new(env!("CARGO_BIN_EXE_posctl"))
            .args(["card", "simulate", "--profile", profile, "--json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{profile}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["outcome"], outcome, "{profile}: {v}");
        for key in ["tvr", "tsi", "cvm", "field55"] {
            assert!(v[key].is_string(), "{profile}: {key}");
        }
        if outcome.starts_with("approved") || outcome == "declined" {
            assert!(v["field55"].as_str().unwrap().starts_with("9F26"), "{profile}");
        }
    }
    // The text form shows the APDU trace and the verification result.
    let out = Command::new(env!("CARGO_BIN_EXE_posctl"))
        .args(["card", "simulate", "--profile", "expired"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("> 00A4040E") || text.contains("> 00A404000E"),
        "{text}"
    );
    assert!(text.contains("expired application"));
    assert!(text.contains("CVM "));
    let out = Command::new(env!("CARGO_BIN_EXE_posctl"))
        .args(["card", "simulate", "--profile", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
