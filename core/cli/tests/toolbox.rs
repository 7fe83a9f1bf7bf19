//! The toolbox as a user runs it: real process, real exit codes, published
//! vectors for every command, and bad arguments named on stderr.

use std::process::{Command, Output};

fn posctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_posctl"))
        .args(args)
        .output()
        .expect("posctl runs")
}

/// Runs and expects success; returns stdout without the trailing newline.
fn ok(args: &[&str]) -> String {
    let out = posctl(args);
    assert!(
        out.status.success(),
        "posctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
}

/// Runs and expects exit code 2; returns stderr.
fn bad(args: &[&str]) -> String {
    let out = posctl(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "posctl {args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "nothing on stdout for a bad argument");
    String::from_utf8(out.stderr).unwrap()
}

const TDES: &str = "0123456789ABCDEFFEDCBA9876543210";
const NOW_IS_THE_TIME: &str = "4E6F77206973207468652074696D6520666F7220616C6C20";

#[test]
fn tlv_decode_tree_and_json() {
    let fci = "6f0e8407a0000000031010a503500156";
    let tree = ok(&["tlv", "decode", fci]);
    assert_eq!(
        tree,
        "6F File Control Information (FCI) Template (14 bytes)\n  \
         84 Dedicated File (DF) Name (7 bytes): A0000000031010\n  \
         A5 File Control Information (FCI) Proprietary Template (3 bytes)\n    \
         50 Application Label (1 byte): 56 \"V\""
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&["tlv", "decode", fci, "--json"])).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{"tag": "6F", "len": 14, "children": [
            {"tag": "84", "len": 7, "value": "A0000000031010"},
            {"tag": "A5", "len": 3, "children": [{"tag": "50", "len": 1, "value": "56"}]}
        ]}])
    );
    let err = bad(&["tlv", "decode", "6F0E8407A0"]);
    assert!(
        err.contains("HEX") && err.contains("byte 0") && err.contains("needs 14"),
        "{err}"
    );
    assert!(bad(&["tlv", "decode", "6G"]).contains("'G' is not a hex digit"));
}

#[test]
fn kcv_for_tdes_des_and_aes() {
    assert_eq!(ok(&["crypto", "kcv", "--key", &TDES.to_lowercase()]), "08D7B4");
    assert_eq!(ok(&["crypto", "kcv", "--key", "0123456789ABCDEF"]), "D5D44F");
    // AES: CMAC of a zero block, 5 bytes.
    assert_eq!(
        ok(&[
            "crypto",
            "kcv",
            "--key",
            "2B7E151628AED2A6ABF7158809CF4F3C",
            "--aes"
        ])
        .len(),
        10
    );
    let err = bad(&["crypto", "kcv", "--key", "0123456789"]);
    assert!(err.contains("--key") && err.contains("5 bytes"), "{err}");
    assert!(!err.contains("0123456789"), "the key is not echoed: {err}");
}

#[test]
fn pin_blocks_clear_encrypted_and_dukpt() {
    let pan = "4012345678909";
    assert_eq!(
        ok(&[
            "crypto", "pinblock", "encode", "--format", "0", "--pin", "1234", "--pan", pan
        ]),
        "041274EDCBA9876F"
    );
    // X9.24-1 Annex A: first transaction's encrypted PIN block.
    let dukpt = ["--dukpt-bdk", TDES, "--ksn", "FFFF9876543210E00001"];
    let args = [
        &[
            "crypto", "pinblock", "encode", "--format", "0", "--pin", "1234", "--pan", pan,
        ][..],
        &dukpt,
    ]
    .concat();
    assert_eq!(ok(&args), "1B9C1845EB993A7A");
    for format in ["0", "1", "3"] {
        let block = ok(&[
            "crypto", "pinblock", "encode", "--format", format, "--pin", "98765", "--pan", pan, "--key", TDES,
        ]);
        assert_eq!(block.len(), 16);
        let pin = ok(&[
            "crypto", "pinblock", "decode", "--format", format, "--block", &block, "--pan", pan, "--key",
            TDES,
        ]);
        assert_eq!(pin, "98765");
    }
    let aes = "00112233445566778899AABBCCDDEEFF";
    let block = ok(&[
        "crypto", "pinblock", "encode", "--format", "4", "--pin", "1234", "--pan", pan, "--key", aes,
    ]);
    assert_eq!(block.len(), 32);
    assert_eq!(
        ok(&[
            "crypto", "pinblock", "decode", "--format", "4", "--block", &block, "--pan", pan, "--key", aes
        ]),
        "1234"
    );
    // AES DUKPT, X9.24-3 vectors: BDK FEDC..F1F1, initial key id 1234567890123456.
    let block = ok(&[
        "crypto",
        "pinblock",
        "encode",
        "--format",
        "4",
        "--pin",
        "1234",
        "--pan",
        pan,
        "--dukpt-bdk",
        "FEDCBA9876543210F1F1F1F1F1F1F1F1",
        "--ksn",
        "123456789012345600000001",
        "--aes",
    ]);
    assert_eq!(block.len(), 32);
    assert_eq!(
        ok(&[
            "crypto",
            "pinblock",
            "decode",
            "--format",
            "1",
            "--block",
            "141234FFFFFFFFFF"
        ]),
        "1234"
    );

    assert!(
        bad(&[
            "crypto", "pinblock", "encode", "--format", "2", "--pin", "1234", "--pan", pan
        ])
        .contains("--format")
    );
    assert!(
        bad(&[
            "crypto", "pinblock", "encode", "--format", "0", "--pin", "12", "--pan", pan
        ])
        .contains("--pin")
    );
    assert!(bad(&["crypto", "pinblock", "encode", "--format", "0", "--pin", "1234"]).contains("--pan"));
    assert!(
        bad(&[
            "crypto",
            "pinblock",
            "encode",
            "--format",
            "4",
            "--pin",
            "1234",
            "--pan",
            pan,
            "--key",
            TDES.get(..30).unwrap()
        ])
        .contains("--key")
    );
    // A block under the wrong key is refused, not decoded into a random PIN.
    let err = bad(&[
        "crypto",
        "pinblock",
        "decode",
        "--format",
        "0",
        "--block",
        "1B9C1845EB993A7A",
        "--pan",
        pan,
        "--key",
        TDES,
    ]);
    assert!(err.contains("--block"), "{err}");
}

#[test]
fn macs() {
    assert_eq!(
        ok(&[
            "crypto",
            "mac",
            "--alg",
            "retail",
            "--key",
            TDES,
            "--data",
            NOW_IS_THE_TIME
        ]),
        "A1C72E74EA3FA9B6"
    );
    assert_eq!(
        ok(&[
            "crypto",
            "mac",
            "--alg",
            "retail",
            "--key",
            TDES,
            "--data",
            NOW_IS_THE_TIME,
            "--padding",
            "2"
        ]),
        "E9086230CA3BE796"
    );
    assert_eq!(
        ok(&[
            "crypto",
            "mac",
            "--alg",
            "cmac",
            "--key",
            "2B7E151628AED2A6ABF7158809CF4F3C",
            "--data",
            "6BC1BEE22E409F96E93D7E117393172A"
        ]),
        "070A16B46B4D4144F79BDD9DD04A287C"
    );
    // UnionPay ECB MAC: the 8 ASCII bytes of field 64 ("8A9E91B8"), in hex.
    let mab = "0200302004C020C0981100000000000000005100183402100006324392260009942820D1312101120084393136363838303134303030303030303030303030303031313536ACF46E73838A82F92600000000000000000822000001";
    assert_eq!(
        ok(&[
            "crypto",
            "mac",
            "--alg",
            "cup-ecb",
            "--key",
            "C24A8FB57AA20123",
            "--data",
            mab
        ]),
        hex::encode_upper("8A9E91B8")
    );
    assert!(
        bad(&[
            "crypto",
            "mac",
            "--alg",
            "retail",
            "--key",
            "0123456789ABCDEF",
            "--data",
            "00"
        ])
        .contains("--key")
    );
    assert!(
        bad(&[
            "crypto",
            "mac",
            "--alg",
            "retail",
            "--key",
            TDES,
            "--data",
            "00",
            "--padding",
            "3"
        ])
        .contains("--padding")
    );
    assert!(bad(&["crypto", "mac", "--alg", "sha", "--key", TDES, "--data", "00"]).contains("--alg"));
}

#[test]
fn dukpt_keys() {
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "crypto",
        "dukpt",
        "--bdk",
        TDES,
        "--ksn",
        "FFFF9876543210E00001",
        "--json",
    ]))
    .unwrap();
    assert_eq!(json["initial_key"], "6AC292FAA1315B4D858AB3A3D7D5933A");
    assert_eq!(json["transaction_key"], "042666B49184CFA368DE9628D0397BC9");
    assert_eq!(json["pin_key"], "042666B49184CF5C68DE9628D0397B36");
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "crypto",
        "dukpt",
        "--bdk",
        "FEDCBA9876543210F1F1F1F1F1F1F1F1",
        "--ksn",
        "123456789012345600000001",
        "--aes",
        "--json",
    ]))
    .unwrap();
    assert_eq!(json["initial_key"], "1273671EA26AC29AFA4D1084127652A1");
    assert_eq!(json["transaction_key"], "4F21B565BAD9835E112B6465635EAE44");
    assert_eq!(json["pin_key"], "AF8CB133A78F8DC2D1359F18527593FB");
    assert!(bad(&["crypto", "dukpt", "--bdk", TDES, "--ksn", "FFFF9876543210E000"]).contains("--ksn"));
    assert!(bad(&["crypto", "dukpt", "--bdk", TDES, "--ksn", "FFFF9876543210E00000"]).contains("--ksn"));
}

#[test]
fn emv_keys_cryptograms_and_arpc() {
    // pyemv's HSM-checked examples (see poskit-crypto's emv tests).
    assert_eq!(
        ok(&[
            "crypto",
            "icc-mk",
            "--option",
            "a",
            "--imk",
            TDES,
            "--pan",
            "12345678901234567",
            "--psn",
            "01"
        ]),
        "73AD54688CEF2934B0979857E3C719F1"
    );
    assert_eq!(
        ok(&[
            "crypto",
            "icc-mk",
            "--option",
            "b",
            "--imk",
            TDES,
            "--pan",
            "12345678901234567",
            "--psn",
            "01"
        ]),
        "AD406D7F6D7570916D75E5DCAB8CF737"
    );
    assert_eq!(
        ok(&[
            "crypto",
            "session-key",
            "--key",
            TDES,
            "--diversifier",
            "001C000000000000"
        ]),
        "E9FB384AF807B940FEDCEA613461B0C4"
    );
    let sk = "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB";
    let cdol = "0000000020000000000000000124000000800001241103090038 04823E58000001".replace(' ', "");
    assert_eq!(
        ok(&["crypto", "ac", "--key", sk, "--data", &cdol]),
        "3B76CF10FECD8789"
    );
    assert_eq!(
        ok(&[
            "crypto",
            "arpc",
            "--method",
            "1",
            "--key",
            sk,
            "--arqc",
            "1234567890ABCDEF",
            "--arc",
            "0000"
        ]),
        "F5E6F44147E2F1B0"
    );
    assert_eq!(
        ok(&[
            "crypto",
            "arpc",
            "--method",
            "2",
            "--key",
            sk,
            "--arqc",
            "1234567890ABCDEF",
            "--csu",
            "00000000"
        ]),
        "9308BEBC"
    );
    assert!(
        bad(&[
            "crypto", "icc-mk", "--option", "a", "--imk", TDES, "--pan", "1234", "--psn", "01"
        ])
        .contains("--pan")
    );
    assert!(
        bad(&[
            "crypto",
            "icc-mk",
            "--option",
            "a",
            "--imk",
            TDES,
            "--pan",
            "12345678901234567",
            "--psn",
            "1"
        ])
        .contains("--psn")
    );
    assert!(
        bad(&["crypto", "session-key", "--key", TDES, "--diversifier", "001C"]).contains("--diversifier")
    );
    assert!(
        bad(&[
            "crypto", "arpc", "--method", "1", "--key", sk, "--arqc", "12", "--arc", "0000"
        ])
        .contains("--arqc")
    );
    assert!(
        bad(&[
            "crypto",
            "arpc",
            "--method",
            "2",
            "--key",
            sk,
            "--arqc",
            "1234567890ABCDEF"
        ])
        .contains("--csu")
    );
    assert!(
        bad(&[
            "crypto",
            "arpc",
            "--method",
            "3",
            "--key",
            sk,
            "--arqc",
            "1234567890ABCDEF"
        ])
        .contains("--method")
    );
}

#[test]
fn rsa_recovery_of_an_issuer_certificate() {
    // Visa test CA key 01 and an issuer certificate signed with it.
    let modulus = "C696034213D7D8546984579D1D0F0EA519CFF8DEFFC429354CF3A871A6F7183F1228DA5C7470C055387100CB935A712C4E2864DF5D64BA93FE7E63E71F25B1E5F5298575EBE1C63AA617706917911DC2A75AC28B251C7EF40F2365912490B939BCA2124A30A28F54402C34AECA331AB67E1E79B285DD5771B5D9FF79EA630B75";
    let cert = "3C5FEAD4DD7BCA44F93E90C44F76EDE54A3288ECDC78469FCB1225C03B2C04F2C2F412281A0822DF14649230989FB1494070DAF8C9534A7881960148616ACE581788120D3506ACE4CEE564FB27EE53341C22F0B45B31873D05DE545EFE33BCD29B2185D035A806AD08C6976F3505A19999930CA8A03EFA321C486061F7DCEC9F";
    let recovered = ok(&[
        "crypto",
        "rsa-recover",
        "--modulus",
        modulus,
        "--exponent",
        "03",
        "--data",
        cert,
    ]);
    // EMV Book 2 table 6: header 6A, format 02 (issuer certificate), trailer BC.
    assert!(
        recovered.starts_with("6A02") && recovered.ends_with("BC"),
        "{recovered}"
    );
    assert_eq!(recovered.len(), modulus.len());
    assert!(
        bad(&[
            "crypto",
            "rsa-recover",
            "--modulus",
            modulus,
            "--exponent",
            "03",
            "--data",
            "00"
        ])
        .contains("--data")
    );
    assert!(
        bad(&[
            "crypto",
            "rsa-recover",
            "--modulus",
            modulus,
            "--exponent",
            "02",
            "--data",
            cert
        ])
        .contains("--exponent")
    );
}

#[test]
fn usage_errors_exit_2() {
    assert!(bad(&["crypto", "kcv"]).contains("--key"));
    assert!(bad(&["frobnicate"]).contains("frobnicate"));
}
