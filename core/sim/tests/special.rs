//! The special profiles show their defects, and the test configuration
//! fits every profile.

mod common;

use common::*;
use poskit_sim::ca::{self, RID_MASTERCARD, RID_UNIONPAY, TEST_CA_INDEX};
use poskit_sim::{Card, CardError, Profile, VirtualCard};

fn records_of(card: &mut VirtualCard, terminal: &Terminal) -> ([u8; 2], CardData) {
    let aid = card.profile().applications[0].aid.clone();
    select_aid(card, &aid);
    let (gpo, _) = gpo(card, terminal);
    let (aip, afl) = aip_afl(&gpo);
    (aip, read_records(card, &afl, aip))
}

#[test]
fn names_are_exactly_the_twelve_profiles() {
    assert_eq!(
        Profile::names(),
        [
            "visa-contact",
            "visa-contactless",
            "mastercard-contact",
            "mastercard-contactless",
            "unionpay-contact",
            "unionpay-qpboc",
            "expired",
            "revoked-capk",
            "bad-cert",
            "offline-decline",
            "online-pin",
            "pulled",
        ]
    );
    assert!(Profile::named("nope").is_none());
}

#[test]
fn the_test_configuration_covers_every_profile() {
    let config = poskit_emv::Config::from_json(&ca::test_config_json()).unwrap();
    for name in Profile::names() {
        let profile = Profile::named(name).unwrap();
        assert!(
            config.ca_key(&profile.rid(), profile.ca_index).is_some(),
            "{name}"
        );
        for app in &profile.applications {
            let entry = config.aids.iter().find(|a| app.aid.starts_with(&a.aid));
            let entry = entry.unwrap_or_else(|| panic!("{name}: AID not configured"));
            assert_eq!(entry.app_version, profile.app_version, "{name}");
            assert_eq!(entry.default_ddol, h("9F3704"));
        }
        let revoked = config.is_revoked(&profile.rid(), profile.ca_index, &profile.issuer_cert_serial);
        assert_eq!(revoked, *name == "revoked-capk", "{name}");
    }
    let kernels: Vec<u8> = config.aids.iter().map(|a| a.kernel_id).collect();
    assert_eq!(kernels, [3, 2, 7, 7]);
    assert_eq!(config.terminal.terminal_type, 0x22);
    assert_eq!(config.terminal.currency_code, [0x01, 0x56]);
}

#[test]
fn expired_card_has_an_expiry_date_in_the_past() {
    let mut card = card("expired");
    let terminal = Terminal::purchase("000000001000");
    let (_, data) = records_of(&mut card, &terminal);
    let expiry = data.must(0x5F24);
    assert_eq!(expiry, h("231231"));
    assert!(expiry < terminal.get(0x9A), "expired before the transaction date");
    // Everything else about it is sound: the certificates check out.
    let issuer = recover_issuer_key(&data, ca::RID_VISA);
    assert!(issuer.hash_ok);
    assert!(recover_icc_key(&data, &issuer, "4761739001010036").hash_ok);
}

#[test]
fn revoked_capk_issuer_certificate_is_on_the_revocation_list() {
    let mut card = card("revoked-capk");
    let (_, data) = records_of(&mut card, &Terminal::purchase("000000001000"));
    let issuer = recover_issuer_key(&data, RID_MASTERCARD);
    assert!(issuer.hash_ok, "the certificate itself is fine");
    assert_eq!(issuer.serial, ca::REVOKED_ISSUER_CERT_SERIAL);
    assert!(ca::test_config().is_revoked(&RID_MASTERCARD, TEST_CA_INDEX, &issuer.serial));

    let mut good = card_named("mastercard-contact");
    let (_, data) = records_of(&mut good, &Terminal::purchase("000000001000"));
    let issuer = recover_issuer_key(&data, RID_MASTERCARD);
    assert!(!ca::test_config().is_revoked(&RID_MASTERCARD, TEST_CA_INDEX, &issuer.serial));
}

fn card_named(name: &str) -> VirtualCard {
    card(name)
}

#[test]
fn bad_cert_issuer_certificate_fails_its_hash() {
    let mut card = card("bad-cert");
    let (_, data) = records_of(&mut card, &Terminal::purchase("000000001000"));
    // Header, format and trailer recover (checked inside), the hash not.
    let issuer = recover_issuer_key(&data, RID_UNIONPAY);
    assert!(!issuer.hash_ok);
}

#[test]
fn offline_decline_answers_aac_at_the_first_generate_ac() {
    let mut card = card("offline-decline");
    for (p1, amount) in [(0x80, "000000010000"), (0x40, "000000000100")] {
        let terminal = Terminal::purchase(amount);
        let (aip, data) = records_of(&mut card, &terminal);
        let ac = parse_ac(&generate_ac(&mut card, p1, &data.must(0x8C), &terminal));
        assert_eq!(ac.cid, 0x00, "AAC");
        assert_eq!(
            ac.ac.unwrap(),
            expected_cryptogram(&card, &terminal, aip, ac.atc, &ac.iad)
        );
        assert_eq!(
            ac.iad[4] & 0xB0,
            0x80,
            "CVR: AAC at the first, second not requested"
        );
        let (_, sw) = send(
            &mut card,
            &apdu(0x80, 0xAE, 0x40, 0x00, &terminal.dol_data(&data.must(0x8D))),
        );
        assert_eq!(sw, 0x6985, "declined: no second GENERATE AC");
    }
}

#[test]
fn online_pin_cvm_list_starts_with_online_pin() {
    let mut card = card("online-pin");
    let (_, data) = records_of(&mut card, &Terminal::purchase("000000001000"));
    let cvm_list = data.must(0x8E);
    // Amount X and Y, then the first rule: 42 = enciphered PIN online,
    // apply the next rule if it fails; 03 = if the terminal supports it.
    assert_eq!(cvm_list[8..10], [0x42, 0x03]);
    assert_eq!(cvm_list[8] & 0x3F, 0x02);
}

#[test]
fn pulled_card_is_removed_at_the_first_generate_ac() {
    let mut card = card("pulled");
    let terminal = Terminal::purchase("000000010000");
    let (_, data) = records_of(&mut card, &terminal);
    let atc = card.atc();
    let command = apdu(0x80, 0xAE, 0x80, 0x00, &terminal.dol_data(&data.must(0x8C)));
    assert_eq!(card.transceive(&command), Err(CardError::Removed));
    assert!(card.removed());
    assert_eq!(
        card.transceive(&[0x00, 0xA4, 0x04, 0x00, 0x00]),
        Err(CardError::Removed)
    );

    // Presented again, it works, and the interrupted transaction shows.
    card.reinsert();
    let (aip, data) = records_of(&mut card, &terminal);
    assert_eq!(card.atc(), atc + 1);
    let ac = parse_ac(&generate_ac(&mut card, 0x80, &data.must(0x8C), &terminal));
    assert_eq!(ac.cid, 0x80);
    assert_eq!(
        ac.ac.unwrap(),
        expected_cryptogram(&card, &terminal, aip, ac.atc, &ac.iad)
    );
}

#[test]
fn removal_after_a_number_of_commands() {
    let mut profile = Profile::named("visa-contact").unwrap();
    profile.removal = poskit_sim::virtual_card::Removal::AfterCommands(2);
    let mut card = VirtualCard::new(profile).unwrap();
    assert!(
        card.transceive(&apdu(0x00, 0xA4, 0x04, 0x00, b"1PAY.SYS.DDF01"))
            .is_ok()
    );
    assert!(card.transceive(&apdu(0x00, 0xB2, 0x01, 0x0C, &[])).is_ok());
    assert_eq!(
        card.transceive(&apdu(0x00, 0xB2, 0x01, 0x0C, &[])),
        Err(CardError::Removed)
    );
}
