//! Any bytes as the card's answers, for contact, contactless and card-read
//! sessions: every session ends with an outcome, and nothing panics.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use poskit_emv::{Action, Config, ContactlessLimits, Input, Interface, Kernel, OnlineResponse, PinEntry, TransactionParams};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let mut config = Config::card_reader();
    for aid in &mut config.aids {
        aid.contactless = Some(ContactlessLimits { transaction_limit: 100_000, floor_limit: 5_000, cvm_limit: 5_000 });
        aid.kernel_id = 3;
    }
    let interface = if mode & 1 == 0 { Interface::Contact } else { Interface::Contactless };
    let params = TransactionParams {
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
        force_online: mode & 4 != 0,
    };
    let mut kernel = Kernel::new(Arc::new(config));
    if mode & 2 != 0 { kernel.start_card_read(params) } else { kernel.start(params) }
    // Each answer: a length byte, then that many bytes.
    let mut next = || {
        let (&len, tail) = rest.split_first()?;
        let take = (len as usize).min(tail.len());
        let (answer, tail) = tail.split_at(take);
        rest = tail;
        Some(answer.to_vec())
    };
    for _ in 0..20_000 {
        match kernel.poll() {
            Some(Action::Transmit(_)) => kernel.handle_response(&next().unwrap_or(vec![0x6A, 0x82])),
            Some(Action::SelectApplication(c)) => kernel.provide(Input::Application(c.len() - 1)),
            Some(Action::NeedPin(_)) => kernel.provide(Input::Pin(PinEntry::Offline(
                poskit_crypto::pin::Pin::new("1234").expect("valid PIN"),
            ))),
            Some(Action::NeedOnlineAuthorisation(_)) => kernel.provide(Input::Online(OnlineResponse {
                approved: mode & 8 != 0,
                response_code: *b"00",
                issuer_authentication_data: next(),
                issuer_scripts: next().unwrap_or_default(),
                unreachable: mode & 16 != 0,
            })),
            Some(Action::Message(_)) => {}
            Some(Action::Done(_)) => return,
            None => panic!("the kernel stopped without an outcome"),
        }
    }
    panic!("the session did not end");
});
