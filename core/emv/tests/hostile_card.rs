//! A card that answers anything: the kernel must end every session with an
//! outcome, never panic, never loop forever (DESIGN rule 6).

use std::sync::Arc;

use poskit_emv::{Action, Config, Input, Interface, Kernel, OnlineResponse, PinEntry, TransactionParams};
use proptest::prelude::*;

fn config() -> Arc<Config> {
    let mut c = Config::card_reader();
    for aid in &mut c.aids {
        aid.contactless = Some(poskit_emv::ContactlessLimits {
            transaction_limit: 100_000,
            floor_limit: 5_000,
            cvm_limit: 5_000,
        });
        aid.kernel_id = 3;
    }
    Arc::new(c)
}

fn params(interface: Interface) -> TransactionParams {
    TransactionParams {
        interface,
        amount: 1234,
        other_amount: 0,
        transaction_type: 0,
        date: [0x26, 0x11, 0x21],
        time: [0x12, 0, 0],
        unpredictable_number: [1, 2, 3, 4],
        random_selection: 50,
        entropy: [7; 32],
        sequence_counter: 1,
        force_online: false,
    }
}

/// Runs one session where the card's answers come from `responses` (then
/// `6A82`), and every request is answered in a fixed way.
fn run(interface: Interface, read: bool, responses: &[Vec<u8>]) -> bool {
    let mut kernel = Kernel::new(config());
    if read {
        kernel.start_card_read(params(interface));
    } else {
        kernel.start(params(interface));
    }
    let mut answers = responses.iter();
    for _ in 0..10_000 {
        match kernel.poll() {
            Some(Action::Transmit(_)) => {
                let r = answers.next().cloned().unwrap_or_else(|| vec![0x6A, 0x82]);
                kernel.handle_response(&r);
            }
            Some(Action::SelectApplication(c)) => kernel.provide(Input::Application(c.len() - 1)),
            Some(Action::NeedPin(_)) => kernel.provide(Input::Pin(PinEntry::Offline(
                poskit_crypto::pin::Pin::new("1234").unwrap(),
            ))),
            Some(Action::NeedOnlineAuthorisation(_)) => kernel.provide(Input::Online(OnlineResponse {
                approved: true,
                response_code: *b"00",
                issuer_authentication_data: Some(vec![1; 10]),
                issuer_scripts: responses.first().cloned().unwrap_or_default(),
                unreachable: false,
            })),
            Some(Action::Message(_)) => {}
            Some(Action::Done(_)) => return true,
            None => return false,
        }
    }
    false
}

/// Plausible card answers: real templates with random contents, and noise.
fn answer() -> impl Strategy<Value = Vec<u8>> {
    let sw = prop_oneof![
        Just([0x90, 0x00]),
        Just([0x61, 0x10]),
        Just([0x6C, 0x08]),
        Just([0x63, 0xC1]),
        any::<[u8; 2]>()
    ];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(|v| {
            let mut t = vec![0x6F, v.len() as u8];
            t.extend(v);
            t
        }),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(|v| {
            let mut t = vec![0x77, v.len() as u8];
            t.extend(v);
            t
        }),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(|v| {
            let mut t = vec![0x70, v.len() as u8];
            t.extend(v);
            t
        }),
    ];
    (body, sw).prop_map(|(mut b, sw)| {
        b.extend(sw);
        b
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn contact_sessions_always_end(responses in proptest::collection::vec(answer(), 0..40)) {
        prop_assert!(run(Interface::Contact, false, &responses));
    }

    #[test]
    fn contactless_sessions_always_end(responses in proptest::collection::vec(answer(), 0..40)) {
        prop_assert!(run(Interface::Contactless, false, &responses));
    }

    #[test]
    fn card_reads_always_end(responses in proptest::collection::vec(answer(), 0..40)) {
        prop_assert!(run(Interface::Contact, true, &responses));
    }
}

#[test]
fn endless_61_chains_still_end() {
    // A card that keeps saying "more data" must not hold the kernel forever.
    let responses = vec![vec![0x61, 0x01]; 300];
    assert!(run(Interface::Contact, false, &responses));
}
