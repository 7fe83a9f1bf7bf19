//! Published codes, with the values their publishers document.

use poskit_qr::cpm::ConsumerPresented;
use poskit_qr::mpm::{Initiation, MerchantPresented, MpmError, Path, Problem, Tip};
use poskit_tlv::Tag;

/// EMV QRCPS MPM v1.1, the worked example of its appendix (CRC A13A): two
/// merchant account templates, a Chinese language template placed before
/// the amount, prompts (`***`) in the additional data, and an unreserved
/// template 91.
const EMVCO_EXAMPLE: &str = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678\
520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京\
540523.7253031565502016233030412340603***0708A60086670902ME\
91320016A0112233449988770708123456786304A13A";

#[test]
fn emvco_appendix_example() {
    let code = MerchantPresented::decode(EMVCO_EXAMPLE).unwrap();
    assert_eq!(code.initiation(), Some(Initiation::Dynamic));
    let account = code.get(29).unwrap();
    assert_eq!(account.child_text(0), Some("D15600000000"));
    assert_eq!(account.child_text(5), Some("A93FO3230Q"));
    let account = code.merchant_account("D15600000001").unwrap();
    assert_eq!((account.id(), account.child_text(3)), (31, Some("12345678")));
    assert_eq!(code.merchant_category_code(), Some("4111"));
    assert_eq!(code.currency(), Some("156"));
    assert_eq!(code.amount(), Some("23.72"));
    assert_eq!(code.amount_minor(2), Some(2372));
    assert_eq!(code.tip(), Some(Tip::Prompt));
    assert_eq!(code.country(), Some("CN"));
    assert_eq!(code.merchant_name(), Some("BEST TRANSPORT"));
    assert_eq!(code.merchant_city(), Some("BEIJING"));
    let language = code.get(64).unwrap();
    assert_eq!(language.child_text(0), Some("ZH"));
    assert_eq!(language.child_text(1), Some("最佳运输"));
    assert_eq!(language.child_text(2), Some("北京"));
    assert_eq!(code.additional_data(3), Some("1234"));
    assert_eq!(code.additional_data(6), Some("***"));
    assert_eq!(code.additional_data(7), Some("A6008667"));
    assert_eq!(code.additional_data(9), Some("ME"));
    assert_eq!(code.get(91).unwrap().child_text(0), Some("A011223344998877"));
    assert_eq!(code.get(91).unwrap().child_text(7), Some("12345678"));
    assert_eq!(code.text(63), Some("A13A"));
    assert!(code.crc().is_valid());
    // Lossless: the objects come back in the code's order (64 before 54).
    assert_eq!(code.encode(), EMVCO_EXAMPLE);
    let ids: Vec<u8> = code.objects().iter().map(|o| o.id()).collect();
    assert_eq!(ids, [0, 1, 29, 31, 52, 58, 59, 60, 64, 54, 53, 55, 62, 91, 63]);
}

#[test]
fn an_altered_amount_breaks_the_crc() {
    let altered = EMVCO_EXAMPLE.replace("540523.72", "540593.72");
    assert_eq!(
        MerchantPresented::decode(&altered),
        Err(MpmError::CrcMismatch {
            expected: MerchantPresented::parse(&altered)
                .unwrap()
                .crc()
                .expected
                .unwrap(),
            found: "A13A".into()
        })
    );
    let err = MerchantPresented::decode(&altered).unwrap_err().to_string();
    assert!(
        err.starts_with("data object 63 (CRC): the code says A13A but"),
        "{err}"
    );
}

/// Singapore PayNow (SGQR), as published in public PayNow generators;
/// merchant account template 26 with the reverse-domain GUI SG.PAYNOW.
#[test]
fn paynow_codes() {
    let food = "00020101021126550009SG.PAYNOW010100216+62123456789012303010040820201231\
                052512345678901234567890123455204581453037025802SG5916FOOD XYZ PTE LTD6009SINGAPORE\
                61060810066304A96F";
    let code = MerchantPresented::decode(food).unwrap();
    let paynow = code.merchant_account("SG.PAYNOW").unwrap();
    assert_eq!(paynow.child_text(1), Some("0")); // proxy type: mobile
    assert_eq!(paynow.child_text(2), Some("+621234567890123"));
    assert_eq!(paynow.child_text(4), Some("20201231"));
    assert_eq!(code.initiation(), Some(Initiation::Static));
    assert_eq!((code.currency(), code.country()), (Some("702"), Some("SG")));
    assert_eq!(code.postal_code(), Some("081006"));
    assert_eq!(code.encode(), food);

    let jtc = "00020101021226580009SG.PAYNOW010120213T08GB0025ACT1030100414202309281618205204000053037025406203.005802SG\
               5915JTC CORPORATION6009SINGAPORE62260122RD030320230928293002816304E9D2";
    let code = MerchantPresented::decode(jtc).unwrap();
    assert_eq!(code.amount(), Some("203.00"));
    assert_eq!(
        code.merchant_account("SG.PAYNOW").unwrap().child_text(2),
        Some("T08GB0025ACT1")
    );
    assert_eq!(code.bill_number(), Some("RD03032023092829300281"));
}

/// A PayNow library's own test vector: the CRC is right, but its bill
/// number is 28 characters where the spec allows 25.
#[test]
fn paynow_library_vector_has_a_long_bill_number() {
    let code = "00020101021126500009SG.PAYNOW010100211+6590901234030100408205004155204000053037025406888.88\
                5802SG5902NA6009Singapore62320128Payment reference XX1234567863046B73";
    assert!(MerchantPresented::parse(code).unwrap().crc().is_valid());
    assert_eq!(
        MerchantPresented::decode(code),
        Err(MpmError::Invalid {
            path: Path::root(62).child(1),
            problem: Problem::TooLong { len: 28, max: 25 }
        })
    );
}

/// Thai PromptPay, the reference outputs of the `promptpay-qr` package
/// (phone 0812345678): correct CRCs, but PromptPay leaves out the merchant
/// category code, name and city that EMVCo makes mandatory.
#[test]
fn promptpay_codes_omit_mandatory_objects() {
    for (code, amount) in [
        (
            "00020101021129370016A000000677010111011300668123456785802TH530376463045D82",
            None,
        ),
        (
            "00020101021229370016A000000677010111011300668123456785802TH53037645406100.006304BB8A",
            Some("100.00"),
        ),
    ] {
        let parsed = MerchantPresented::parse(code).unwrap();
        assert!(parsed.crc().is_valid(), "{code}");
        assert_eq!(parsed.amount(), amount);
        assert_eq!(
            parsed.merchant_account("A000000677010111").unwrap().child_text(1),
            Some("0066812345678")
        );
        let missing: Vec<String> = parsed.problems().iter().map(ToString::to_string).collect();
        assert_eq!(
            missing,
            [
                "data object 52 (merchant category code) is mandatory and missing",
                "data object 59 (merchant name) is mandatory and missing",
                "data object 60 (merchant city) is mandatory and missing",
            ]
        );
    }
}

/// EMV QRCPS CPM: the example with two applications and a common data
/// template, as open-source implementations publish it.
#[test]
fn consumer_presented_two_applications() {
    let code = ConsumerPresented::decode(
        "hQVDUFYwMWETTwegAAAAVVVVUAhQcm9kdWN0MWETTwegAAAAZmZmUAhQcm9kdWN0MmJJWggSNFZ4kBI0WF8gDkNBUkRIT0xERVIv\
         RU1WXy0IcnVlc2RlZW5kIZ8QBwYBCgMAAACfJghYT9OF+iNLzJ82AgABnzcEbVjvEw==",
    )
    .unwrap();
    let apps = code.applications();
    assert_eq!(apps.len(), 2);
    assert_eq!(
        apps[0].aid.as_deref(),
        Some(&hex::decode("A0000000555555").unwrap()[..])
    );
    assert_eq!(apps[0].label.as_deref(), Some("Product1"));
    assert_eq!(
        apps[1].aid.as_deref(),
        Some(&hex::decode("A0000000666666").unwrap()[..])
    );
    assert_eq!(apps[1].label.as_deref(), Some("Product2"));
    let common = code.common().unwrap();
    assert_eq!(common.language_preference.as_deref(), Some("ruesdeen"));
    assert_eq!(
        common.cardholder_name.as_deref().map(String::as_str),
        Some("CARDHOLDER/EMV")
    );
    // The common template's PAN and cryptogram data hold for both.
    for i in 0..2 {
        assert_eq!(code.masked_pan(i).as_deref(), Some("123456******3458"));
        assert_eq!(
            code.data(i, Tag(0x9F26)),
            Some(&hex::decode("584FD385FA234BCC").unwrap()[..])
        );
        assert_eq!(
            code.data(i, Tag(0x9F10)),
            Some(&hex::decode("06010A03000000").unwrap()[..])
        );
        assert_eq!(code.data(i, Tag(0x9F36)), Some(&[0x00, 0x01][..]));
        assert_eq!(
            code.data(i, Tag(0x9F37)),
            Some(&hex::decode("6D58EF13").unwrap()[..])
        );
    }
    let debug = format!("{code:?}");
    assert!(
        !debug.contains("7890") && !debug.contains("CARDHOLDER"),
        "{debug}"
    );
}
