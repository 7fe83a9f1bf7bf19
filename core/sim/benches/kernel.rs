//! Kernel CPU time for whole transactions, card time excluded: each
//! virtual card session is recorded once, then its answers are fed back to
//! a fresh kernel with the same inputs, so only the kernel's work (TLV,
//! DOLs, RSA recoveries for ODA, cryptogram handling) is measured.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use poskit_emv::{
    Action, Config, Decision, Input, Interface, Kernel, OnlineRequest, OnlineResponse, PinEntry,
    TransactionParams,
};
use poskit_sim::driver::{Issuer, ScriptedCardholder, run};
use poskit_sim::issuer::{TestIssuer, Verdict};
use poskit_sim::virtual_card::VirtualCard;

fn txn(interface: Interface, amount: u64) -> TransactionParams {
    TransactionParams {
        interface,
        amount,
        other_amount: 0,
        transaction_type: 0,
        date: [0x26, 0x11, 0x21],
        time: [0x10, 0x30, 0x00],
        unpredictable_number: [0xA1, 0xB2, 0xC3, 0xD4],
        random_selection: 99,
        entropy: [0x5A; 32],
        sequence_counter: 7,
        force_online: false,
    }
}

/// One recorded session: the card's answers and the issuer's.
struct Recording {
    answers: Vec<Vec<u8>>,
    online: Option<OnlineResponse>,
    pin: String,
}

fn record(profile: &str, interface: Interface, amount: u64, config: &Arc<Config>) -> Recording {
    let mut card = VirtualCard::named(profile).expect("profile");
    let pin = card.profile().pin.clone();
    let mut issuer = TestIssuer::for_card(&card, Verdict::Approve);
    let mut online = None;
    let mut recording_issuer = |r: &OnlineRequest| {
        let answer = issuer.authorise(r);
        online = Some(answer.clone());
        answer
    };
    let mut kernel = Kernel::new(config.clone());
    let session = run(
        &mut kernel,
        txn(interface, amount),
        &mut card,
        &mut ScriptedCardholder::with_pins(&[&pin]),
        &mut recording_issuer,
    );
    assert!(
        matches!(
            session.outcome.decision,
            Decision::Approved | Decision::OnlineCompleted { approved: true }
        ),
        "{profile}: {:?}",
        session.outcome.reason
    );
    Recording {
        answers: session.trace.into_iter().map(|(_, r)| r).collect(),
        online,
        pin,
    }
}

fn replay(kernel: &mut Kernel, interface: Interface, amount: u64, rec: &Recording) -> Decision {
    kernel.start(txn(interface, amount));
    let mut answers = rec.answers.iter();
    loop {
        match kernel.poll().expect("the kernel always has something to do") {
            Action::Transmit(_) => kernel.handle_response(answers.next().expect("recorded answer")),
            Action::NeedPin(_) => {
                let pin = poskit_crypto::pin::Pin::new(&rec.pin).expect("profile PIN");
                kernel.provide(Input::Pin(PinEntry::Offline(pin)))
            }
            Action::NeedOnlineAuthorisation(_) => {
                kernel.provide(Input::Online(rec.online.clone().expect("recorded")))
            }
            Action::SelectApplication(_) => kernel.provide(Input::Application(0)),
            Action::Message(_) => {}
            Action::Done(o) => return o.decision,
        }
    }
}

fn bench(c: &mut Criterion) {
    let config = Arc::new(poskit_sim::ca::test_config());
    let cases = [
        (
            "kernel: contactless Visa qVSDC with fDDA (offline)",
            "visa-contactless",
            Interface::Contactless,
            2_000,
        ),
        (
            "kernel: contactless UnionPay qPBOC with fDDA (offline)",
            "unionpay-qpboc",
            Interface::Contactless,
            2_000,
        ),
        (
            "kernel: contact Mastercard with CDA (offline PIN, offline TC)",
            "mastercard-contact",
            Interface::Contact,
            2_000,
        ),
        (
            "kernel: contact Mastercard with CDA (online, two GENERATE AC)",
            "mastercard-contact",
            Interface::Contact,
            50_000,
        ),
    ];
    for (name, profile, interface, amount) in cases {
        let rec = record(profile, interface, amount, &config);
        let mut kernel = Kernel::new(config.clone());
        assert!(matches!(
            replay(&mut kernel, interface, amount, &rec),
            Decision::Approved | Decision::OnlineCompleted { approved: true }
        ));
        c.bench_function(name, |b| {
            b.iter(|| replay(&mut kernel, interface, black_box(amount), &rec))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
