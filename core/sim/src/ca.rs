//! The test certification authorities and the kernel configuration that
//! trusts them.
//!
//! One TEST CA key pair per scheme RID (Visa A000000003, Mastercard
//! A000000004, UnionPay A000000333), generated once with OpenSSL for this
//! simulator and embedded below. They certify the virtual cards' issuer
//! keys (Book 2 5.1, 6.1). Nothing real trusts them: a kernel only does
//! when it is given [`test_config`].
//!
//! [`test_config`] is a complete kernel configuration for tests and the
//! demo: an attended online terminal with offline capability in China
//! (CNY), every virtual card profile's AID, these CA keys and the
//! revocation of the `revoked-capk` profile's issuer certificate.

use poskit_emv::{AidParams, CaPublicKey, Config, ContactlessLimits, RevokedCertificate, TerminalParams};

use crate::rsa_key::{RsaKeyHex, RsaKeyPair};

pub const RID_VISA: [u8; 5] = [0xA0, 0x00, 0x00, 0x00, 0x03];
pub const RID_MASTERCARD: [u8; 5] = [0xA0, 0x00, 0x00, 0x00, 0x04];
pub const RID_UNIONPAY: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x33];

/// The CA public key index (tag 8F) of every test CA. E1 is outside the
/// ranges the schemes use for their own test keys, so a terminal loaded
/// with both never confuses them.
pub const TEST_CA_INDEX: u8 = 0xE1;

/// Expiry of the test CA keys (YYMMDD): far enough not to matter.
pub const TEST_CA_EXPIRY: &str = "491231";

/// The issuer certificate serial of the `revoked-capk` profile, which
/// [`test_config`] lists as revoked under the Mastercard test CA.
pub const REVOKED_ISSUER_CERT_SERIAL: [u8; 3] = [0x0B, 0xAD, 0x01];

/// 1408-bit TEST key, exponent 3. Generated once with OpenSSL for
/// this simulator; never use it for anything real.
pub const CA_VISA: RsaKeyHex = RsaKeyHex {
    modulus: "\
        964ED003739C6709DA0BB397C48FA5C392CC6CFA84E7D9F2F673BF0D48C990C8\
        1C1341393A57950684CA92B3C506F3337C17258D95080DC6D8A523DCA2805B67\
        C328E1CAB1AC1006E44EAB855583FE953C69BE5F9FE71649CE5C3A3AB8ED9790\
        E8A53BC3B0E73FFF97CF0504EA7C09613C44321132AAF1D7BC8338EBD07E238F\
        81FFFDF31D5399F8F8179491797BC3344D8721D79DF81F5DA5251001DCB1D902\
        5B8E36E7708066248032E0A73AE691AB",
    exponent: "03",
    prime1: "\
        C589014E56C52A6B32DD737F59CD8E69245805EDBF5D51BFB08A20B9EDC753AE\
        B21A29BB3F7ADC277111F0C20A16939740A56A638B4CF5C86053F96B75962B9A\
        910F991FC0E3197B8274F7FCA347C797C11134AF46A80ACB",
    prime2: "\
        C2CB73D67D37BAA1BC5136D540DF21B49B7CD4570B79572581724B85A1C103A7\
        5CCAA6D11A3F98C52415A81849D22BC34794AB968DC7CC3A64C4F52E6D56645C\
        DAE8E6402FA2FB58B8B915047088339BE8009A86BC4658A1",
    exponent1: "\
        83B0AB898F2E1C47773E4CFF9133B446183AAE9E7F938BD5205C15D1492F8D1F\
        2166C67CD4FC92C4F60BF5D6B1646264D5C39C425CDDF9304037FB9CF90EC7BC\
        60B510BFD5ECBBA7AC4DFAA86CDA850FD60B7874D9C55C87",
    exponent2: "\
        81DCF7E4537A7C6BD2E0CF38D5EA167867A88D8F5CFB8F6E564C32591680AD1A\
        3DDC6F36117FBB2E180E70103136C7D7850DC7B9B3DA8826EDD8A37448E442E8\
        91F099801FC1FCE5D07B63584B0577BD4555BC59D2D9906B",
    coefficient: "\
        32346EDD9124901F269704A5ED120B41CC0A73981810C4465D2A9F4951FC750D\
        FB9BCA3D177329E59FB4BAB6ECB6E9591E145CEAB3233960951B29328A63B0CE\
        17540E3E971972FD52E74B0DEAE095D1781F6460DE852A37",
};

/// 1408-bit TEST key, exponent 65537. Generated once with OpenSSL for
/// this simulator; never use it for anything real.
pub const CA_MASTERCARD: RsaKeyHex = RsaKeyHex {
    modulus: "\
        9EC7988D3573D25B70456297AA09AF93573A157AF631AD4811674C4FA5068BC5\
        3B0D4AF1B605E95979C8AD5EBA7DE172BD9570E2FE0924E9A7A0D3F0BBDAB4FF\
        A9627A19E2569CF854A3A4BA5C36333C374964DA2B703D3157A43793E89F55FD\
        864216250B6454B9D7481177D16D5D354971574986F72323CF97491DDCACAA57\
        6B92579A11953843FC5BB2F044633D26C68BB833D83AB0EE05D52F29AC172AAC\
        BE5634A71F0827ECE732BF441E703DE9",
    exponent: "010001",
    prime1: "\
        CC8BB34736A95CA5614FF5EF7C57845C1680A6DF1FCD1EE5E2FBF344B74ED8D8\
        D637C520FE6E85E3163DF1625526FBC400E4C3DCC5016143018A886AEA19D6D9\
        A266D38DFFA2C60B58C7B9950172BE00083001DF7F29FCF5",
    prime2: "\
        C6B8A98FFD9195F0C19E4EA510B398304128489ADBF5BDE724EBB134D259C4A8\
        9602DC2F1A63B22F6EDD0B1765E06605A9D3CBBE3DF7FB2777C67AB5BED8F67E\
        6CCDB9C8B3F9EF038E7A99A9FB6E7FB5B117669CA8FEE4A5",
    exponent1: "\
        1D143B3F8388DE4FF09EB28302755AAED0D027690F17552E2F6FCC2CD7B690E3\
        7AC8E0F088DB63935E251E3CF1882240C233C3988E355D036EA3A83332E6CB81\
        9331F51F79D9453875BDA72784D63026C7033430F6DE1C45",
    exponent2: "\
        588E3019D7A0CA15B8E2A81F4CDB0BA5ED535B4F8F57EA6198056439AAC79028\
        A478EFD019CD75B947893F8914C03416B0008F19DF19A415897DAC6F5375F21A\
        92B7F6E3A6B86937C78580F6CBF208FD59C698D69544C975",
    coefficient: "\
        360AB52A0C0A79BF996F3405F8B136F4E77F9C9E02C4A155C04FE5F95E5C41F8\
        ABB740568DB08BD772EC00D0B313F149F54CBD2EA98BECA67D6182A609B07AC5\
        5795A563F21377BE056ECEEF2848FF56EEA67FD8F1A25B24",
};

/// 1152-bit TEST key, exponent 3. Generated once with OpenSSL for
/// this simulator; never use it for anything real.
pub const CA_UNIONPAY: RsaKeyHex = RsaKeyHex {
    modulus: "\
        DA6E2451CDADD8698C7313A3576A27DA2344E2847834A4C6982BA6208468D140\
        E51AD8B89DB5A12FD7D5ADC7FFB8B22522AEC4AE9CE0F3F72242C1EE7728E982\
        F43559EB93217A299EF0C8BA17BF8F10092498A7D5B6B04350A9E05A609981D1\
        63946547FCEA4F469FB9A3312DE590D92C5CFAACB88E85FA3BEC0BD537D90103\
        129F23DC3B191691E99CD174FE5E5D2F",
    exponent: "03",
    prime1: "\
        F8F6B03BE0B82D3E125FB5DE223960A129CC85B804514DCF726C2ADFC382F84B\
        95703B5F788C2E94A64BB5CC26BA42E10FDD905D5F6372B5EFD3040657F232F0\
        1DF5F946EAA52F35",
    prime2: "\
        E09A897EDD6278063B7F36BFCF3B4519AE6E39EFE52BA4997BC157C833823215\
        0E7DFB5DA5F6401742B366F2D252CBFD788BCA5B2B03087B0330385B7B8A1AD1\
        4A1E27803356B353",
    exponent1: "\
        A5F9CAD295D01E29619523E96C26406B713303D002E0DE8A4C481C952D01FADD\
        0E4AD23FA5B2C9B86EDD23DD6F26D740B53E603E3F97A1CE9FE202AEE54C21F5\
        694EA62F4718CA23",
    exponent2: "\
        95BC5BA9E8EC500427AA247FDF7CD8BBC99ED14A98C7C310FD2B8FDACD0176B8\
        B453FCE9194ED564D72244A1E18C87FE505D31921CACB05202202592525C11E0\
        DC141A55778F2237",
    coefficient: "\
        025E15046411D1474EE7DB523F81AC8304D488F5185CD24589DDEF5ED29959CD\
        F8303F9455777F1D5F70ACC5CF063FD87334EDE574A84C77D607F24422446B97\
        D9EF8423869F92C0",
};
/// The test CA key pair for a RID, if there is one.
pub fn ca_key_pair(rid: &[u8]) -> Option<RsaKeyPair> {
    let hex = match rid {
        r if r == RID_VISA => &CA_VISA,
        r if r == RID_MASTERCARD => &CA_MASTERCARD,
        r if r == RID_UNIONPAY => &CA_UNIONPAY,
        _ => return None,
    };
    Some(RsaKeyPair::from_hex(hex))
}

/// The three test CA public keys as the kernel loads them, with their
/// Book 2 11.2.2 checksums (SHA-1 over RID, index, modulus, exponent).
pub fn test_ca_keys() -> Vec<CaPublicKey> {
    [RID_VISA, RID_MASTERCARD, RID_UNIONPAY]
        .into_iter()
        .filter_map(|rid| {
            let pair = ca_key_pair(&rid)?;
            let mut input = rid.to_vec();
            input.push(TEST_CA_INDEX);
            input.extend_from_slice(pair.modulus());
            input.extend_from_slice(pair.exponent());
            Some(CaPublicKey {
                rid,
                index: TEST_CA_INDEX,
                modulus: pair.modulus().to_vec(),
                exponent: pair.exponent().to_vec(),
                expiry: TEST_CA_EXPIRY.to_string(),
                checksum: poskit_crypto::hash::sha1(&input).to_vec(),
            })
        })
        .collect()
}

/// Contactless limits (minor units of CNY) shared by the test AIDs: no
/// contactless above 5000.00, online above 500.00, CVM from 1000.00 on.
const CONTACTLESS: ContactlessLimits = ContactlessLimits {
    transaction_limit: 500_000,
    floor_limit: 50_000,
    cvm_limit: 100_000,
};

fn aid(
    aid: &[u8],
    name: &str,
    app_version: [u8; 2],
    tacs: ([u8; 5], [u8; 5], [u8; 5]),
    kernel_id: u8,
) -> AidParams {
    AidParams {
        aid: aid.to_vec(),
        name: name.to_string(),
        partial_selection: true,
        app_version,
        tac_default: tacs.0,
        tac_denial: tacs.1,
        tac_online: tacs.2,
        // 100.00 CNY: small purchases may complete offline when the card
        // agrees (Book 3 10.6.1).
        floor_limit: 10_000,
        // Book 3 10.6.2: from 50.00 up to the floor limit, 20% to 50% of
        // transactions are sent online at random.
        target_percent: 20,
        max_target_percent: 50,
        threshold: 5_000,
        // Book 3 10.3 / Book 2 6.5.1: the unpredictable number only.
        default_ddol: vec![0x9F, 0x37, 0x04],
        // Book 3 9.2.2.3: TC hash over the unpredictable number too.
        default_tdol: vec![0x9F, 0x37, 0x04],
        contactless: Some(CONTACTLESS),
        kernel_id,
    }
}

/// Terminal action codes per scheme (default, denial, online), the values
/// the schemes publish for online-capable attended terminals.
const VISA_TACS: ([u8; 5], [u8; 5], [u8; 5]) = (
    [0xDC, 0x40, 0x00, 0xA8, 0x00],
    [0x00, 0x10, 0x00, 0x00, 0x00],
    [0xDC, 0x40, 0x04, 0xF8, 0x00],
);
const MASTERCARD_TACS: ([u8; 5], [u8; 5], [u8; 5]) = (
    [0xF4, 0x50, 0x84, 0x80, 0x0C],
    [0x00, 0x00, 0x00, 0x00, 0x00],
    [0xF4, 0x50, 0x84, 0x80, 0x0C],
);
const UNIONPAY_TACS: ([u8; 5], [u8; 5], [u8; 5]) = (
    [0xD8, 0x40, 0x00, 0xA8, 0x00],
    [0x00, 0x10, 0x00, 0x00, 0x00],
    [0xD8, 0x40, 0x04, 0xF8, 0x00],
);

/// Application version numbers (9F09) the virtual cards also carry in
/// 9F08, so the version check of Book 3 10.4.1 passes.
pub const VISA_APP_VERSION: [u8; 2] = [0x00, 0x8C];
pub const MASTERCARD_APP_VERSION: [u8; 2] = [0x00, 0x02];
pub const UNIONPAY_APP_VERSION: [u8; 2] = [0x00, 0x30];

/// The kernel configuration for tests and the demo.
pub fn test_config() -> Config {
    Config {
        terminal: TerminalParams {
            // Attended, merchant, online with offline capability.
            terminal_type: 0x22,
            // Book 4 A2: IC with contacts, magnetic stripe, manual key entry;
            // plaintext and enciphered offline PIN, online PIN, signature,
            // no CVM; SDA, DDA, card capture, CDA.
            capabilities: [0xE0, 0xF8, 0xC8],
            // Book 4 A3: cash, goods, services, cashback, inquiry, payment;
            // numeric and alphabetic keys, command keys, function keys;
            // attendant display and printer; code table 1.
            additional_capabilities: [0xF0, 0x00, 0xF0, 0xA0, 0x01],
            country_code: [0x01, 0x56],
            currency_code: [0x01, 0x56],
            currency_exponent: 2,
            merchant_category_code: [0x54, 0x11],
            merchant_id: "898310048160001".to_string(),
            terminal_id: "SIM00001".to_string(),
            ifd_serial: "POSKIT01".to_string(),
            merchant_name_location: "POSKIT TEST SHOP SHANGHAI".to_string(),
            // qVSDC/qPBOC, EMV contact, online PIN, signature, ODA for
            // online authorisations; consumer device CVM; fDDA v01.
            ttq: [0x37, 0x00, 0x40, 0x80],
        },
        aids: vec![
            aid(
                &[0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10],
                "VISA",
                VISA_APP_VERSION,
                VISA_TACS,
                3,
            ),
            aid(
                &[0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10],
                "MASTERCARD",
                MASTERCARD_APP_VERSION,
                MASTERCARD_TACS,
                2,
            ),
            aid(
                &[0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01],
                "UNIONPAY DEBIT",
                UNIONPAY_APP_VERSION,
                UNIONPAY_TACS,
                7,
            ),
            aid(
                &[0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x02],
                "UNIONPAY CREDIT",
                UNIONPAY_APP_VERSION,
                UNIONPAY_TACS,
                7,
            ),
        ],
        ca_keys: test_ca_keys(),
        revoked: vec![RevokedCertificate {
            rid: RID_MASTERCARD,
            ca_index: TEST_CA_INDEX,
            serial: REVOKED_ISSUER_CERT_SERIAL,
        }],
        exception_list: Vec::new(),
    }
}

/// [`test_config`] as the JSON text a terminal would load.
pub fn test_config_json() -> String {
    test_config().to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_keys_are_in_the_brief_size_range_and_validate() {
        let keys = test_ca_keys();
        assert_eq!(keys.len(), 3);
        for key in &keys {
            key.validate().unwrap();
            let bits = key.modulus.len() * 8;
            assert!((1152..=1408).contains(&bits), "{bits}");
            assert!(key.modulus[0] & 0x80 != 0, "full-length modulus");
        }
    }

    #[test]
    fn config_round_trips_through_json_and_validates() {
        let config = Config::from_json(&test_config_json()).unwrap();
        assert_eq!(config, test_config());
        assert!(config.is_revoked(&RID_MASTERCARD, TEST_CA_INDEX, &REVOKED_ISSUER_CERT_SERIAL));
        for rid in [RID_VISA, RID_MASTERCARD, RID_UNIONPAY] {
            assert!(config.ca_key(&rid, TEST_CA_INDEX).is_some());
        }
    }

    #[test]
    fn key_pairs_match_primes() {
        use num_bigint::BigUint;
        for hex in [&CA_VISA, &CA_MASTERCARD, &CA_UNIONPAY] {
            let pair = RsaKeyPair::from_hex(hex);
            let p = BigUint::from_bytes_be(&crate::rsa_key::decode_hex(hex.prime1));
            let q = BigUint::from_bytes_be(&crate::rsa_key::decode_hex(hex.prime2));
            assert_eq!((p * q).to_bytes_be(), pair.modulus());
        }
    }
}
