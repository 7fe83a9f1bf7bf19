//! Closed-loop prepaid cards at the simulated host (docs/prepaid.md): the
//! stored-value accounts, what issue, top up, pay and balance do to them,
//! and how a reversal unwinds each. The checks run in the order of the
//! module documentation: card range, PIN block, amount rule, account.

use poskit_crypto::hash::sha256;
use poskit_crypto::pin::{Pan, PinBlockFormat, decrypt_pin_block};
use poskit_iso8583::Message;
use poskit_iso8583::cup::{balance_field, prepaid};
use poskit_iso8583::sub::TypeCode;

use super::{Ctx, Fault, Host, amount_of, amount_rule, pan_of};
use crate::acquirer::ledger::{AccountKey, EntrySource, EntryState, LedgerEntry};
use crate::acquirer::{WorkingKeys, code};
use crate::platform::rules::luhn_ok;
use crate::virtual_card::profile::masked_pan;

/// One closed-loop card's stored value.
// No Debug: the PIN hash stays out of any print.
#[derive(Clone, Default)]
pub(crate) struct PrepaidAccount {
    /// Minor units.
    pub(crate) balance: u64,
    /// Issued and not reversed since.
    pub(crate) active: bool,
    /// SHA-256 over the account key and the PIN set at issue; none for a
    /// card issued without a PIN.
    pin_hash: Option<[u8; 32]>,
}

/// A card number in the programme's range with a valid check digit: the
/// `serial`-th card of [`prepaid::BIN`], 16 digits.
pub fn prepaid_card_number(serial: u32) -> String {
    let body = format!("{}{:09}", prepaid::BIN, serial % 1_000_000_000);
    // One of the ten check digits always makes the Luhn sum a multiple of 10.
    let check = (0..10u8).find(|d| luhn_ok(&format!("{body}{d}"))).unwrap_or(0);
    format!("{body}{check}")
}

fn pin_hash(account: AccountKey, pin: &str) -> [u8; 32] {
    sha256(&[&account.0[..], pin.as_bytes()].concat())
}

impl Host {
    pub(crate) fn prepaid_account(&self, pan: &str) -> Option<&PrepaidAccount> {
        self.prepaid.get(&self.account(pan))
    }

    /// Issue (70), top up (71), pay (72) or balance (73).
    pub(super) fn prepaid(
        &mut self,
        ctx: &Ctx,
        kind: TypeCode,
        keys: &WorkingKeys,
        request: &Message,
        m: &mut Message,
    ) -> Fault {
        let rrn = self.rrn();
        m.set_text(37, rrn.clone());
        let amount = if kind.carries_amount() {
            match amount_of(request) {
                Some(a) => a,
                None => {
                    m.set_text(39, code::FORMAT_ERROR);
                    return Fault::None;
                }
            }
        } else {
            0
        };
        let Some(pan) = pan_of(request) else {
            m.set_text(39, code::FORMAT_ERROR);
            return Fault::None;
        };
        if !prepaid::in_range(&pan) || !luhn_ok(&pan) {
            m.set_text(39, code::UNKNOWN_CARD);
            return Fault::None;
        }
        let entered = match request.binary(52) {
            None => None,
            Some(block) => match Pan::new(&pan)
                .and_then(|p| decrypt_pin_block(&keys.pin_key, PinBlockFormat::Iso0, block, Some(&p)))
            {
                Ok(pin) => Some(pin),
                Err(_) => {
                    m.set_text(39, code::PIN_FORMAT_ERROR);
                    return Fault::None;
                }
            },
        };
        let mut fault = Fault::None;
        if kind != TypeCode::PrepaidBalance {
            match amount_rule(amount) {
                Ok(f) => fault = f,
                Err(c) => {
                    m.set_text(39, c);
                    return Fault::None;
                }
            }
        }
        let key = self.account(&pan);
        let account = self.prepaid.get(&key).cloned().unwrap_or_default();
        let entered_hash = entered.as_ref().map(|p| pin_hash(key, p.expose_secret()));
        let max = self.config.prepaid_max_balance;
        let load = |balance: u64| match balance.checked_add(amount) {
            Some(b) if b <= max => Ok(b),
            _ => Err(code::EXCEEDS_LIMIT),
        };
        let after = match kind {
            TypeCode::PrepaidIssue if account.active => Err(code::INVALID_TRANSACTION),
            TypeCode::PrepaidIssue => load(account.balance),
            _ if !account.active => Err(code::NOT_ACTIVATED),
            TypeCode::PrepaidTopUp => load(account.balance),
            TypeCode::PrepaidPay => {
                // A card issued with a PIN needs it above the PIN-free
                // limit; a PIN sent anyway must be the right one.
                let pin_needed = account.pin_hash.is_some()
                    && (amount > self.config.prepaid_pin_free_limit || entered_hash.is_some());
                if pin_needed && entered_hash != account.pin_hash {
                    Err(code::WRONG_PIN)
                } else {
                    account
                        .balance
                        .checked_sub(amount)
                        .ok_or(code::INSUFFICIENT_FUNDS)
                }
            }
            _ => Ok(account.balance),
        };
        let balance = match after {
            Ok(b) => b,
            Err(c) => {
                m.set_text(39, c);
                return Fault::None;
            }
        };
        let entry = self.prepaid.entry(key).or_default();
        entry.balance = balance;
        if kind == TypeCode::PrepaidIssue {
            entry.active = true;
            entry.pin_hash = entered_hash;
        }
        let auth = self.auth_code();
        m.set_text(38, auth.clone());
        m.set_text(39, code::APPROVED);
        m.set_text(54, balance_field(balance, request.text(49).unwrap_or("156")));
        self.ledger.push(LedgerEntry {
            terminal_id: ctx.tid.clone(),
            merchant_id: request.text(42).unwrap_or_default().trim_end().to_owned(),
            batch: ctx.batch,
            stan: ctx.stan.clone(),
            date: ctx.date.clone(),
            kind,
            amount,
            masked_pan: masked_pan(&pan),
            rrn,
            auth_code: auth,
            state: EntryState::Approved,
            source: EntrySource::Online,
            original: None,
            refunded_amount: 0,
            tc_advised: false,
            arqc_verified: false,
            account: Some(key),
            original_state_before: None,
        });
        fault
    }

    /// Undoes an approved prepaid entry: a load is taken off again (an
    /// issue also leaves the card not activated, so it can be issued
    /// anew), a purchase is paid back; an inquiry changed nothing.
    pub(super) fn reverse_prepaid(&mut self, e: &LedgerEntry) {
        let Some(account) = e.account.and_then(|k| self.prepaid.get_mut(&k)) else {
            return;
        };
        match e.kind {
            TypeCode::PrepaidIssue => {
                account.balance = account.balance.saturating_sub(e.amount);
                account.active = false;
                account.pin_hash = None;
            }
            TypeCode::PrepaidTopUp => account.balance = account.balance.saturating_sub(e.amount),
            TypeCode::PrepaidPay => account.balance = account.balance.saturating_add(e.amount),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use poskit_crypto::pin::Pin;
    use poskit_crypto::{FixedRandom, SymmetricKey};
    use poskit_iso8583::cup::{
        self as conv, CardFields, EntryMode, TerminalIds, network, parse_balance_field,
    };
    use poskit_iso8583::{Mti, cup};

    use super::*;
    use crate::acquirer::AcquirerSimConfig;
    use crate::acquirer::host::Reply;

    const TID: &str = "10000001";
    const MID: &str = "898310012345678";

    struct Bench {
        host: Host,
        keys: WorkingKeys,
        stan: u32,
    }

    fn ids() -> TerminalIds {
        TerminalIds {
            terminal_id: TID.into(),
            merchant_id: MID.into(),
        }
    }

    fn bench(config: AcquirerSimConfig) -> Bench {
        let mut host = Host::new(config);
        host.add_terminal(TID, MID, SymmetricKey::tdes(&[0x11; 16]).unwrap());
        let mut m = conv::network_management(&ids(), 1, 1, network::SIGN_IN, "01").unwrap();
        m.mti = Mti(800);
        assert!(matches!(host.handle(&cup().pack(&m).unwrap()), Reply::Send(_)));
        let keys = host.working_keys(TID).unwrap();
        Bench { host, keys, stan: 1 }
    }

    impl Bench {
        fn card(&self, number: &str, pin: Option<&str>) -> CardFields {
            let pin_block = pin.map(|p| {
                let block = poskit_crypto::pin::encrypt_pin_block(
                    &self.keys.pin_key,
                    PinBlockFormat::Iso0,
                    &Pin::new(p).unwrap(),
                    Some(&Pan::new(number).unwrap()),
                    &mut FixedRandom(vec![]),
                )
                .unwrap();
                block.try_into().unwrap()
            });
            CardFields {
                pan: Some(number.into()),
                entry_mode: Some(EntryMode::Manual),
                pin_block,
                ..CardFields::default()
            }
        }

        /// Sends one MACed request; the answer's code and balance (54).
        fn send(&mut self, kind: TypeCode, card: &CardFields, amount: u64) -> (String, Option<i64>, u32) {
            self.stan += 1;
            let mut m = conv::financial(kind, &ids(), self.stan, 1, amount, card, None, "156").unwrap();
            m.mti = Mti(200);
            let packed = conv::seal(cup(), &mut m, &self.keys.mac_key).unwrap();
            let Reply::Send(answer) = self.host.handle(&packed) else {
                panic!("no answer");
            };
            assert!(conv::verify(&answer, &self.keys.mac_key));
            let answer = cup().unpack(&answer).unwrap();
            (
                answer.text(39).unwrap().to_owned(),
                answer.text(54).and_then(parse_balance_field),
                self.stan,
            )
        }

        fn op(
            &mut self,
            kind: TypeCode,
            number: &str,
            amount: u64,
            pin: Option<&str>,
        ) -> (String, Option<i64>) {
            let card = self.card(number, pin);
            let (code, balance, _) = self.send(kind, &card, amount);
            (code, balance)
        }

        fn balance(&self, number: &str) -> Option<u64> {
            self.host
                .prepaid_account(number)
                .filter(|a| a.active)
                .map(|a| a.balance)
        }
    }

    fn ok(balance: i64) -> (String, Option<i64>) {
        ("00".into(), Some(balance))
    }

    fn declined(code: &str) -> (String, Option<i64>) {
        (code.into(), None)
    }

    #[test]
    fn card_numbers_are_in_the_range_with_a_check_digit() {
        assert_eq!(prepaid_card_number(1), "9988010000000014");
        assert_eq!(prepaid_card_number(5), "9988010000000055");
        for serial in [0, 7, 123_456_789] {
            let n = prepaid_card_number(serial);
            assert!(prepaid::in_range(&n) && luhn_ok(&n), "{n}");
        }
    }

    #[test]
    fn issue_top_up_pay_and_balance_move_the_stored_value() {
        let mut b = bench(AcquirerSimConfig::default());
        let card = prepaid_card_number(1);
        assert_eq!(b.op(TypeCode::PrepaidIssue, &card, 20_000, None), ok(20_000));
        assert_eq!(b.op(TypeCode::PrepaidTopUp, &card, 5_000, None), ok(25_000));
        assert_eq!(b.op(TypeCode::PrepaidPay, &card, 1_234, None), ok(23_766));
        assert_eq!(b.op(TypeCode::PrepaidBalance, &card, 0, None), ok(23_766));
        assert_eq!(b.balance(&card), Some(23_766));
        // Only the purchase is a card sale in the totals.
        let totals = b.host.totals(TID, 1);
        assert_eq!((totals.debit_count, totals.debit_amount), (1, 1_234));
        assert_eq!((totals.credit_count, totals.credit_amount), (0, 0));
        let kinds: Vec<_> = b.host.ledger(TID).iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                TypeCode::PrepaidIssue,
                TypeCode::PrepaidTopUp,
                TypeCode::PrepaidPay,
                TypeCode::PrepaidBalance
            ]
        );
        assert!(
            b.host
                .ledger(TID)
                .iter()
                .all(|e| e.masked_pan == "998801******0014")
        );
    }

    #[test]
    fn refusals_leave_the_balance_as_it_was() {
        let mut b = bench(AcquirerSimConfig::default());
        let card = prepaid_card_number(2);
        // Not issued yet.
        for kind in [
            TypeCode::PrepaidTopUp,
            TypeCode::PrepaidPay,
            TypeCode::PrepaidBalance,
        ] {
            assert_eq!(b.op(kind, &card, 1_000, None), declined("78"), "{kind:?}");
        }
        assert_eq!(b.op(TypeCode::PrepaidIssue, &card, 10_000, None), ok(10_000));
        assert_eq!(b.op(TypeCode::PrepaidIssue, &card, 10_000, None), declined("12"));
        assert_eq!(b.op(TypeCode::PrepaidPay, &card, 10_001, None), declined("51"));
        // Over the 5,000.00 a card may hold.
        assert_eq!(b.op(TypeCode::PrepaidTopUp, &card, 490_001, None), declined("61"));
        assert_eq!(b.op(TypeCode::PrepaidTopUp, &card, 490_000, None), ok(500_000));
        assert_eq!(b.balance(&card), Some(500_000));
        // Numbers outside the range or with a wrong check digit.
        for unknown in ["9988010000000012", "6230580000000000013", "998801000000001"] {
            assert_eq!(
                b.op(TypeCode::PrepaidBalance, unknown, 0, None),
                declined("14"),
                "{unknown}"
            );
        }
        // The open-loop card messages do not know prepaid cards either.
        assert_eq!(b.op(TypeCode::Sale, &card, 1_000, None), declined("14"));
        assert_eq!(b.balance(&card), Some(500_000));
        assert_eq!(b.host.totals(TID, 1).debit_count, 0);
    }

    #[test]
    fn a_card_issued_with_a_pin_needs_it_above_the_pin_free_limit() {
        let mut b = bench(AcquirerSimConfig::default());
        let card = prepaid_card_number(3);
        assert_eq!(
            b.op(TypeCode::PrepaidIssue, &card, 100_000, Some("2468")),
            ok(100_000)
        );
        // Up to 300.00 without a PIN.
        assert_eq!(b.op(TypeCode::PrepaidPay, &card, 30_000, None), ok(70_000));
        assert_eq!(b.op(TypeCode::PrepaidPay, &card, 30_001, None), declined("55"));
        assert_eq!(
            b.op(TypeCode::PrepaidPay, &card, 30_001, Some("1111")),
            declined("55")
        );
        assert_eq!(
            b.op(TypeCode::PrepaidPay, &card, 30_001, Some("2468")),
            ok(39_999)
        );
        // A PIN sent below the limit must be right too.
        assert_eq!(
            b.op(TypeCode::PrepaidPay, &card, 100, Some("1111")),
            declined("55")
        );
        // A card issued without a PIN never needs one.
        let plain = prepaid_card_number(4);
        assert_eq!(b.op(TypeCode::PrepaidIssue, &plain, 100_000, None), ok(100_000));
        assert_eq!(b.op(TypeCode::PrepaidPay, &plain, 90_000, None), ok(10_000));
        // A PIN block that is not one under this key and card.
        let mut garbled = b.card(&card, Some("2468"));
        garbled.pin_block = Some([0x5A; 8]);
        let (code, _, _) = b.send(TypeCode::PrepaidPay, &garbled, 100);
        assert_eq!(code, "99");
    }

    #[test]
    fn reversals_unwind_each_operation() {
        let mut b = bench(AcquirerSimConfig::default());
        let card = prepaid_card_number(5);
        let fields = b.card(&card, None);
        let reverse = |b: &mut Bench, kind: TypeCode, stan: u32, amount: u64| {
            let mut original = conv::financial(kind, &ids(), stan, 1, amount, &fields, None, "156").unwrap();
            original.mti = Mti(200);
            let mut rev = conv::reversal(&original, conv::response::REVERSAL_TIMEOUT);
            rev.mti = Mti(400);
            let packed = conv::seal(cup(), &mut rev, &b.keys.mac_key).unwrap();
            assert!(matches!(b.host.handle(&packed), Reply::Send(_)));
        };
        let (_, _, issued) = b.send(TypeCode::PrepaidIssue, &fields, 10_000);
        let (_, _, topped) = b.send(TypeCode::PrepaidTopUp, &fields, 2_000);
        let (_, _, paid) = b.send(TypeCode::PrepaidPay, &fields, 3_000);
        assert_eq!(b.balance(&card), Some(9_000));
        reverse(&mut b, TypeCode::PrepaidPay, paid, 3_000);
        assert_eq!(b.balance(&card), Some(12_000));
        reverse(&mut b, TypeCode::PrepaidTopUp, topped, 2_000);
        assert_eq!(b.balance(&card), Some(10_000));
        reverse(&mut b, TypeCode::PrepaidIssue, issued, 10_000);
        assert_eq!(b.balance(&card), None, "the issue undone: the card is not issued");
        assert!(b.host.ledger(TID).iter().all(|e| e.state == EntryState::Reversed));
        assert_eq!(b.host.totals(TID, 1).debit_count, 0);
        // It can be issued again.
        assert_eq!(b.op(TypeCode::PrepaidIssue, &card, 1_000, None), ok(1_000));
    }

    #[test]
    fn the_amount_rule_applies_to_loads_and_purchases() {
        let mut b = bench(AcquirerSimConfig::default());
        let card = prepaid_card_number(6);
        assert_eq!(b.op(TypeCode::PrepaidIssue, &card, 10_091, None), declined("91"));
        assert_eq!(b.op(TypeCode::PrepaidIssue, &card, 10_000, None), ok(10_000));
        assert_eq!(b.op(TypeCode::PrepaidPay, &card, 1_051, None), declined("51"));
        // 98: approved and recorded, then silence.
        let fields = b.card(&card, None);
        b.stan += 1;
        let mut m = conv::financial(
            TypeCode::PrepaidPay,
            &ids(),
            b.stan,
            1,
            1_098,
            &fields,
            None,
            "156",
        )
        .unwrap();
        m.mti = Mti(200);
        let packed = conv::seal(cup(), &mut m, &b.keys.mac_key).unwrap();
        assert_eq!(b.host.handle(&packed), Reply::Hold);
        assert_eq!(b.balance(&card), Some(8_902));
    }
}
