//! Robustness: no command bytes make a virtual card panic, and every
//! answer ends with a status word.

use proptest::prelude::*;

use super::*;

fn cards() -> Vec<VirtualCard> {
    static CARDS: std::sync::OnceLock<Vec<VirtualCard>> = std::sync::OnceLock::new();
    CARDS
        .get_or_init(|| {
            Profile::names()
                .iter()
                .map(|n| VirtualCard::named(n).expect("every named profile personalises"))
                .collect()
        })
        .clone()
}

/// Commands that bring a card into each state, so the fuzzed command
/// meets selected, mid-transaction and finished cards alike.
fn warm_up(card: &mut VirtualCard, depth: u8) {
    let aid = card.profile().applications[0].aid.clone();
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, aid.len() as u8];
    select.extend_from_slice(&aid);
    select.push(0x00);
    if depth == 0 {
        return;
    }
    let _ = card.transceive(&select);
    if depth == 1 {
        return;
    }
    let pdol_len = poskit_tlv::Dol::parse(&card.profile().pdol)
        .map(|d| d.data_len())
        .unwrap_or(0);
    let mut gpo = vec![0x80, 0xA8, 0x00, 0x00, pdol_len as u8 + 2, 0x83, pdol_len as u8];
    gpo.extend(std::iter::repeat_n(0x20, pdol_len));
    gpo.push(0x00);
    let _ = card.transceive(&gpo);
    if depth == 2 {
        return;
    }
    let cdol_len = poskit_tlv::Dol::parse(&card.profile().cdol1)
        .map(|d| d.data_len())
        .unwrap_or(0);
    let mut gen_ac = vec![0x80, 0xAE, 0x80, 0x00, cdol_len as u8];
    gen_ac.extend(std::iter::repeat_n(0x01, cdol_len));
    gen_ac.push(0x00);
    let _ = card.transceive(&gen_ac);
}

fn interesting_command() -> impl Strategy<Value = Vec<u8>> {
    let header = (
        prop_oneof![Just(0x00u8), Just(0x80), Just(0x84), Just(0x04), any::<u8>()],
        prop_oneof![
            Just(0xA4u8),
            Just(0xB2),
            Just(0xA8),
            Just(0xAE),
            Just(0xCA),
            Just(0x84),
            Just(0x20),
            Just(0x88),
            Just(0x82),
            Just(0x1E),
            Just(0x18),
            Just(0x16),
            Just(0x24),
            Just(0xDA),
            any::<u8>()
        ],
        any::<u8>(),
        any::<u8>(),
    );
    (header, proptest::collection::vec(any::<u8>(), 0..300)).prop_map(|((cla, ins, p1, p2), tail)| {
        let mut apdu = vec![cla, ins, p1, p2];
        apdu.extend(tail);
        apdu
    })
}

#[test]
fn debug_output_hides_card_data() {
    for card in cards() {
        let shown = format!("{card:?}");
        assert!(!shown.contains(&card.profile().pan), "{shown}");
        assert!(shown.contains("******"), "{shown}");
        assert!(!shown.contains(&format!("\"{}\"", card.profile().pin)), "{shown}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_apdus_never_panic(
        commands in proptest::collection::vec(interesting_command(), 1..6),
        depth in 0u8..4,
        well_formed_lc in any::<bool>(),
    ) {
        for mut card in cards() {
            warm_up(&mut card, depth);
            for command in &commands {
                let mut command = command.clone();
                if well_formed_lc && command.len() > 5 {
                    // Make Lc agree with the data, so the command gets past
                    // the length check into the instruction's own code.
                    command.truncate(5 + 255);
                    command[4] = (command.len() - 5) as u8;
                }
                match card.transceive(&command) {
                    Ok(response) => prop_assert!(response.len() >= 2),
                    Err(e) => prop_assert_eq!(e, CardError::Removed),
                }
            }
        }
    }

    #[test]
    fn raw_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        for mut card in cards() {
            if let Ok(response) = card.transceive(&bytes) {
                prop_assert!(response.len() >= 2);
            }
        }
    }
}

fn get_data(card: &mut VirtualCard, tag: u16) -> Vec<u8> {
    let [p1, p2] = tag.to_be_bytes();
    card.transceive(&[0x80, 0xCA, p1, p2, 0x00])
        .expect("card present")
}

fn select_first(card: &mut VirtualCard) -> Vec<u8> {
    let aid = card.profile().applications[0].aid.clone();
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, aid.len() as u8];
    select.extend_from_slice(&aid);
    select.push(0x00);
    card.transceive(&select).expect("card present")
}

#[test]
fn unionpay_cards_answer_the_electronic_cash_tags() {
    for name in ["unionpay-contact", "unionpay-qpboc"] {
        let mut card = VirtualCard::named(name).unwrap();
        // Not before an application is selected (Book 3 6.5.7).
        assert_eq!(get_data(&mut card, 0x9F79), [0x69, 0x85]);
        assert!(select_first(&mut card).ends_with(&[0x90, 0x00]));
        assert_eq!(
            get_data(&mut card, 0x9F79),
            [0x9F, 0x79, 0x06, 0, 0, 0, 0x05, 0, 0, 0x90, 0x00],
            "{name}: 500.00 as n12"
        );
        assert_eq!(
            get_data(&mut card, 0x9F77),
            [0x9F, 0x77, 0x06, 0, 0, 0, 0x10, 0, 0, 0x90, 0x00]
        );
        assert_eq!(
            get_data(&mut card, 0x9F6D),
            [0x9F, 0x6D, 0x06, 0, 0, 0, 0x01, 0, 0, 0x90, 0x00]
        );
        card.set_electronic_cash(Some(ElectronicCash {
            balance: 123_456,
            balance_limit: 200_000,
            reset_threshold: 0,
        }));
        assert_eq!(
            get_data(&mut card, 0x9F79),
            [0x9F, 0x79, 0x06, 0, 0, 0, 0x12, 0x34, 0x56, 0x90, 0x00]
        );
        card.set_electronic_cash(None);
        assert_eq!(get_data(&mut card, 0x9F79), [0x6A, 0x88]);
    }
    let mut visa = VirtualCard::named("visa-contact").unwrap();
    select_first(&mut visa);
    assert_eq!(
        get_data(&mut visa, 0x9F79),
        [0x6A, 0x88],
        "no purse on a Visa card"
    );
}
