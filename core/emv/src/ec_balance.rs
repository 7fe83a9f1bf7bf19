//! The PBOC electronic cash balance of a chip card (JR/T 0025: UnionPay's
//! offline purse inside a debit or credit application), as a sans-IO
//! reader: it selects the first application of a list the card has, then
//! reads with GET DATA the balance (9F79) and, where the card has them, the
//! balance limit (9F77) and the reset threshold (9F6D), each n12 in minor
//! units.
//!
//! Feed it the card's answers, drain it of commands:
//!
//! ```
//! use poskit_emv::ec_balance::{EcAction, EcBalanceReader, UNIONPAY_AIDS};
//!
//! let mut reader = EcBalanceReader::new(&UNIONPAY_AIDS);
//! match reader.poll() {
//!     EcAction::Transmit(select) => assert_eq!(select[1], 0xA4),
//!     other => panic!("a SELECT comes first, not {other:?}"),
//! }
//! // ... no such application on this card, nor any other of the list:
//! for _ in 0..UNIONPAY_AIDS.len() {
//!     reader.handle_response(&[0x6A, 0x82]);
//! }
//! assert!(matches!(reader.poll(), EcAction::Done(Err(_))));
//! ```
//!
//! The card is untrusted: any answer ends in [`EcAction::Done`] within
//! [`MAX_EXCHANGES`] commands, never a panic.

use poskit_tlv::Tag;

use crate::apdu;
use crate::data::bcd_to_u64;

/// UnionPay AIDs that may hold the purse, in the order tried: debit,
/// credit, quasi-credit, then the stand-alone electronic cash application.
pub const UNIONPAY_AIDS: [&[u8]; 4] = [
    &[0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01],
    &[0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x02],
    &[0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x03],
    &[0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x06],
];

/// A card that needs more commands than this is not answering sensibly
/// (three AIDs with GET RESPONSE and a retry each stay well below it).
pub const MAX_EXCHANGES: u32 = 32;

const BALANCE: u16 = 0x9F79;
const BALANCE_LIMIT: u16 = 0x9F77;
const RESET_THRESHOLD: u16 = 0x9F6D;

/// What the purse holds, minor units of the application's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcBalance {
    /// The application the purse lives in.
    pub aid: Vec<u8>,
    /// 9F79.
    pub balance: u64,
    /// 9F77, when the card answers it well-formed.
    pub balance_limit: Option<u64>,
    /// 9F6D, when the card answers it well-formed.
    pub reset_threshold: Option<u64>,
}

/// Why no balance could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcError {
    #[error("the card has none of the applications asked for: use a UnionPay chip card")]
    NoApplication,
    #[error("the card has no electronic cash purse")]
    NoPurse,
    #[error("the card's electronic cash balance is malformed: {0}")]
    Malformed(&'static str),
    #[error("card protocol error: {0}; present the card again")]
    CardProtocol(&'static str),
}

/// What the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcAction {
    /// Send this command APDU and hand the answer to
    /// [`EcBalanceReader::handle_response`].
    Transmit(Vec<u8>),
    /// Finished; every later poll says the same.
    Done(Result<EcBalance, EcError>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Select,
    Read(u16),
}

/// The reader's state machine (module documentation).
#[derive(Debug, Clone)]
pub struct EcBalanceReader {
    aids: Vec<Vec<u8>>,
    aid: usize,
    stage: Stage,
    /// The command of the current stage, resent with a corrected Le.
    command: Vec<u8>,
    /// What goes out next: the stage's command or a GET RESPONSE.
    outgoing: Vec<u8>,
    exchanges: u32,
    /// Some application was selected, so a missing purse is the answer.
    selected_any: bool,
    found: Option<EcBalance>,
    done: Option<Result<EcBalance, EcError>>,
}

impl EcBalanceReader {
    /// Tries `aids` in order; [`UNIONPAY_AIDS`] for any UnionPay card.
    pub fn new(aids: &[&[u8]]) -> Self {
        let mut reader = EcBalanceReader {
            aids: aids.iter().map(|a| a.to_vec()).collect(),
            aid: 0,
            stage: Stage::Select,
            command: Vec::new(),
            outgoing: Vec::new(),
            exchanges: 0,
            selected_any: false,
            found: None,
            done: None,
        };
        reader.select(0);
        reader
    }

    /// The next thing to do. Until an answer comes in, the same command.
    pub fn poll(&self) -> EcAction {
        match &self.done {
            Some(result) => EcAction::Done(result.clone()),
            None => EcAction::Transmit(self.outgoing.clone()),
        }
    }

    /// The card's answer (data and status word) to the last command.
    pub fn handle_response(&mut self, rapdu: &[u8]) {
        if self.done.is_some() {
            return;
        }
        self.exchanges += 1;
        if self.exchanges > MAX_EXCHANGES {
            return self.finish(Err(EcError::CardProtocol(
                "the card kept asking for more exchanges",
            )));
        }
        let Ok(response) = apdu::Response::parse(rapdu) else {
            return self.finish(Err(EcError::CardProtocol(
                "the card answered with fewer than two bytes",
            )));
        };
        let [sw1, sw2] = response.sw.to_be_bytes();
        match sw1 {
            // More data waiting (T=0, Book 1 9.3.1.3).
            0x61 => self.outgoing = apdu::get_response(sw2),
            // Wrong Le: the same command with the length the card wants.
            0x6C => self.outgoing = apdu::with_le(&self.command, sw2),
            _ => match self.stage {
                Stage::Select => self.selected(response.ok()),
                Stage::Read(tag) => self.read(tag, response.ok().then_some(response.data)),
            },
        }
    }

    fn finish(&mut self, result: Result<EcBalance, EcError>) {
        self.done = Some(result);
    }

    fn send(&mut self, stage: Stage, command: Vec<u8>) {
        self.stage = stage;
        self.outgoing = command.clone();
        self.command = command;
    }

    fn select(&mut self, aid: usize) {
        self.aid = aid;
        match self.aids.get(aid) {
            Some(name) => {
                let command = apdu::select(name, false);
                self.send(Stage::Select, command);
            }
            None if self.selected_any => self.finish(Err(EcError::NoPurse)),
            None => self.finish(Err(EcError::NoApplication)),
        }
    }

    fn selected(&mut self, ok: bool) {
        // Anything but 9000 (not found, blocked: 6283) leaves the
        // application out, as application selection would (Book 1 12.3.2).
        if !ok {
            return self.select(self.aid + 1);
        }
        self.selected_any = true;
        self.send(Stage::Read(BALANCE), apdu::get_data(BALANCE));
    }

    fn read(&mut self, tag: u16, data: Option<&[u8]>) {
        let amount = data.map(|d| n12(d, tag));
        match tag {
            BALANCE => match amount {
                // No purse in this application: perhaps in the next one.
                None => self.select(self.aid + 1),
                Some(None) => self.finish(Err(EcError::Malformed("9F79 is not six BCD bytes"))),
                Some(Some(balance)) => {
                    self.found = Some(EcBalance {
                        aid: self.aids.get(self.aid).cloned().unwrap_or_default(),
                        balance,
                        balance_limit: None,
                        reset_threshold: None,
                    });
                    self.send(Stage::Read(BALANCE_LIMIT), apdu::get_data(BALANCE_LIMIT));
                }
            },
            BALANCE_LIMIT => {
                if let Some(found) = &mut self.found {
                    found.balance_limit = amount.flatten();
                }
                self.send(Stage::Read(RESET_THRESHOLD), apdu::get_data(RESET_THRESHOLD));
            }
            _ => {
                if let Some(found) = &mut self.found {
                    found.reset_threshold = amount.flatten();
                }
                let result = self
                    .found
                    .take()
                    .ok_or(EcError::CardProtocol("read out of order"));
                self.finish(result);
            }
        }
    }
}

/// The value of `tag` in a GET DATA answer (the TLV itself, Book 3
/// 6.5.7.4) as n12: six BCD bytes.
fn n12(data: &[u8], tag: u16) -> Option<u64> {
    let tlv = poskit_tlv::find(data, Tag(u32::from(tag))).ok()??;
    match tlv.value() {
        v @ [_, _, _, _, _, _] => bcd_to_u64(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs the reader against answers chosen by `card` from each command.
    fn run(aids: &[&[u8]], mut card: impl FnMut(&[u8]) -> Vec<u8>) -> (Result<EcBalance, EcError>, usize) {
        let mut reader = EcBalanceReader::new(aids);
        let mut sent = 0;
        loop {
            match reader.poll() {
                EcAction::Transmit(command) => {
                    sent += 1;
                    assert!(sent <= MAX_EXCHANGES as usize + 1, "the reader must stop");
                    reader.handle_response(&card(&command));
                }
                EcAction::Done(result) => return (result, sent),
            }
        }
    }

    fn with_sw(data: &[u8], sw: u16) -> Vec<u8> {
        [data, &sw.to_be_bytes()].concat()
    }

    /// A card with a debit application without a purse and a credit
    /// application with one.
    fn purse_card() -> impl FnMut(&[u8]) -> Vec<u8> {
        let mut in_credit = false;
        move |command| match command {
            [0x00, 0xA4, 0x04, 0x00, _, name @ ..] => {
                in_credit = name.starts_with(UNIONPAY_AIDS[1]);
                if in_credit || name.starts_with(UNIONPAY_AIDS[0]) {
                    with_sw(&[0x6F, 0x00], 0x9000)
                } else {
                    with_sw(&[], 0x6A82)
                }
            }
            [0x80, 0xCA, 0x9F, 0x79, 0x00] if in_credit => {
                with_sw(&[0x9F, 0x79, 0x06, 0, 0, 0, 0x01, 0x23, 0x45], 0x9000)
            }
            [0x80, 0xCA, 0x9F, 0x77, 0x00] => with_sw(&[0x9F, 0x77, 0x06, 0, 0, 0, 0x10, 0, 0], 0x9000),
            _ => with_sw(&[], 0x6A88),
        }
    }

    #[test]
    fn reads_the_purse_of_the_first_application_that_has_one() {
        let (result, sent) = run(&UNIONPAY_AIDS, purse_card());
        assert_eq!(
            result,
            Ok(EcBalance {
                aid: UNIONPAY_AIDS[1].to_vec(),
                balance: 12_345,
                balance_limit: Some(100_000),
                reset_threshold: None,
            })
        );
        // Select debit, 9F79 (none), select credit, 9F79, 9F77, 9F6D.
        assert_eq!(sent, 6);
    }

    #[test]
    fn no_application_and_no_purse_are_told_apart() {
        let (none, _) = run(&UNIONPAY_AIDS, |_| vec![0x6A, 0x82]);
        assert_eq!(none, Err(EcError::NoApplication));
        let (no_purse, _) = run(&UNIONPAY_AIDS[..1], |c| {
            if c[1] == 0xA4 {
                vec![0x6F, 0x00, 0x90, 0x00]
            } else {
                vec![0x6A, 0x88]
            }
        });
        assert_eq!(no_purse, Err(EcError::NoPurse));
        assert_eq!(run(&[], |_| vec![0x90, 0x00]).0, Err(EcError::NoApplication));
    }

    #[test]
    fn get_response_and_wrong_le_are_followed() {
        let mut log = Vec::new();
        let (result, _) = run(&UNIONPAY_AIDS[..1], |c| {
            log.push(c.to_vec());
            match c {
                [0x00, 0xA4, ..] => vec![0x61, 0x02],
                [0x00, 0xC0, 0x00, 0x00, 0x02] => vec![0x6F, 0x00, 0x90, 0x00],
                [0x80, 0xCA, 0x9F, 0x79, 0x00] => vec![0x6C, 0x09],
                [0x80, 0xCA, 0x9F, 0x79, 0x09] => vec![0x9F, 0x79, 0x06, 0, 0, 0, 0, 0x99, 0x99, 0x90, 0x00],
                _ => vec![0x6A, 0x88],
            }
        });
        assert_eq!(result.unwrap().balance, 9_999);
        assert_eq!(log[1], [0x00, 0xC0, 0x00, 0x00, 0x02]);
        assert_eq!(log[3], [0x80, 0xCA, 0x9F, 0x79, 0x09]);
    }

    #[test]
    fn a_malformed_balance_is_an_error_and_malformed_extras_are_left_out() {
        for bad in [
            vec![0x9F, 0x79, 0x05, 0, 0, 0, 0, 1],
            vec![0x9F, 0x79, 0x06, 0, 0, 0, 0, 0x1A, 0],
            vec![0x9F, 0x78, 0x06, 0, 0, 0, 0, 0x10, 0],
            vec![0x9F, 0x79, 0x09, 0],
        ] {
            let (result, _) = run(&UNIONPAY_AIDS[..1], |c| match c {
                [0x00, 0xA4, ..] => vec![0x90, 0x00],
                _ => with_sw(&bad, 0x9000),
            });
            assert!(matches!(result, Err(EcError::Malformed(_))), "{bad:02X?}");
        }
        let (result, _) = run(&UNIONPAY_AIDS[..1], |c| match c {
            [0x00, 0xA4, ..] => vec![0x90, 0x00],
            [_, _, 0x9F, 0x79, _] => vec![0x9F, 0x79, 0x06, 0, 0, 0, 0, 0x10, 0, 0x90, 0x00],
            _ => vec![0x9F, 0x77, 0x02, 0xFF, 0xFF, 0x90, 0x00],
        });
        let found = result.unwrap();
        assert_eq!(
            (found.balance, found.balance_limit, found.reset_threshold),
            (1_000, None, None)
        );
    }

    #[test]
    fn a_card_that_never_stops_asking_is_cut_off() {
        let (result, sent) = run(&UNIONPAY_AIDS, |_| vec![0x61, 0x10]);
        assert!(matches!(result, Err(EcError::CardProtocol(_))));
        assert_eq!(sent, MAX_EXCHANGES as usize + 1);
    }

    proptest! {
        #[test]
        fn any_card_answers_end_in_an_outcome(
            answers in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..24), 0..40),
            sws in proptest::collection::vec(
                prop_oneof![Just(0x9000u16), Just(0x6A82), Just(0x6A88), Just(0x6283), Just(0x6100), any::<u16>()],
                0..40,
            ),
        ) {
            let mut i = 0;
            let _ = run(&UNIONPAY_AIDS, |_| {
                let data = answers.get(i).cloned().unwrap_or_default();
                let sw = sws.get(i).copied().unwrap_or(0x9000);
                i += 1;
                // Now and then a bare, truncated answer.
                if i % 7 == 0 { data } else { with_sw(&data, sw) }
            });
        }
    }
}
