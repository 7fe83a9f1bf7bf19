//! Vectors from the ANSI X9.24-3:2017 supplement "Test Vectors" (ASC X9,
//! 2018-01-29, x9.org), as quoted by public implementations' test suites:
//! the HKDS/DUKPT known-answer tests of the QRCS HKDS C++ library and the
//! test data of a public CyberChef payments fork (X9.24-3 6.3).

use super::*;
use crate::pin::{Pan, Pin, PinBlockFormat, decrypt_pin_block, encrypt_pin_block};
use crate::random::FixedRandom;
use hex::decode as h;
use proptest::prelude::*;

const BDK_128: &str = "FEDCBA9876543210F1F1F1F1F1F1F1F1";
const BDK_256: &str = "FEDCBA9876543210F1F1F1F1F1F1F1F1FEDCBA9876543210F1F1F1F1F1F1F1F1";
const INITIAL_KEY_ID: &str = "1234567890123456";

fn aes(hex: &str) -> SymmetricKey {
    SymmetricKey::aes(&h(hex).unwrap()).unwrap()
}

fn ksn(counter: u32) -> Vec<u8> {
    let mut ksn = h(INITIAL_KEY_ID).unwrap();
    ksn.extend(counter.to_be_bytes());
    ksn
}

fn upper(key: &SymmetricKey) -> String {
    hex::encode_upper(key.expose_secret())
}

#[test]
fn initial_keys() {
    let id = h(INITIAL_KEY_ID).unwrap();
    assert_eq!(
        upper(&initial_key_from_id(&aes(BDK_128), &id).unwrap()),
        "1273671EA26AC29AFA4D1084127652A1"
    );
    assert_eq!(
        upper(&initial_key(&aes(BDK_256), &ksn(1)).unwrap()),
        "CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F"
    );
}

/// (counter, intermediate derivation key, AES PIN encryption key).
const AES128_FROM_AES128: &[(u32, &str, &str)] = &[
    (
        1,
        "4F21B565BAD9835E112B6465635EAE44",
        "AF8CB133A78F8DC2D1359F18527593FB",
    ),
    (
        2,
        "2F34D68DE10F68D38091A73B9E7C437C",
        "D30BDC73EC9714B000BEC66BDB7B6D09",
    ),
    (
        3,
        "031504E530365CF81264238540518318",
        "7D69F01F3B45449F62C7816ECE723268",
    ),
    (
        0xFFFE_4000,
        "396C2C7CA1EA701C03B86B7D41F0C562",
        "6239A27F572DEDB17BCA1AC413EF9FE9",
    ),
    (
        0xFFFE_8000,
        "0387625F189B58AE03EF0E8CCA41105E",
        "F10C1404137A80718FCCE8BD90FF9F67",
    ),
    (
        0xFFFF_0000,
        "F6BA59389BD14A9855BE9727E7C52E3C",
        "27EFAC1D158632588F4AC69E45C247C4",
    ),
];

const AES256_FROM_AES256: &[(u32, &str, &str)] = &[
    (
        1,
        "54AC2B32B145EA4A554CB8BC44B17467063A799856B1CCC2A138D36E8DBF78B3",
        "8C1AB7BEE973829E30242E0BBBDD4946D540C98FC1B5BDCF94790001A23FD502",
    ),
    (
        2,
        "5DD5A0253842BBBE1D7C0DA27021412C6F1FAB53FB928DEAE56DA06090A9DE97",
        "3583D6CD02FC38822CC71A8D7678E04F4A8556335E6CC66863D3DADC5AEE2C62",
    ),
    (
        3,
        "8EEEF7C464AE415BB1D73FAED21993CD669F7999092A579EC6DD3CC680C65171",
        "96A1AB5D37CB7CF81DDE64F66C46E0389B833E7AD5F4E44C791F04FAFDA6DA0E",
    ),
    (
        0xFFFE_4000,
        "FF20E1BB575539ACCB44E3111BE8757F83AE8549A2DD71B441A4A424F7FFD4B1",
        "F388FF9FB1D66E8812BC67CA5B85CE5554063E09A2440EC1AF4EB433CCFBAF35",
    ),
    (
        0xFFFE_8000,
        "630535C9C53E1EC6524016930B56F6728909C45403536B419AEBCB25B7351C07",
        "FAC4E05A67AB1522505CF0E94E5977B99D0E5B116D76ABB6B8A64F0D785FF6DF",
    ),
    (
        0xFFFF_0000,
        "6D6DB7AAAE8B3EA90E57A39E4BBA71E173B21B446B30A78D64BFC6A8806C55EE",
        "88B82556AEF4A681E0687F443A4C4F305AF9203B114470DFC77C7F08BC43F9DA",
    ),
];

#[test]
fn derivation_and_pin_keys_aes128() {
    for &(counter, derivation, pin) in AES128_FROM_AES128 {
        assert_eq!(
            upper(&derivation_key(&aes(BDK_128), &ksn(counter)).unwrap()),
            derivation,
            "{counter:X}"
        );
        assert_eq!(
            upper(&pin_key(&aes(BDK_128), &ksn(counter)).unwrap()),
            pin,
            "{counter:X}"
        );
    }
}

#[test]
fn derivation_and_pin_keys_aes256() {
    for &(counter, derivation, pin) in AES256_FROM_AES256 {
        assert_eq!(
            upper(&derivation_key(&aes(BDK_256), &ksn(counter)).unwrap()),
            derivation,
            "{counter:X}"
        );
        assert_eq!(
            upper(&pin_key(&aes(BDK_256), &ksn(counter)).unwrap()),
            pin,
            "{counter:X}"
        );
    }
}

#[test]
fn more_aes128_counters() {
    // Counters 4 to 8 (derivation keys), the first skipped-bit counter
    // 0x20000 and the "random" 8675309 = 0x845FED (PIN keys).
    let bdk = aes(BDK_128);
    for (counter, derivation) in [
        (4, "0EEFC7ADA628BA68878DA9165A8A1887"),
        (5, "C2A7AC328A5DA2D6002D62465BFC028B"),
        (6, "D30F7D9351DA58448A2F5E92B4EE3B7D"),
        (7, "A8253CEED9AC042C54F75D35C8352278"),
        (8, "718EE6CF0B27E53D5F7AF99C4D8146A2"),
    ] {
        assert_eq!(
            upper(&derivation_key(&bdk, &ksn(counter)).unwrap()),
            derivation,
            "{counter}"
        );
    }
    for (counter, pin) in [
        (8, "4D9DF3FBEE3448FC3E676D04320A90F5"),
        (0x2_0000, "AB828BE7B58C7EC5D5ED0D5D320A0C9D"),
        (0x84_5FED, "D1DDA386AA4A556AF0119FDCB5D132C6"),
    ] {
        assert_eq!(upper(&pin_key(&bdk, &ksn(counter)).unwrap()), pin, "{counter:X}");
    }
}

#[test]
fn working_keys_by_usage() {
    let bdk = aes(BDK_128);
    assert_eq!(
        upper(&mac_key(&bdk, &ksn(1)).unwrap()),
        "A2DC23DE6FDE0824A2BC321E08E4B8B7"
    );
    assert_eq!(
        upper(&data_key(&bdk, &ksn(1)).unwrap()),
        "A35C412EFD41FDB98B69797C02DCD08F"
    );
    assert_eq!(
        upper(&working_key(&bdk, &ksn(1), KeyUsage::KeyEncryption, KeyType::Aes128).unwrap()),
        "36A724B7BEFA5A25F5E7B5782A4554A2"
    );
    assert_eq!(
        upper(&mac_key(&bdk, &ksn(8)).unwrap()),
        "6FD572E5D59E618875F193484F9178FB"
    );
    assert_eq!(
        upper(&data_key(&bdk, &ksn(8)).unwrap()),
        "650F34204ABD4E57764D61AC3D266FB1"
    );

    let bdk = aes(BDK_256);
    assert_eq!(
        upper(&mac_key(&bdk, &ksn(1)).unwrap()),
        "61DABDF4B340CF461EE860B1D1AB55357142BD2D6977306859CF49AEFE8F1549"
    );
    assert_eq!(
        upper(&data_key(&bdk, &ksn(1)).unwrap()),
        "71EB36C9A6B7F801D1D1700C29741FC5A5C4E9B45D742DA7AF6992B8AA29AF58"
    );
}

#[test]
fn tdes_working_keys_from_an_aes128_bdk() {
    let bdk = aes(BDK_128);
    let key = |usage, key_type| upper(&working_key(&bdk, &ksn(1), usage, key_type).unwrap());
    assert_eq!(
        key(KeyUsage::PinEncryption, KeyType::Tdes2),
        "630C706D9546E47D4449313F61C4D4AB"
    );
    assert_eq!(
        key(KeyUsage::MacGeneration, KeyType::Tdes2),
        "5D8FD787E8A796D07035FFCA9B5800BB"
    );
    assert_eq!(
        key(KeyUsage::DataEncryptionEncrypt, KeyType::Tdes2),
        "BD44121C223F831446A01EE3A4CB58D2"
    );
    assert_eq!(
        key(KeyUsage::PinEncryption, KeyType::Tdes3),
        "EA8B3F37EB9B15831167EF2977FD8762D9B5913F35766F6A"
    );
    assert_eq!(
        working_key(&bdk, &ksn(1), KeyUsage::PinEncryption, KeyType::Tdes3)
            .unwrap()
            .algorithm(),
        Algorithm::Tdes
    );
}

#[test]
fn format4_pin_blocks_under_the_dukpt_pin_key() {
    // X9.24-3 supplement, AES PIN block example: PIN 1234, PAN
    // 4111111111111111, random fill 2F69ADDE2E9E7ACE, transactions 1 and 2.
    let pin = Pin::new("1234").unwrap();
    let pan = Pan::new("4111111111111111").unwrap();
    let fill = || {
        FixedRandom(vec![
            0x2, 0xF, 0x6, 0x9, 0xA, 0xD, 0xD, 0xE, 0x2, 0xE, 0x9, 0xE, 0x7, 0xA, 0xC, 0xE,
        ])
    };
    for (counter, expected) in [
        (1, "A912150391AB65A67E52883D81CE2D15"),
        (2, "52A00503BD34BA1383F6A7EE9FE2547F"),
    ] {
        let key = pin_key(&aes(BDK_128), &ksn(counter)).unwrap();
        let block = encrypt_pin_block(&key, PinBlockFormat::Iso4, &pin, Some(&pan), &mut fill()).unwrap();
        assert_eq!(hex::encode_upper(&block), expected);
        let back = decrypt_pin_block(&key, PinBlockFormat::Iso4, &block, Some(&pan)).unwrap();
        assert_eq!(back.expose_secret(), "1234");
    }
}

#[test]
fn errors_say_what_is_wrong() {
    let bdk = aes(BDK_128);
    assert!(matches!(pin_key(&bdk, &ksn(1)[..10]), Err(CryptoError::Ksn(m)) if m.contains("12 bytes")));
    assert!(matches!(pin_key(&bdk, &ksn(0)), Err(CryptoError::Ksn(m)) if m.contains("zero")));
    assert!(
        matches!(pin_key(&bdk, &ksn(0x0001_FFFF)), Err(CryptoError::Ksn(m)) if m.contains("16 one-bits"))
    );
    assert_eq!(counter(&ksn(0xFFFF_0000)).unwrap(), 0xFFFF_0000);
    let tdes = SymmetricKey::tdes(&[1; 16]).unwrap();
    assert!(matches!(
        pin_key(&tdes, &ksn(1)),
        Err(CryptoError::WrongAlgorithm { .. })
    ));
    assert!(matches!(
        working_key(&bdk, &ksn(1), KeyUsage::PinEncryption, KeyType::Aes256),
        Err(CryptoError::Input { .. })
    ));
    assert!(initial_key_from_id(&bdk, &[1; 7]).is_err());
}

proptest! {
    #[test]
    fn arbitrary_inputs_never_panic(
        ksn in proptest::collection::vec(any::<u8>(), 0..16),
        key in prop_oneof![
            proptest::collection::vec(any::<u8>(), 16..17),
            proptest::collection::vec(any::<u8>(), 32..33),
        ],
    ) {
        let bdk = SymmetricKey::aes(&key).unwrap();
        let _ = initial_key(&bdk, &ksn);
        let _ = initial_key_from_id(&bdk, &ksn);
        let _ = counter(&ksn);
        if let Ok(k) = pin_key(&bdk, &ksn) {
            prop_assert_eq!(k.len(), key.len());
        }
        let _ = working_key(&bdk, &ksn, KeyUsage::MacBothWays, KeyType::Tdes3);
    }
}
