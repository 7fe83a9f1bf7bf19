//! The kernel against every virtual card profile, with the outcome a
//! certified kernel reaches: decision, cryptogram, TVR and TSI bits, CVM.
//! Tampered certificates and signatures must be caught.

use std::sync::Arc;

use poskit_emv::{
    Action, Config, CryptogramType, Cvm, Decision, Input, Interface, Kernel, Message, PinKind,
    TransactionParams, Tsi, TvrBit,
};
use poskit_sim::card::{Card, CardError};
use poskit_sim::driver::{ScriptedCardholder, Session, run};
use poskit_sim::issuer::{TestIssuer, Verdict};
use poskit_sim::virtual_card::VirtualCard;
use poskit_tlv::Tag;

fn config() -> Arc<Config> {
    Arc::new(poskit_sim::ca::test_config())
}

fn txn(interface: Interface, amount: u64) -> TransactionParams {
    TransactionParams {
        interface,
        amount,
        other_amount: 0,
        transaction_type: 0x00,
        date: [0x26, 0x11, 0x21],
        time: [0x10, 0x30, 0x00],
        unpredictable_number: [0xA1, 0xB2, 0xC3, 0xD4],
        // Never selected at random unless a test says so.
        random_selection: 99,
        entropy: [0x5A; 32],
        sequence_counter: 7,
        force_online: false,
    }
}

struct Run {
    session: Session,
    issuer: TestIssuer,
    card: VirtualCard,
}

fn run_card(name: &str, interface: Interface, amount: u64, pins: &[&str], verdict: Verdict) -> Run {
    let card = VirtualCard::named(name).expect("profile exists");
    run_with(
        &mut card.clone(),
        name,
        interface,
        amount,
        pins,
        verdict,
        config(),
    )
}

fn run_with(
    card: &mut VirtualCard,
    _name: &str,
    interface: Interface,
    amount: u64,
    pins: &[&str],
    verdict: Verdict,
    config: Arc<Config>,
) -> Run {
    let mut issuer = TestIssuer::for_card(card, verdict);
    let mut kernel = Kernel::new(config);
    let session = run(
        &mut kernel,
        txn(interface, amount),
        card,
        &mut ScriptedCardholder::with_pins(pins),
        &mut issuer,
    );
    Run {
        session,
        issuer,
        card: card.clone(),
    }
}

fn pin_of(name: &str) -> String {
    VirtualCard::named(name).unwrap().profile().pin.clone()
}

// ---- Contact ----

#[test]
fn visa_contact_small_amount_is_approved_offline_with_dda_and_enciphered_pin() {
    let pin = pin_of("visa-contact");
    let r = run_card(
        "visa-contact",
        Interface::Contact,
        2_000,
        &[&pin],
        Verdict::Approve,
    );
    let o = &r.session.outcome;
    assert_eq!(o.decision, Decision::Approved);
    assert_eq!(o.cryptogram.unwrap().0, CryptogramType::Tc);
    assert_eq!(o.tvr.to_string(), "0000000000", "{:?}", o.tvr.describe());
    assert!(o.tsi.is_set(Tsi::ODA_PERFORMED) && o.tsi.is_set(Tsi::CARDHOLDER_VERIFICATION_PERFORMED));
    assert!(!o.went_online);
    assert_eq!(o.cvm, Cvm::OfflineEncipheredPin);
    assert_eq!(o.cvm_results[2], 0x02, "CVM successful");
    assert_eq!(r.issuer.requests, 0);
    // The card's ATC moved and field 55 carries the TC.
    let tlvs = poskit_tlv::primitives(&o.field55).unwrap();
    let tags: Vec<u32> = tlvs.iter().map(|t| t.tag().0).collect();
    for tag in [
        0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F33,
        0x9F34, 0x84,
    ] {
        assert!(tags.contains(&tag), "field 55 lacks {tag:X}");
    }
    assert_eq!(
        r.card.atc(),
        VirtualCard::named("visa-contact").unwrap().atc() + 1
    );
}

#[test]
fn visa_contact_over_the_floor_limit_goes_online_with_a_genuine_arqc_and_arpc() {
    let pin = pin_of("visa-contact");
    let r = run_card(
        "visa-contact",
        Interface::Contact,
        50_000,
        &[&pin],
        Verdict::Approve,
    );
    let o = &r.session.outcome;
    assert_eq!(o.decision, Decision::Approved, "{:?}", o.reason);
    assert!(o.went_online);
    assert!(o.tvr.is_set(TvrBit::EXCEEDS_FLOOR_LIMIT));
    assert!(!o.tvr.is_set(TvrBit::ISSUER_AUTHENTICATION_FAILED));
    assert!(o.tsi.is_set(Tsi::ISSUER_AUTHENTICATION_PERFORMED));
    assert_eq!(
        r.issuer.last_arqc_valid,
        Some(true),
        "the ARQC verifies with the issuer master key"
    );
    assert_eq!(o.cryptogram.unwrap().0, CryptogramType::Tc);
    let request = r.session.online_request.as_ref().unwrap();
    assert_eq!(request.card.masked_pan(), "476173******0010");
    assert!(!format!("{request:?}").contains("4761739001010010"));
}

#[test]
fn host_decline_and_unreachable_host() {
    let pin = pin_of("visa-contact");
    let r = run_card(
        "visa-contact",
        Interface::Contact,
        50_000,
        &[&pin],
        Verdict::Decline,
    );
    assert_eq!(r.session.outcome.decision, Decision::Declined);
    assert_eq!(r.session.outcome.cryptogram.unwrap().0, CryptogramType::Aac);
    let r = run_card(
        "visa-contact",
        Interface::Contact,
        50_000,
        &[&pin],
        Verdict::Unreachable,
    );
    let o = &r.session.outcome;
    // Over the floor limit, the Visa default TAC declines when offline (Z3).
    assert_eq!(o.decision, Decision::Declined);
    assert_eq!(
        o.reason.as_deref(),
        Some("declined: the issuer could not be reached")
    );
}

/// Corrupts the issuer authentication data: the card refuses the ARPC.
struct BadArpc(TestIssuer);

impl poskit_sim::driver::Issuer for BadArpc {
    fn authorise(&mut self, request: &poskit_emv::OnlineRequest) -> poskit_emv::OnlineResponse {
        let mut response = self.0.authorise(request);
        if let Some(iad) = response.issuer_authentication_data.as_mut() {
            iad[0] ^= 0xFF;
        }
        response
    }
}

#[test]
fn card_declining_after_host_approval_asks_for_a_reversal() {
    let mut card = VirtualCard::named("visa-contact").unwrap();
    let mut issuer = BadArpc(TestIssuer::for_card(&card, Verdict::Approve));
    let mut kernel = Kernel::new(config());
    let pin = pin_of("visa-contact");
    let session = run(
        &mut kernel,
        txn(Interface::Contact, 50_000),
        &mut card,
        &mut ScriptedCardholder::with_pins(&[&pin]),
        &mut issuer,
    );
    let o = &session.outcome;
    assert_eq!(o.decision, Decision::DeclinedAfterHostApproval);
    assert!(o.tvr.is_set(TvrBit::ISSUER_AUTHENTICATION_FAILED));
    assert!(o.reason.as_deref().unwrap().contains("reverse"));
}

#[test]
fn wrong_pin_then_right_pin() {
    let pin = pin_of("mastercard-contact");
    let r = run_card(
        "mastercard-contact",
        Interface::Contact,
        2_000,
        &["0000", &pin],
        Verdict::Approve,
    );
    let o = &r.session.outcome;
    assert_eq!(o.decision, Decision::Approved);
    assert_eq!(o.cvm, Cvm::OfflinePlaintextPin);
    assert!(r.session.messages.contains(&Message::IncorrectPin));
    assert!(r.session.messages.contains(&Message::PinOk));
}

#[test]
fn pin_try_limit_exceeded() {
    let r = run_card(
        "mastercard-contact",
        Interface::Contact,
        2_000,
        &["0000", "0000", "0000", "0000"],
        Verdict::Approve,
    );
    let o = &r.session.outcome;
    assert!(
        o.tvr.is_set(TvrBit::PIN_TRY_LIMIT_EXCEEDED),
        "{:?}",
        o.tvr.describe()
    );
    assert_eq!(r.card.pin_tries_left(), 0);
    // The card's CVM list goes on to the next rule (online PIN, then signature).
    assert_ne!(o.cvm, Cvm::OfflinePlaintextPin);
    assert!(r.session.messages.contains(&Message::LastPinTry));
}

#[test]
fn bypassed_pin_sets_pin_not_entered() {
    let r = run_card(
        "mastercard-contact",
        Interface::Contact,
        2_000,
        &[],
        Verdict::Approve,
    );
    assert!(r.session.outcome.tvr.is_set(TvrBit::PIN_NOT_ENTERED));
}

#[test]
fn mastercard_contact_cda_offline_and_online() {
    let pin = pin_of("mastercard-contact");
    let r = run_card(
        "mastercard-contact",
        Interface::Contact,
        2_000,
        &[&pin],
        Verdict::Approve,
    );
    let o = &r.session.outcome;
    assert_eq!(o.decision, Decision::Approved);
    assert_eq!(o.tvr.to_string(), "0000000000", "{:?}", o.tvr.describe());
    assert!(o.tsi.is_set(Tsi::ODA_PERFORMED));
    // The cryptogram came out of the CDA signature and matches the card's.
    assert_eq!(
        o.cryptogram.unwrap().1,
        r.card.last_cryptogram().unwrap().cryptogram
    );
    let r = run_card(
        "mastercard-contact",
        Interface::Contact,
        50_000,
        &[&pin],
        Verdict::Approve,
    );
    let o = &r.session.outcome;
    assert_eq!(
        o.decision,
        Decision::Approved,
        "{:?} {:?}",
        o.reason,
        o.tvr.describe()
    );
    assert!(o.went_online);
    assert!(!o.tvr.is_set(TvrBit::CDA_FAILED));
    assert_eq!(r.issuer.last_arqc_valid, Some(true));
}

#[test]
fn unionpay_contact_lets_the_cardholder_choose() {
    let mut card = VirtualCard::named("unionpay-contact").unwrap();
    let mut kernel = Kernel::new(config());
    kernel.start(txn(Interface::Contact, 2_000));
    let mut offered = None;
    let outcome = loop {
        match kernel.poll().expect("the kernel always has something to do") {
            Action::Transmit(c) => {
                let r = card.transceive(&c).unwrap();
                kernel.handle_response(&r);
            }
            Action::SelectApplication(candidates) => {
                offered = Some(
                    candidates
                        .iter()
                        .map(|c| hex::encode_upper(&c.aid))
                        .collect::<Vec<_>>(),
                );
                let credit = candidates.iter().position(|c| c.aid.ends_with(&[0x02])).unwrap();
                kernel.provide(Input::Application(credit));
            }
            Action::NeedPin(req) => {
                assert_eq!(req.kind, PinKind::OfflinePlaintext);
                kernel.provide(Input::Pin(poskit_emv::PinEntry::Offline(
                    poskit_crypto::pin::Pin::new(&card.profile().pin).unwrap(),
                )));
            }
            Action::NeedOnlineAuthorisation(_) => panic!("a small amount completes offline"),
            Action::Message(_) => {}
            Action::Done(o) => break o,
        }
    };
    let offered = offered.expect("two applications: the cardholder chooses");
    assert_eq!(offered.len(), 2);
    assert_eq!(outcome.decision, Decision::Approved);
    assert_eq!(outcome.receipt.aid, "A000000333010102");
}

#[test]
fn expired_application() {
    let pin = pin_of("expired");
    let r = run_card("expired", Interface::Contact, 2_000, &[&pin], Verdict::Approve);
    let o = &r.session.outcome;
    assert!(o.tvr.is_set(TvrBit::EXPIRED_APPLICATION));
    // Visa's TAC online includes "expired application": the issuer decides.
    assert!(o.went_online);
    assert_eq!(o.decision, Decision::Approved);
}

#[test]
fn revoked_issuer_certificate_fails_cda() {
    let pin = pin_of("revoked-capk");
    let r = run_card(
        "revoked-capk",
        Interface::Contact,
        2_000,
        &[&pin],
        Verdict::Approve,
    );
    let o = &r.session.outcome;
    assert!(o.tvr.is_set(TvrBit::CDA_FAILED));
    assert!(o.oda_failure.as_deref().unwrap().contains("revoked"));
    assert!(o.went_online, "CDA failed is in the online TAC");
}

#[test]
fn damaged_issuer_certificate_fails_dda() {
    let pin = pin_of("bad-cert");
    let r = run_card("bad-cert", Interface::Contact, 2_000, &[&pin], Verdict::Approve);
    let o = &r.session.outcome;
    assert!(o.tvr.is_set(TvrBit::DDA_FAILED));
    assert!(o.oda_failure.as_deref().unwrap().contains("hash"));
}

#[test]
fn missing_ca_key_fails_oda() {
    let mut without = poskit_sim::ca::test_config();
    without.ca_keys.clear();
    let mut card = VirtualCard::named("visa-contact").unwrap();
    let pin = pin_of("visa-contact");
    let r = run_with(
        &mut card,
        "",
        Interface::Contact,
        2_000,
        &[&pin],
        Verdict::Approve,
        Arc::new(without),
    );
    let o = &r.session.outcome;
    assert!(o.tvr.is_set(TvrBit::DDA_FAILED));
    assert!(!o.tvr.is_set(TvrBit::ICC_DATA_MISSING));
    assert!(o.oda_failure.as_deref().unwrap().contains("no CA public key"));
}

#[test]
fn offline_decline() {
    let pin = pin_of("offline-decline");
    let r = run_card(
        "offline-decline",
        Interface::Contact,
        2_000,
        &[&pin],
        Verdict::Approve,
    );
    let o = &r.session.outcome;
    assert_eq!(o.decision, Decision::Declined);
    assert_eq!(o.cryptogram.unwrap().0, CryptogramType::Aac);
    assert!(!o.went_online);
    assert_eq!(r.issuer.requests, 0);
}

#[test]
fn online_pin() {
    let r = run_card(
        "online-pin",
        Interface::Contact,
        2_000,
        &["1234"],
        Verdict::Approve,
    );
    let o = &r.session.outcome;
    assert_eq!(o.cvm, Cvm::OnlinePin);
    assert!(o.tvr.is_set(TvrBit::ONLINE_PIN_ENTERED));
    assert!(r.session.online_request.as_ref().unwrap().online_pin);
    assert_eq!(o.decision, Decision::Approved);
}

#[test]
fn pulled_card_ends_the_session() {
    let pin = pin_of("pulled");
    let r = run_card("pulled", Interface::Contact, 2_000, &[&pin], Verdict::Approve);
    let o = &r.session.outcome;
    assert_eq!(o.decision, Decision::Terminated);
    assert!(o.reason.as_deref().unwrap().contains("removed"));
    assert!(o.cryptogram.is_none());
}

/// Flips a byte in the signature the card returns (9F4B), after the
/// cryptogram the terminal asked for.
struct TamperSignature<C: Card>(C);

impl<C: Card> Card for TamperSignature<C> {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut response = self.0.transceive(command)?;
        let signature_at = match command.get(1) {
            // INTERNAL AUTHENTICATE: the whole answer is the signature.
            Some(0x88) => Some(response.len() / 2),
            Some(0xAE | 0xA8) => response
                .windows(2)
                .position(|w| w == [0x9F, 0x4B])
                .map(|i| i + 10),
            _ => None,
        };
        if let Some(at) = signature_at.filter(|at| *at < response.len().saturating_sub(2)) {
            response[at] ^= 0x01;
        }
        Ok(response)
    }
}

fn run_tampered(name: &str, interface: Interface, amount: u64) -> Session {
    let card = VirtualCard::named(name).unwrap();
    let mut issuer = TestIssuer::for_card(&card, Verdict::Approve);
    let pin = card.profile().pin.clone();
    let mut tampered = TamperSignature(card);
    let mut kernel = Kernel::new(config());
    run(
        &mut kernel,
        txn(interface, amount),
        &mut tampered,
        &mut ScriptedCardholder::with_pins(&[&pin]),
        &mut issuer,
    )
}

#[test]
fn tampered_signatures_are_caught() {
    // DDA: INTERNAL AUTHENTICATE answer.
    let s = run_tampered("visa-contact", Interface::Contact, 2_000);
    assert!(s.outcome.tvr.is_set(TvrBit::DDA_FAILED));
    // CDA: a TC whose signature fails is a decline.
    let s = run_tampered("mastercard-contact", Interface::Contact, 2_000);
    assert!(s.outcome.tvr.is_set(TvrBit::CDA_FAILED));
    assert_eq!(s.outcome.decision, Decision::Declined);
    // fDDA on a contactless offline approval.
    let s = run_tampered("visa-contactless", Interface::Contactless, 2_000);
    assert!(s.outcome.tvr.is_set(TvrBit::DDA_FAILED));
    assert_ne!(s.outcome.decision, Decision::Approved);
}

// ---- Contactless ----

#[test]
fn visa_and_qpboc_contactless_offline_with_fdda() {
    for name in ["visa-contactless", "unionpay-qpboc"] {
        let r = run_card(name, Interface::Contactless, 2_000, &[], Verdict::Approve);
        let o = &r.session.outcome;
        assert_eq!(o.decision, Decision::Approved, "{name}: {:?}", o.reason);
        assert!(o.tsi.is_set(Tsi::ODA_PERFORMED), "{name}");
        assert!(!o.tvr.is_set(TvrBit::DDA_FAILED), "{name}");
        assert_eq!(o.cvm, Cvm::NoCvm, "{name}");
        assert!(r.session.messages.contains(&Message::RemoveCard));
    }
}

#[test]
fn contactless_over_the_floor_limit_goes_online() {
    for name in ["visa-contactless", "mastercard-contactless", "unionpay-qpboc"] {
        let r = run_card(name, Interface::Contactless, 60_000, &[], Verdict::Approve);
        let o = &r.session.outcome;
        assert_eq!(
            o.decision,
            Decision::OnlineCompleted { approved: true },
            "{name}: {:?}",
            o.reason
        );
        assert_eq!(o.cryptogram.unwrap().0, CryptogramType::Arqc, "{name}");
        assert_eq!(r.issuer.last_arqc_valid, Some(true), "{name}");
    }
}

#[test]
fn contactless_above_the_cvm_limit_asks_for_a_cvm() {
    let r = run_card(
        "visa-contactless",
        Interface::Contactless,
        150_000,
        &["1234"],
        Verdict::Approve,
    );
    let o = &r.session.outcome;
    assert!(
        matches!(o.cvm, Cvm::OnlinePin | Cvm::Signature | Cvm::ConsumerDevice),
        "{:?}",
        o.cvm
    );
    let r = run_card(
        "mastercard-contactless",
        Interface::Contactless,
        150_000,
        &["1234"],
        Verdict::Approve,
    );
    assert_eq!(
        r.session.outcome.cvm,
        Cvm::OnlinePin,
        "{:?}",
        r.session.outcome.cvm_results
    );
}

#[test]
fn contactless_above_the_transaction_limit_tries_another_interface() {
    let r = run_card(
        "visa-contactless",
        Interface::Contactless,
        600_000,
        &[],
        Verdict::Approve,
    );
    assert_eq!(r.session.outcome.decision, Decision::TryAnotherInterface);
    assert!(r.session.trace.is_empty(), "no APDU is sent above every limit");
}

#[test]
fn mastercard_contactless_cda() {
    let r = run_card(
        "mastercard-contactless",
        Interface::Contactless,
        2_000,
        &[],
        Verdict::Approve,
    );
    let o = &r.session.outcome;
    assert_eq!(
        o.decision,
        Decision::Approved,
        "{:?} {:?}",
        o.reason,
        o.tvr.describe()
    );
    assert!(o.tsi.is_set(Tsi::ODA_PERFORMED));
    assert!(!o.tvr.is_set(TvrBit::CDA_FAILED));
    let s = run_tampered("mastercard-contactless", Interface::Contactless, 2_000);
    assert!(s.outcome.tvr.is_set(TvrBit::CDA_FAILED));
}

#[test]
fn outcome_carries_receipt_data_without_the_pan() {
    let pin = pin_of("visa-contact");
    let r = run_card(
        "visa-contact",
        Interface::Contact,
        2_000,
        &[&pin],
        Verdict::Approve,
    );
    let receipt = &r.session.outcome.receipt;
    assert_eq!(receipt.masked_pan, "476173******0010");
    assert_eq!(receipt.aid, "A0000000031010");
    assert_eq!(receipt.cryptogram_name, "TC");
    assert_eq!(receipt.cryptogram.len(), 16);
    assert!(!format!("{:?}", r.session.outcome).contains("4761739001010010"));
    assert_eq!(
        r.session.outcome.card.as_ref().map(|c| c.pan.len()),
        Some(16),
        "the host layer still gets the PAN"
    );
    let _ = Tag(0x5A);
}

// ---- Configuration, risk management, scripts, contactless outcomes ----

#[test]
fn configuration_comes_from_json_and_can_be_replaced() {
    let json = poskit_sim::ca::test_config_json();
    let parsed = Config::from_json(&json).unwrap();
    assert_eq!(parsed, poskit_sim::ca::test_config());
    // A damaged CA key is refused with the key named.
    let broken = json.replacen("\"checksum\": \"", "\"checksum\": \"00", 1);
    let err = Config::from_json(&broken).unwrap_err().to_string();
    assert!(err.contains("CA public key") && err.contains("checksum"), "{err}");
    // A kernel picks up a new configuration at the next transaction.
    let pin = pin_of("visa-contact");
    let mut kernel = Kernel::new(config());
    let mut without = poskit_sim::ca::test_config();
    without.ca_keys.clear();
    kernel.set_config(Arc::new(without));
    let mut card = VirtualCard::named("visa-contact").unwrap();
    let mut issuer = TestIssuer::for_card(&card, Verdict::Approve);
    let s = run(
        &mut kernel,
        txn(Interface::Contact, 2_000),
        &mut card,
        &mut ScriptedCardholder::with_pins(&[&pin]),
        &mut issuer,
    );
    assert!(s.outcome.tvr.is_set(TvrBit::DDA_FAILED));
}

#[test]
fn exception_file_and_random_selection() {
    let pin = pin_of("visa-contact");
    let mut hot = poskit_sim::ca::test_config();
    hot.exception_list.push("4761739001010010".into());
    let mut card = VirtualCard::named("visa-contact").unwrap();
    let r = run_with(
        &mut card,
        "",
        Interface::Contact,
        2_000,
        &[&pin],
        Verdict::Approve,
        Arc::new(hot),
    );
    assert!(r.session.outcome.tvr.is_set(TvrBit::CARD_ON_EXCEPTION_FILE));
    // Between threshold (50.00) and floor limit (100.00): 20% to 50%.
    let mut card = VirtualCard::named("visa-contact").unwrap();
    let mut kernel = Kernel::new(config());
    let mut issuer = TestIssuer::for_card(&card, Verdict::Approve);
    let mut t = txn(Interface::Contact, 6_000);
    t.random_selection = 1;
    let s = run(
        &mut kernel,
        t,
        &mut card,
        &mut ScriptedCardholder::with_pins(&[&pin]),
        &mut issuer,
    );
    assert!(s.outcome.tvr.is_set(TvrBit::RANDOMLY_SELECTED_ONLINE));
    assert!(s.outcome.went_online);
}

fn run_with_script(after_final: bool, bad_mac: bool) -> (Session, VirtualCard) {
    let mut card = VirtualCard::named("visa-contact").unwrap();
    let pin = pin_of("visa-contact");
    let mut issuer = TestIssuer::for_card(&card, Verdict::Approve);
    issuer.put_data = Some(poskit_sim::issuer::PutDataScript {
        tag: 0x9F14,
        value: vec![0x05],
        after_final,
        bad_mac,
    });
    let mut kernel = Kernel::new(config());
    let s = run(
        &mut kernel,
        txn(Interface::Contact, 50_000),
        &mut card,
        &mut ScriptedCardholder::with_pins(&[&pin]),
        &mut issuer,
    );
    (s, card)
}

#[test]
fn issuer_scripts_before_and_after_the_final_generate_ac() {
    for after in [false, true] {
        let (s, card) = run_with_script(after, false);
        let o = &s.outcome;
        assert_eq!(o.decision, Decision::Approved, "{:?}", o.reason);
        assert!(o.tsi.is_set(Tsi::SCRIPT_PROCESSING_PERFORMED));
        assert_eq!(
            o.script_results,
            [0x20, 0, 0, 0, 1],
            "9F5B: script 00000001 performed"
        );
        assert_eq!(card.scripts_applied(), 1);
        assert!(!o.tvr.is_set(TvrBit::SCRIPT_FAILED_BEFORE_FINAL_AC));
    }
    let (s, card) = run_with_script(true, true);
    let o = &s.outcome;
    assert!(o.tvr.is_set(TvrBit::SCRIPT_FAILED_AFTER_FINAL_AC));
    assert_eq!(o.script_results[0], 0x11, "failed at its first command");
    assert_eq!(card.scripts_applied(), 0);
    let (s, _) = run_with_script(false, true);
    assert!(s.outcome.tvr.is_set(TvrBit::SCRIPT_FAILED_BEFORE_FINAL_AC));
}

/// A phone that wants its owner to unlock it first answers GPO with 6986.
struct LockedPhone(VirtualCard);

impl Card for LockedPhone {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        if command.get(1) == Some(&0xA8) {
            return Ok(vec![0x69, 0x86]);
        }
        self.0.transceive(command)
    }
}

/// A card that leaves the field after `n` exchanges.
struct LeavesField(VirtualCard, usize);

impl Card for LeavesField {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        if self.1 == 0 {
            return Err(CardError::Removed);
        }
        self.1 -= 1;
        self.0.transceive(command)
    }
}

#[test]
fn contactless_see_phone_and_try_again() {
    let card = VirtualCard::named("visa-contactless").unwrap();
    let mut issuer = TestIssuer::for_card(&card, Verdict::Approve);
    let mut kernel = Kernel::new(config());
    let s = run(
        &mut kernel,
        txn(Interface::Contactless, 2_000),
        &mut LockedPhone(card.clone()),
        &mut ScriptedCardholder::default(),
        &mut issuer,
    );
    assert_eq!(s.outcome.decision, Decision::SeePhone);
    assert!(s.messages.contains(&Message::SeePhone));
    let s = run(
        &mut kernel,
        txn(Interface::Contactless, 2_000),
        &mut LeavesField(card, 2),
        &mut ScriptedCardholder::default(),
        &mut issuer,
    );
    assert_eq!(s.outcome.decision, Decision::TryAgain);
}
