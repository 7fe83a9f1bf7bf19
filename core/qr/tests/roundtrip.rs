//! Properties: any valid set of data objects survives encode -> decode
//! unchanged; no input of any kind panics; whatever parses re-encodes to
//! the very same text.

use poskit_qr::cpm::ConsumerPresented;
use poskit_qr::mpm::{Initiation, MerchantPresented, MpmBuilder, MpmError, format_minor};
use poskit_qr::{QrMatrix, classify};
use proptest::prelude::*;

const ANS: &str = "[ -~]";

fn ans(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("{ANS}{{1,{max}}}")).unwrap()
}

#[derive(Debug, Clone)]
enum Account {
    Scheme(u8, String),
    Template(u8, String, Vec<(u8, String)>),
}

fn account() -> impl Strategy<Value = Account> {
    prop_oneof![
        (2u8..=25, "[0-9A-Z]{1,20}").prop_map(|(id, v)| Account::Scheme(id, v)),
        (
            26u8..=51,
            "[A-Za-z0-9.]{1,32}",
            proptest::collection::vec((1u8..=99, ans(15)), 0..3)
        )
            .prop_map(|(id, gui, fields)| Account::Template(id, gui, fields)),
    ]
}

#[derive(Debug, Clone)]
enum TipChoice {
    Prompt,
    Fixed(u64),
    Percentage(u32),
}

fn tip() -> impl Strategy<Value = Option<TipChoice>> {
    proptest::option::of(prop_oneof![
        Just(TipChoice::Prompt),
        (1u64..100_000).prop_map(TipChoice::Fixed),
        (1u32..=9999).prop_map(TipChoice::Percentage),
    ])
}

prop_compose! {
    fn valid_code()(
        initiation in proptest::option::of(prop_oneof![Just(Initiation::Static), Just(Initiation::Dynamic)]),
        accounts in proptest::collection::vec(account(), 1..3),
        mcc in "[0-9]{4}",
        currency in "[0-9]{3}",
        amount in proptest::option::of((1u64..10_000_000_000, 0u8..=3)),
        tip in tip(),
        country in "[A-Z]{2}",
        name in ans(25),
        city in ans(15),
        postal in proptest::option::of("[0-9A-Z]{1,10}"),
        additional in proptest::collection::btree_map(1u8..=8, ans(25), 0..3),
        consumer_request in proptest::option::of(prop_oneof![Just("ME"), Just("A"), Just("EMA")]),
        language in proptest::option::of(("[A-Z]{2}", "[a-z最佳运输北京é ]{1,25}", proptest::option::of("[北京上海a-z]{1,15}"))),
    ) -> MpmBuilder {
        let mut b = MpmBuilder::new();
        if let Some(i) = initiation {
            b = b.initiation(i);
        }
        for a in &accounts {
            b = match a {
                Account::Scheme(id, v) => b.scheme_account(*id, v),
                Account::Template(id, gui, fields) => {
                    // Sub-ids once each: the builder would refuse repeats.
                    let mut seen = Vec::new();
                    let fields: Vec<(u8, &str)> = fields
                        .iter()
                        .filter(|(sub, _)| !seen.contains(sub) && { seen.push(*sub); true })
                        .map(|(sub, v)| (*sub, v.as_str()))
                        .collect();
                    b.merchant_account(*id, gui, fields)
                }
            };
        }
        b = b.merchant_category_code(&mcc).currency(&currency).country(&country);
        b = b.merchant_name(&name).merchant_city(&city);
        if let Some((minor, exponent)) = amount {
            b = b.amount_minor(minor, exponent);
        }
        b = match tip {
            Some(TipChoice::Prompt) => b.tip_prompt(),
            Some(TipChoice::Fixed(fee)) => b.convenience_fee_fixed(&format_minor(fee, 2)),
            Some(TipChoice::Percentage(p)) => b.convenience_fee_percentage(&format!("{:02}.{:02}", p / 100, p % 100)),
            None => b,
        };
        if let Some(p) = postal {
            b = b.postal_code(&p);
        }
        for (sub, v) in &additional {
            b = b.additional_data(*sub, v);
        }
        if let Some(r) = consumer_request {
            b = b.additional_data(9, r);
        }
        if let Some((lang, name, city)) = language {
            b = b.language(&lang, &name, city.as_deref());
        }
        b
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_codes_round_trip(builder in valid_code()) {
        let built = match builder.build() {
            Ok(code) => code,
            // Two long merchant accounts and every option can pass 512.
            Err(MpmError::TooLong(_)) => return Err(TestCaseError::reject("longer than 512")),
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        let text = built.encode();
        let ids: Vec<u8> = built.objects().iter().map(|o| o.id()).collect();
        prop_assert_eq!(ids.first(), Some(&0));
        prop_assert_eq!(ids.last(), Some(&63));
        let body = &ids[..ids.len() - 1];
        prop_assert!(body.windows(2).all(|w| w[0] < w[1]), "ids in order: {:?}", ids);
        let decoded = MerchantPresented::decode(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&decoded, &built);
        prop_assert_eq!(decoded.encode(), text);
        prop_assert!(decoded.crc().is_valid());
    }

    #[test]
    fn any_text_is_refused_or_read_losslessly(text in "\\PC{0,120}") {
        let _ = MerchantPresented::decode(&text);
        let _ = ConsumerPresented::decode(&text);
        let _ = classify(&text);
        if let Ok(parsed) = MerchantPresented::parse(&text) {
            prop_assert_eq!(parsed.encode(), text.trim_matches(|c: char| c.is_ascii_whitespace()));
            let _ = parsed.problems();
            let _ = parsed.crc();
        }
    }

    #[test]
    fn damaged_codes_never_panic(builder in valid_code(), at in 0usize..600, c in "[0-9A-Z.*]") {
        let Ok(code) = builder.build() else { return Ok(()) };
        let mut text: Vec<char> = code.encode().chars().collect();
        let at = at % text.len();
        let was_ascii = text[at].is_ascii();
        text[at] = c.chars().next().unwrap();
        let text: String = text.into_iter().collect();
        if let Ok(parsed) = MerchantPresented::parse(&text) {
            prop_assert_eq!(parsed.encode(), text.clone());
            // One changed byte is always caught, by the CRC at least: a
            // CRC-16 detects every error burst of 16 bits or fewer.
            if was_ascii && text != code.encode() {
                prop_assert!(MerchantPresented::decode(&text).is_err());
            }
        }
    }

    #[test]
    fn any_bytes_as_a_consumer_code(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = ConsumerPresented::from_bytes(&bytes);
        let mut with_header = hex::decode("850543505630316100").unwrap();
        with_header.extend_from_slice(&bytes);
        let _ = ConsumerPresented::from_bytes(&with_header);
    }
}

#[test]
fn rendering_any_valid_code_fits_a_qr_symbol() {
    let longest = "X".repeat(512);
    let qr = QrMatrix::encode(&longest).unwrap();
    assert!(qr.width() <= 177);
}
