//! Any bytes as a card's answers to the electronic cash balance reader: it
//! ends with a result within its exchange limit, and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poskit_emv::ec_balance::{EcAction, EcBalanceReader, MAX_EXCHANGES, UNIONPAY_AIDS};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    // Each answer: a length byte, then that many bytes; then 6A82.
    let mut next = || {
        let Some((&len, tail)) = rest.split_first() else { return vec![0x6A, 0x82] };
        let take = (len as usize).min(tail.len());
        let (answer, tail) = tail.split_at(take);
        rest = tail;
        answer.to_vec()
    };
    let mut reader = EcBalanceReader::new(&UNIONPAY_AIDS);
    for _ in 0..=MAX_EXCHANGES {
        match reader.poll() {
            EcAction::Transmit(_) => reader.handle_response(&next()),
            EcAction::Done(_) => return,
        }
    }
    assert!(matches!(reader.poll(), EcAction::Done(_)), "the reader must stop");
});
