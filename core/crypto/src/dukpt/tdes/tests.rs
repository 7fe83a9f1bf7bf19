use super::*;
use crate::mac::{Padding, retail_mac};
use crate::pin::{Pan, Pin, PinBlockFormat, decrypt_pin_block, encrypt_pin_block};
use crate::random::FixedRandom;
use hex::decode as h;
use proptest::prelude::*;

/// ANSI X9.24-1:2009 Annex A test BDK and initial KSN.
const BDK: &str = "0123456789ABCDEFFEDCBA9876543210";
const INITIAL_KSN: &str = "FFFF9876543210E00000";

fn bdk() -> SymmetricKey {
    SymmetricKey::tdes(&h(BDK).unwrap()).unwrap()
}

fn upper(key: &SymmetricKey) -> String {
    hex::encode_upper(key.expose_secret())
}

/// X9.24-1:2009 Annex A: for each KSN, the PIN encryption key, the request
/// MAC key, and PIN 1234 / PAN 4012345678909 enciphered as a format 0
/// block. The annex is paywalled; the same rows are quoted by public DUKPT
/// implementations' test suites (e.g. the "DUKPT2000" verify table in a
/// public Python DUKPT module, and moov-io/dukpt pkg/des/des_test.go).
#[rustfmt::skip]
const ANNEX_A: &[(&str, &str, &str, &str)] = &[
    ("FFFF9876543210E00001", "042666B49184CF5C68DE9628D0397B36", "042666B4918430A368DE9628D03984C9", "1B9C1845EB993A7A"),
    ("FFFF9876543210E00002", "C46551CEF9FD244FAA9AD834130D3B38", "C46551CEF9FDDBB0AA9AD834130DC4C7", "10A01C8D02C69107"),
    ("FFFF9876543210E00003", "0DF3D9422ACA561A47676D07AD6BAD05", "0DF3D9422ACAA9E547676D07AD6B52FA", "18DC07B94797B466"),
    ("FFFF9876543210E00004", "279C0F6AEED0BE9A2B2C733E1383AE6E", "279C0F6AEED041652B2C733E13835191", "0BC79509D5645DF7"),
    ("FFFF9876543210E00005", "5F8DC6D2C845C1DA508DDC048093B8C0", "5F8DC6D2C8453E25508DDC048093473F", "5BC0AF22AD87B327"),
    ("FFFF9876543210E00006", "5E415CB0BAF9F0C3D0C14B63FB62FFBC", "5E415CB0BAF90F3CD0C14B63FB620043", "A16DF70AE36158D8"),
    ("FFFF9876543210E00007", "0C8F780B7C8B492FAE84A9EB2A6CE69F", "0C8F780B7C8BB6D0AE84A9EB2A6C1960", "27711C16CB257F8E"),
    ("FFFF9876543210E00008", "27F66D5244FF621EAA6F6120EDEB427F", "27F66D5244FF9DE1AA6F6120EDEBBD80", "50E55547A5027551"),
    ("FFFF9876543210E00009", "27E31064FDC565968900E2057F658E81", "27E31064FDC59A698900E2057F65717E", "536CF7F678ACFC8D"),
    ("FFFF9876543210E0000A", "6CF2500A22507C83C776CEADC1E330EB", "6CF2500A2250837CC776CEADC1E3CF14", "EDABBA23221833FE"),
    ("FFFF9876543210E0000B", "3E8260BA04B2D6DFC01482B3819A1848", "3E8260BA04B22920C01482B3819AE7B7", "2328981C57B4BDBA"),
    ("FFFF9876543210E0000C", "B716E1E11CF53D7F726CAEE75C3A62B0", "B716E1E11CF5C280726CAEE75C3A9D4F", "038D03CC926CF286"),
    ("FFFF9876543210E0000D", "E072EDF9534053A0B6C581C58FBF25CC", "E072EDF95340AC5FB6C581C58FBFDA33", "6C8AA97088B62C68"),
    ("FFFF9876543210E0000E", "A80046087F5B8FDB5AAD95E1842908B0", "A80046087F5B70245AAD95E18429F74F", "F17C9E1D72CD4950"),
    ("FFFF9876543210E0000F", "93DD5B956C4878B82E453AAEFD32A555", "93DD5B956C4887472E453AAEFD325AAA", "B170F6E7F7F2F64A"),
    ("FFFF9876543210E00010", "59598DCBD9BD943F94165CE453585FA8", "59598DCBD9BD6BC094165CE45358A057", "D5D9638559EF53D6"),
    ("FFFF9876543210E00011", "2B5F01F4F0CC0515639D523231BF1B5D", "2B5F01F4F0CCFAEA639D523231BFE4A2", "D544F8CDD292C863"),
    ("FFFF9876543210E00012", "9CF640F279C2AE1915F725EEEAC2CB50", "9CF640F279C251E615F725EEEAC234AF", "7A21BD10F36DC41D"),
    ("FFFF9876543210E00013", "C3DF489FDF11534BF03DE97C27DC4CD0", "C3DF489FDF11ACB4F03DE97C27DCB32F", "78649BD17D0DFA60"),
    ("FFFF9876543210E00014", "658488507721B30E4737FA93F923CB2D", "6584885077214CF14737FA93F92334D2", "7E7E16EA0C31AD56"),
    ("FFFF9876543210E00015", "E161D1956A61F62DF37AFD7F9CC36965", "E161D1956A6109D2F37AFD7F9CC3969A", "72105C22EBC791E6"),
    ("FFFF9876543210E10000", "2F9A0C0B46ECCBA1F8287A7A071AF54B", "2F9A0C0B46EC345EF8287A7A071A0AB4", "19776D96D73AF1E2"),
    ("FFFF9876543210E20000", "DEFDE0EA1043B58D2FA013DE6C4B8F04", "DEFDE0EA10434A722FA013DE6C4B70FB", "83F14581B8946B2D"),
    ("FFFF9876543210E40000", "9F59E8536BDB056513C856FCCF9A0981", "9F59E8536BDBFA9A13C856FCCF9AF67E", "96B3ADCBF9F5219C"),
    ("FFFF9876543210E80000", "87B9983D9D23047A8D199F5CA0C3DEEC", "87B9983D9D23FB858D199F5CA0C32113", "1E0F453FD55FCE45"),
    ("FFFF9876543210EFF800", "F9CDFEBF4F5B1D61B3EC12454527E189", "F9CDFEBF4F5BE29EB3EC124545271E76", "33365F5CC6F23C35"),
    ("FFFF9876543210EFF801", "5BEE92627E9782A3911BF619DF72CAC4", "5BEE92627E977D5C911BF619DF72353B", "3A86BF003F835C9D"),
    ("FFFF9876543210EFF802", "64CA2F8AB93F614F1620B00BF77C73FE", "64CA2F8AB93F9EB01620B00BF77C8C01", "3DB977D05C36DF3F"),
    ("FFFF9876543210EFF804", "35A168695B3BA8CC07E871C42021DDC8", "35A168695B3B573307E871C420212237", "BA83243305712099"),
    ("FFFF9876543210EFF808", "12C380FCB72ED33D6FC6079AF63F4778", "12C380FCB72E2CC26FC6079AF63FB887", "B0DA04AC90A36D85"),
    ("FFFF9876543210EFF810", "D8007C833A1E3CB6C6889B97A68C5400", "D8007C833A1EC349C6889B97A68CABFF", "2CF02BD9C309EEDA"),
    ("FFFF9876543210EFF820", "A9C9FF9B735FDDB6591F296B0BF0FD8F", "A9C9FF9B735F2249591F296B0BF00270", "9D1E2F77AEEE81C6"),
    ("FFFF9876543210EFF840", "0E3E221062CB5EFCA384602783A00405", "0E3E221062CBA103A384602783A0FBFA", "40870B0F8BA2011C"),
    ("FFFF9876543210EFF880", "CA8225C587124D04B87F279C0BE297D8", "CA8225C58712B2FBB87F279C0BE26827", "22E340D6ABB40981"),
    ("FFFF9876543210EFF900", "906AAC1751D497E5144D52C76C6E1F68", "906AAC1751D4681A144D52C76C6EE097", "1A4C10AFBA03A430"),
    ("FFFF9876543210EFFA00", "2B9E2CE7C27503C8E10B54D2989EA650", "2B9E2CE7C275FC37E10B54D2989E59AF", "849763B43E5F9CFF"),
    ("FFFF9876543210EFFC00", "F9430DF97508246EC77BE4EF4FDB9111", "F9430DF97508DB91C77BE4EF4FDB6EEE", "DEFC6F09F8927B71"),
    ("FFFF9876543210F00000", "AA4D58DB653EC7B548C75F2F047DD24A", "AA4D58DB653E384A48C75F2F047D2DB5", "73EC88AD0AC5830E"),
];

fn annex_pin_block(pin_key: &SymmetricKey) -> Vec<u8> {
    let pin = Pin::new("1234").unwrap();
    let pan = Pan::new("4012345678909").unwrap();
    encrypt_pin_block(
        pin_key,
        PinBlockFormat::Iso0,
        &pin,
        Some(&pan),
        &mut FixedRandom(vec![]),
    )
    .unwrap()
}

#[test]
fn ipek_x9_24_annex_a() {
    let ipek = ipek(&bdk(), &h(INITIAL_KSN).unwrap()).unwrap();
    assert_eq!(upper(&ipek), "6AC292FAA1315B4D858AB3A3D7D5933A");
}

#[test]
fn host_side_keys_and_pin_blocks_match_annex_a() {
    for &(ksn, pin_key_hex, mac_key_hex, epb) in ANNEX_A {
        let ksn = h(ksn).unwrap();
        let pin_key = pin_key(&bdk(), &ksn).unwrap();
        assert_eq!(
            upper(&pin_key),
            pin_key_hex,
            "PIN key, KSN {}",
            hex::encode_upper(&ksn)
        );
        assert_eq!(upper(&mac_request_key(&bdk(), &ksn).unwrap()), mac_key_hex);
        assert_eq!(hex::encode_upper(annex_pin_block(&pin_key)), epb);
    }
}

#[test]
fn first_encrypted_pin_block_decrypts_to_the_pin() {
    // Annex A, counter 1: 1B9C1845EB993A7A under the DUKPT PIN key.
    let key = pin_key(&bdk(), &h("FFFF9876543210E00001").unwrap()).unwrap();
    let block = annex_pin_block(&key);
    assert_eq!(hex::encode_upper(&block), "1B9C1845EB993A7A");
    let pan = Pan::new("4012345678909").unwrap();
    let pin = decrypt_pin_block(&key, PinBlockFormat::Iso0, &block, Some(&pan)).unwrap();
    assert_eq!(pin.expose_secret(), "1234");
}

/// Transaction keys and the MAC and data keys' use on the annex message
/// "4012345678909D987" for the first five counters, as moov-io/dukpt's
/// tests (pkg/des/des_test.go, "A.4.2 Initial Sequence") quote them:
/// (KSN, transaction key, request data enciphered TDES-CBC with zero IV
/// after zero padding, response data likewise, request MAC, response MAC).
const SEQUENCE: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "FFFF9876543210E00001",
        "042666B49184CFA368DE9628D0397BC9",
        "FC0D53B7EA1FDA9EE68AAF2E70D9B9506229BE2AA993F04F",
        "1FCC89AF66222F27B903898BB2BC8589CDBFDE5EC6AFCC25",
        "9CCC78173FC4FB64",
        "20364223C1FF00FA",
    ),
    (
        "FFFF9876543210E00002",
        "C46551CEF9FD24B0AA9AD834130D3BC7",
        "A2B4E70F846E63D68775B7215EB4563DFD3037244C61CC13",
        "5B692A6B1FDD5E25B0DEFAFDE1672E402F8011360CFF3508",
        "F608A9BCA6FFC311",
        "D1FCA6BEF05D24D2",
    ),
    (
        "FFFF9876543210E00003",
        "0DF3D9422ACA56E547676D07AD6BADFA",
        "BD751E65F10E75B6C1D5B1D283496A36C2DE21D993C387A7",
        "345992D4163E4926C927BFD8ABD5D76F087A9CE81D5A27B8",
        "20B59A4FEAC937E3",
        "BAD4CC9CC2AE326C",
    ),
    (
        "FFFF9876543210E00004",
        "279C0F6AEED0BE652B2C733E1383AE91",
        "1118F50947441BBDA3C8C70220021A12EC31CC473F7215F4",
        "418C7413576C0D1819E785D3807AF32334231FDEC23414DB",
        "C7BFA6CC44161828",
        "1EB08AEECE6FF0C2",
    ),
    (
        "FFFF9876543210E00005",
        "5F8DC6D2C845C125508DDC048093B83F",
        "9FD7BD1EC28845ACA93367A9DA9317BD555C6B33AE22D365",
        "7D4C109E49E83355A556AE949EED359F4404E7A2F0167C00",
        "0202B96339022058",
        "5CBE3E81D1D2A0FB",
    ),
];

#[test]
fn transaction_mac_and_data_keys_match_the_initial_sequence() {
    let message = b"4012345678909D987";
    let mut padded = message.to_vec();
    padded.resize(24, 0);
    for &(ksn, current, data_req, data_resp, mac_req, mac_resp) in SEQUENCE {
        let ksn = h(ksn).unwrap();
        let key = transaction_key(&bdk(), &ksn).unwrap();
        assert_eq!(upper(&key), current);

        let iv = [0u8; 8];
        let enc = |k: SymmetricKey| hex::encode_upper(k.encrypt_cbc(&iv, &padded).unwrap());
        assert_eq!(enc(data_request_key(&bdk(), &ksn).unwrap()), data_req);
        assert_eq!(enc(data_response_key(&bdk(), &ksn).unwrap()), data_resp);

        // ANSI X9.19 (ISO 9797-1 algorithm 3), zero padding.
        let mac = |k: SymmetricKey| hex::encode_upper(retail_mac(&k, message, Padding::Method1).unwrap());
        assert_eq!(mac(mac_request_key(&bdk(), &ksn).unwrap()), mac_req);
        assert_eq!(mac(mac_response_key(&bdk(), &ksn).unwrap()), mac_resp);
    }
}

#[test]
fn data_variant_is_the_variant_encrypted_under_itself() {
    // Independent of the tables: XOR the data-request constant, then
    // encrypt each half under the result (X9.24-1:2009 A.6).
    let ksn = h("FFFF9876543210E00001").unwrap();
    let mut variant = transaction_key(&bdk(), &ksn).unwrap().expose_secret().to_vec();
    variant[5] ^= 0xFF;
    variant[13] ^= 0xFF;
    assert_eq!(hex::encode_upper(&variant), "042666B4917BCFA368DE9628D0C67BC9");
    let variant_key = SymmetricKey::tdes(&variant).unwrap();
    let expected = variant_key.encrypt_ecb(&variant).unwrap();
    assert_eq!(
        data_request_key(&bdk(), &ksn).unwrap().expose_secret(),
        &expected[..]
    );
}

#[test]
fn terminal_follows_annex_a_for_the_first_transactions() {
    let ipek = ipek(&bdk(), &h(INITIAL_KSN).unwrap()).unwrap();
    let mut terminal = Terminal::new(&ipek, &h(INITIAL_KSN).unwrap()).unwrap();
    for &(ksn, pin_key_hex, mac_key_hex, epb) in &ANNEX_A[..21] {
        assert_eq!(hex::encode_upper(terminal.ksn()), ksn);
        let txn = terminal.next_transaction().unwrap();
        assert_eq!(hex::encode_upper(txn.ksn), ksn);
        let pin_key = txn.variant(KeyVariant::Pin).unwrap();
        assert_eq!(upper(&pin_key), pin_key_hex);
        assert_eq!(upper(&txn.variant(KeyVariant::MacRequest).unwrap()), mac_key_hex);
        assert_eq!(hex::encode_upper(annex_pin_block(&pin_key)), epb);
    }
}

#[test]
fn terminal_and_host_agree_and_skip_counters_with_eleven_one_bits() {
    let ksn0 = h(INITIAL_KSN).unwrap();
    let ipek = ipek(&bdk(), &ksn0).unwrap();
    let mut terminal = Terminal::new(&ipek, &ksn0).unwrap();
    let mut previous = 0;
    loop {
        let txn = terminal.next_transaction().unwrap();
        let count = counter(&txn.ksn).unwrap();
        assert!(count > previous && count.count_ones() <= 10);
        if count.count_ones() <= 2 || count % 97 == 0 {
            assert_eq!(txn.key, transaction_key_from_ipek(&ipek, &txn.ksn).unwrap());
        }
        if previous == 0x7FE {
            // 0x7FF has eleven one-bits: the device jumps to 0x800.
            assert_eq!(count, 0x800);
            break;
        }
        previous = count;
    }
}

#[test]
fn terminal_runs_out_after_the_last_counter() {
    // A device loaded near the end: reach it by starting from an IPEK and
    // checking the exhaustion error rather than walking a million steps.
    let ksn0 = h(INITIAL_KSN).unwrap();
    let ipek = ipek(&bdk(), &ksn0).unwrap();
    let mut terminal = Terminal::new(&ipek, &ksn0).unwrap();
    terminal.set_counter(1 << COUNTER_BITS);
    assert_eq!(
        terminal.next_transaction().unwrap_err(),
        CryptoError::KeysExhausted
    );
}

#[test]
fn terminal_debug_hides_future_keys() {
    let ksn0 = h(INITIAL_KSN).unwrap();
    let ipek = ipek(&bdk(), &ksn0).unwrap();
    let terminal = Terminal::new(&ipek, &ksn0).unwrap();
    let shown = format!("{terminal:?}");
    assert!(shown.contains("21 loaded, redacted"), "{shown}");
    // The bit-0 register holds the counter-1 key, 042666B4...: neither its
    // hex nor its decimal bytes may appear.
    assert!(!shown.to_uppercase().contains("042666"), "{shown}");
    assert!(!shown.contains("4, 38, 102"), "{shown}");
}

#[test]
fn ksn_and_key_errors_say_what_is_wrong() {
    let ksn = |s: &str| h(s).unwrap();
    assert_eq!(counter(&ksn("FFFF9876543210E00001")).unwrap(), 1);
    assert_eq!(counter(&ksn("FFFF9876543210FFC000")).unwrap(), 0x1FC000);
    assert!(
        matches!(counter(&ksn("FFFF9876543210E000")), Err(CryptoError::Ksn(m)) if m.contains("10 bytes"))
    );
    assert!(matches!(counter(&ksn("FFFF9876543210E00000")), Err(CryptoError::Ksn(m)) if m.contains("zero")));
    // 0x0007FF has eleven one-bits.
    assert!(
        matches!(counter(&ksn("FFFF9876543210E007FF")), Err(CryptoError::Ksn(m)) if m.contains("10 one-bits"))
    );
    assert!(pin_key(&bdk(), &ksn("FFFF9876543210E007FF")).is_err());

    let single = SymmetricKey::des(&[1; 8]).unwrap();
    let triple = SymmetricKey::tdes(&[1; 24]).unwrap();
    assert!(matches!(
        ipek(&single, &ksn(INITIAL_KSN)),
        Err(CryptoError::WrongAlgorithm { .. })
    ));
    assert!(matches!(
        ipek(&triple, &ksn(INITIAL_KSN)),
        Err(CryptoError::WrongAlgorithm { .. })
    ));
    assert!(Terminal::new(&bdk(), &ksn("FFFF9876543210E00001")).is_err());
}

proptest! {
    #[test]
    fn arbitrary_ksns_never_panic(
        ksn in proptest::collection::vec(any::<u8>(), 0..14),
        key in proptest::collection::vec(any::<u8>(), 16..17),
    ) {
        let bdk = SymmetricKey::tdes(&key).unwrap();
        let _ = ipek(&bdk, &ksn);
        let _ = counter(&ksn);
        for variant in [KeyVariant::Pin, KeyVariant::MacResponse, KeyVariant::DataRequest] {
            if let Ok(k) = working_key(&bdk, &ksn, variant) {
                prop_assert_eq!(k.len(), 16);
            }
        }
        let _ = Terminal::new(&bdk, &ksn).map(|mut t| t.next_transaction());
    }
}

#[test]
#[ignore = "walks all 1.1 million TDES DUKPT transactions; run with --ignored"]
fn terminal_reaches_every_annex_a_row() {
    let ksn0 = h(INITIAL_KSN).unwrap();
    let ipek = ipek(&bdk(), &ksn0).unwrap();
    let mut terminal = Terminal::new(&ipek, &ksn0).unwrap();
    let mut rows = ANNEX_A.iter().peekable();
    let mut used = 0u32;
    loop {
        let txn = match terminal.next_transaction() {
            Ok(txn) => txn,
            Err(CryptoError::KeysExhausted) => break,
            Err(other) => panic!("{other}"),
        };
        used += 1;
        if let Some(&&(ksn, pin_key_hex, _, _)) = rows.peek() {
            if hex::encode_upper(txn.ksn) == ksn {
                assert_eq!(
                    upper(&txn.variant(KeyVariant::Pin).unwrap()),
                    pin_key_hex,
                    "{ksn}"
                );
                rows.next();
            }
        }
    }
    assert!(rows.next().is_none(), "the device skipped an Annex A KSN");
    // Counters of 1 to 10 one-bits among 21: sum of C(21, k), k = 1..=10.
    assert_eq!(used, 1_048_575);
}
