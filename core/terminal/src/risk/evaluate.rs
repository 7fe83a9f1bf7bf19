//! Judging one request against the rules: the journal's counts in, the
//! rules that fired out, in the fixed order of [`RiskRule`].

use poskit_store::{EntryMode, Pan, Store, TxnKind, Verdict};

use super::rules::RiskRules;
use super::{RiskCheck, RiskRule};
use crate::error::Result;

const DAY: i64 = 86_400;

/// A rule that fired, with its verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fired {
    pub(super) rule: RiskRule,
    pub(super) verdict: Verdict,
    pub(super) reason: String,
}

/// The local day around `now` as unix seconds `[start, end)`.
pub(super) fn local_day(now: i64, utc_offset_minutes: i32) -> (i64, i64) {
    let offset = i64::from(utc_offset_minutes) * 60;
    let local = now + offset;
    let start = local - local.rem_euclid(DAY) - offset;
    (start, start + DAY)
}

/// Minutes since local midnight at `now`.
pub(super) fn local_minute(now: i64, utc_offset_minutes: i32) -> u16 {
    let local = now + i64::from(utc_offset_minutes) * 60;
    (local.rem_euclid(DAY) / 60) as u16
}

/// Kinds that take the customer's money: the ones the daily sales limit
/// speaks of. A pre-authorisation counts: its completion will.
fn takes_money(kind: TxnKind) -> bool {
    matches!(
        kind,
        TxnKind::Sale | TxnKind::PreAuth | TxnKind::Completion | TxnKind::QrSale
    )
}

/// Every rule that fires for `check`, in evaluation order. The journal is
/// asked only for what a configured rule needs.
pub(super) fn evaluate(
    rules: &RiskRules,
    store: &Store,
    check: &RiskCheck<'_>,
    pan: Option<&Pan>,
) -> Result<Vec<Fired>> {
    let now = i64::try_from(check.now).unwrap_or(i64::MAX);
    let offset = rules.utc_offset_minutes;
    let (day_start, day_end) = local_day(now, offset);
    let mut fired = Vec::new();
    let mut fire = |rule, verdict, reason: String| {
        fired.push(Fired {
            rule,
            verdict,
            reason,
        })
    };

    if let (Some(bins), Some(pan)) = (&rules.blocked_bin, pan) {
        if bins
            .prefixes
            .iter()
            .any(|p| pan.expose_digits().starts_with(p.as_str()))
        {
            fire(
                RiskRule::BlockedBin,
                bins.verdict,
                "the card's issuer range (BIN) is on the block list".into(),
            );
        }
    }
    if let Some(limit) = &rules.per_transaction_limit {
        if check.amount > limit.max_amount {
            fire(
                RiskRule::PerTransactionLimit,
                limit.verdict,
                format!(
                    "amount {} is over the per-transaction limit of {}",
                    check.amount, limit.max_amount
                ),
            );
        }
    }
    if let Some(limit) = &rules.daily_limit {
        if takes_money(check.kind) {
            let taken = store.sales_total_between(day_start, day_end)?;
            if taken.saturating_add(check.amount) > limit.max_amount {
                fire(
                    RiskRule::DailyLimit,
                    limit.verdict,
                    format!(
                        "today's sales of {taken} and this {} would go over the daily limit of {}",
                        check.amount, limit.max_amount
                    ),
                );
            }
        }
    }
    if let (Some(window), Some(pan)) = (&rules.card_velocity, pan) {
        let since = now - i64::from(window.minutes) * 60;
        let used = store.card_transactions_since(pan, since)?;
        if used >= u64::from(window.max_count) {
            fire(
                RiskRule::CardVelocity,
                window.verdict,
                format!(
                    "the card was used {used} times in the last {} minutes (at most {})",
                    window.minutes, window.max_count
                ),
            );
        }
    }
    if let (Some(window), Some(pan)) = (&rules.repeated_declines, pan) {
        let since = now - i64::from(window.minutes) * 60;
        let declines = store.card_declines_since(pan, since)?;
        if declines >= u64::from(window.max_count) {
            fire(
                RiskRule::RepeatedDeclines,
                window.verdict,
                format!(
                    "the card was declined {declines} times in the last {} minutes",
                    window.minutes
                ),
            );
        }
    }
    let entry_limits = [
        (
            &rules.fallback_limit,
            EntryMode::Fallback,
            RiskRule::FallbackLimit,
            "fallback (stripe after a chip failure)",
        ),
        (
            &rules.manual_entry_limit,
            EntryMode::Manual,
            RiskRule::ManualEntryLimit,
            "manually keyed",
        ),
    ];
    for (limit, mode, rule, what) in entry_limits {
        if let Some(limit) = limit.as_ref().filter(|_| check.entry_mode == mode) {
            let today = store.entry_mode_count_between(mode, day_start, day_end)?;
            if today >= u64::from(limit.max_count) {
                fire(
                    rule,
                    limit.verdict,
                    format!(
                        "{today} {what} transactions today already (at most {} a day)",
                        limit.max_count
                    ),
                );
            }
        }
    }
    if let Some(hours) = &rules.unusual_hours {
        let minute = local_minute(now, offset);
        if hours.contains(minute) {
            fire(
                RiskRule::UnusualHours,
                hours.verdict,
                format!(
                    "{:02}:{:02} local time is in the unusual hours {} to {}",
                    minute / 60,
                    minute % 60,
                    hours.from,
                    hours.to
                ),
            );
        }
    }
    Ok(fired)
}

/// The verdict, the deciding rule and the reason: the most severe verdict
/// wins, the earlier rule on a tie; the others are named in the reason.
pub(super) fn decide(fired: &[Fired]) -> (Verdict, Option<RiskRule>, String) {
    let Some(winner) = fired.iter().fold(None::<&Fired>, |best, f| match best {
        Some(b) if b.verdict >= f.verdict => Some(b),
        _ => Some(f),
    }) else {
        return (Verdict::Allow, None, "no risk rule fired".into());
    };
    let others: Vec<&str> = fired
        .iter()
        .filter(|f| f.rule != winner.rule)
        .map(|f| f.rule.as_str())
        .collect();
    let mut reason = winner.reason.clone();
    if !others.is_empty() {
        reason.push_str(&format!(" (also: {})", others.join(", ")));
    }
    (winner.verdict, Some(winner.rule), reason)
}

#[cfg(test)]
mod tests {
    use poskit_store::testing::{TestKeystore, test_dir};
    use poskit_store::{HostResponse, NewTransaction, ResponseOutcome};

    use super::*;
    use crate::risk::rules::{AmountLimit, BinList, CardWindow, DailyCount, TimeOfDay, UnusualHours};

    const VISA: &str = "4761739001010010";
    const MASTERCARD: &str = "5413330089020011";
    /// 2023-11-14 22:13:20 UTC; 2023-11-15 06:13:20 at UTC+8.
    const T0: i64 = 1_700_000_000;

    fn store(name: &str) -> Store {
        Store::open(test_dir(name).join("terminal.db"), &TestKeystore::default()).unwrap()
    }

    fn check(
        kind: TxnKind,
        amount: u64,
        entry_mode: EntryMode,
        pan: Option<&str>,
        now: i64,
    ) -> RiskCheck<'_> {
        RiskCheck {
            kind,
            amount,
            currency: "156",
            entry_mode,
            pan,
            now: now as u64,
        }
    }

    fn run(rules: &RiskRules, store: &Store, check: &RiskCheck<'_>) -> Vec<(RiskRule, Verdict)> {
        rules.validate().unwrap();
        let pan = check.pan.map(|p| Pan::new(p).unwrap());
        evaluate(rules, store, check, pan.as_ref())
            .unwrap()
            .into_iter()
            .map(|f| (f.rule, f.verdict))
            .collect()
    }

    fn journal(
        store: &mut Store,
        amount: u64,
        mode: EntryMode,
        pan: &str,
        at: i64,
        outcome: ResponseOutcome,
    ) {
        let mut new = NewTransaction::new(TxnKind::Sale, amount, "156", mode, at);
        new.pan = Some(Pan::new(pan).unwrap());
        let rec = store.record_new(&new).unwrap();
        store.mark_sent(rec.id, at).unwrap();
        store
            .record_response(rec.id, &HostResponse::new(outcome, "00"), at)
            .unwrap();
    }

    fn limit(max_amount: u64) -> Option<AmountLimit> {
        Some(AmountLimit {
            max_amount,
            verdict: Verdict::Block,
        })
    }

    #[test]
    fn the_local_day_follows_the_utc_offset() {
        // 22:13 UTC on the 14th is the 15th in Shanghai: its day began at
        // 16:00 UTC on the 14th.
        let shanghai_midnight = 1_699_977_600;
        assert_eq!(local_day(T0, 480), (shanghai_midnight, shanghai_midnight + DAY));
        let utc_midnight = 1_699_920_000;
        assert_eq!(local_day(T0, 0), (utc_midnight, utc_midnight + DAY));
        // West of UTC: 22:13 UTC is 17:13 in New York (UTC-5), same date.
        assert_eq!(
            local_day(T0, -300),
            (utc_midnight + 300 * 60, utc_midnight + 300 * 60 + DAY)
        );
        // Exactly at local midnight the new day has begun.
        assert_eq!(local_day(shanghai_midnight, 480).0, shanghai_midnight);
        assert_eq!(local_day(shanghai_midnight - 1, 480).0, shanghai_midnight - DAY);
        assert_eq!(local_minute(T0, 480), 6 * 60 + 13);
        assert_eq!(local_minute(T0, -300), 17 * 60 + 13);
    }

    #[test]
    fn per_transaction_limit_allows_the_exact_limit() {
        let store = store("risk-eval-per-txn");
        let rules = RiskRules {
            per_transaction_limit: limit(10_000),
            ..RiskRules::default()
        };
        let at = |amount| {
            run(
                &rules,
                &store,
                &check(TxnKind::Sale, amount, EntryMode::Contact, None, T0),
            )
        };
        assert!(at(10_000).is_empty());
        assert_eq!(at(10_001), [(RiskRule::PerTransactionLimit, Verdict::Block)]);
        // Refunds too: money going back out is limited like money coming in.
        let refund = check(TxnKind::Refund, 10_001, EntryMode::NotPresent, None, T0);
        assert_eq!(run(&rules, &store, &refund).len(), 1);
    }

    #[test]
    fn the_daily_limit_counts_the_local_day_only() {
        let mut store = store("risk-eval-daily");
        let shanghai_midnight = 1_699_977_600;
        // Yesterday in Shanghai (a second before midnight), and today.
        journal(
            &mut store,
            7_000,
            EntryMode::Contact,
            VISA,
            shanghai_midnight - 1,
            ResponseOutcome::Approved,
        );
        journal(
            &mut store,
            6_000,
            EntryMode::Contact,
            VISA,
            shanghai_midnight,
            ResponseOutcome::Approved,
        );
        journal(
            &mut store,
            50_000,
            EntryMode::Contact,
            VISA,
            shanghai_midnight + 5,
            ResponseOutcome::Declined,
        );
        let mut rules = RiskRules {
            utc_offset_minutes: 480,
            daily_limit: limit(10_000),
            ..RiskRules::default()
        };
        let sale = |amount| check(TxnKind::Sale, amount, EntryMode::Contact, None, T0);
        assert!(
            run(&rules, &store, &sale(4_000)).is_empty(),
            "6000 + 4000 is the limit"
        );
        assert_eq!(
            run(&rules, &store, &sale(4_001)),
            [(RiskRule::DailyLimit, Verdict::Block)]
        );
        // In UTC the same moment's day holds both sales.
        rules.utc_offset_minutes = 0;
        assert_eq!(
            run(&rules, &store, &sale(1)),
            [(RiskRule::DailyLimit, Verdict::Block)]
        );
        // Refunds do not take money: the daily sales limit does not apply.
        let refund = check(TxnKind::Refund, 1, EntryMode::NotPresent, None, T0);
        assert!(run(&rules, &store, &refund).is_empty());
    }

    #[test]
    fn card_windows_end_exactly_m_minutes_ago_and_follow_the_card() {
        let mut store = store("risk-eval-card-windows");
        journal(
            &mut store,
            100,
            EntryMode::Contact,
            VISA,
            T0 - 600,
            ResponseOutcome::Declined,
        );
        journal(
            &mut store,
            100,
            EntryMode::Contact,
            VISA,
            T0 - 599,
            ResponseOutcome::Declined,
        );
        journal(
            &mut store,
            100,
            EntryMode::Contact,
            VISA,
            T0 - 10,
            ResponseOutcome::Approved,
        );
        let window = |max_count| {
            Some(CardWindow {
                max_count,
                minutes: 10,
                verdict: Verdict::Block,
            })
        };
        let velocity = RiskRules {
            card_velocity: window(2),
            ..RiskRules::default()
        };
        let visa = check(TxnKind::Sale, 1, EntryMode::Contact, Some(VISA), T0);
        // The one exactly 600 s ago is outside; two remain, the limit.
        assert_eq!(
            run(&velocity, &store, &visa),
            [(RiskRule::CardVelocity, Verdict::Block)]
        );
        let later = check(TxnKind::Sale, 1, EntryMode::Contact, Some(VISA), T0 + 1);
        assert!(
            run(&velocity, &store, &later).is_empty(),
            "one has left the window"
        );
        let other = check(TxnKind::Sale, 1, EntryMode::Contact, Some(MASTERCARD), T0);
        assert!(run(&velocity, &store, &other).is_empty());
        let no_card = check(TxnKind::Sale, 1, EntryMode::NotPresent, None, T0);
        assert!(run(&velocity, &store, &no_card).is_empty());

        let declines = RiskRules {
            repeated_declines: window(1),
            ..RiskRules::default()
        };
        assert_eq!(
            run(&declines, &store, &visa),
            [(RiskRule::RepeatedDeclines, Verdict::Block)]
        );
        let declines = RiskRules {
            repeated_declines: window(2),
            ..RiskRules::default()
        };
        assert!(
            run(&declines, &store, &visa).is_empty(),
            "one decline is in the window"
        );
    }

    #[test]
    fn blocked_bins_match_prefixes_of_the_card_only() {
        let store = store("risk-eval-bins");
        let rules = RiskRules {
            blocked_bin: Some(BinList {
                prefixes: vec!["5413".into(), "62305800".into()],
                verdict: Verdict::Review,
            }),
            ..RiskRules::default()
        };
        let with = |pan| {
            run(
                &rules,
                &store,
                &check(TxnKind::Sale, 1, EntryMode::Contact, Some(pan), T0),
            )
        };
        assert_eq!(with(MASTERCARD), [(RiskRule::BlockedBin, Verdict::Review)]);
        assert_eq!(with("6230580000000000013").len(), 1);
        assert!(with(VISA).is_empty());
        assert!(with("6230581000000000012").is_empty());
    }

    #[test]
    fn entry_mode_limits_count_the_local_day_and_apply_to_their_mode() {
        let mut store = store("risk-eval-entry-modes");
        let utc_midnight = 1_699_920_000;
        journal(
            &mut store,
            1,
            EntryMode::Fallback,
            VISA,
            utc_midnight - 1,
            ResponseOutcome::Approved,
        );
        journal(
            &mut store,
            1,
            EntryMode::Fallback,
            VISA,
            utc_midnight,
            ResponseOutcome::Approved,
        );
        journal(
            &mut store,
            1,
            EntryMode::Manual,
            VISA,
            utc_midnight + 1,
            ResponseOutcome::Declined,
        );
        let daily = |max_count| {
            Some(DailyCount {
                max_count,
                verdict: Verdict::Block,
            })
        };
        let rules = RiskRules {
            fallback_limit: daily(2),
            manual_entry_limit: daily(1),
            ..RiskRules::default()
        };
        let with = |mode| run(&rules, &store, &check(TxnKind::Sale, 1, mode, Some(VISA), T0));
        assert!(with(EntryMode::Fallback).is_empty(), "one today, one yesterday");
        assert_eq!(
            with(EntryMode::Manual),
            [(RiskRule::ManualEntryLimit, Verdict::Block)]
        );
        assert!(with(EntryMode::Contact).is_empty());
        let none_allowed = RiskRules {
            fallback_limit: daily(0),
            ..RiskRules::default()
        };
        let fallback = check(TxnKind::Sale, 1, EntryMode::Fallback, Some(VISA), T0 + DAY);
        assert_eq!(
            run(&none_allowed, &store, &fallback),
            [(RiskRule::FallbackLimit, Verdict::Block)]
        );
    }

    #[test]
    fn unusual_hours_use_local_time() {
        let store = store("risk-eval-hours");
        let mut rules = RiskRules {
            utc_offset_minutes: 480,
            unusual_hours: Some(UnusualHours {
                from: TimeOfDay::new(0, 0).unwrap(),
                to: TimeOfDay::new(6, 14).unwrap(),
                verdict: Verdict::Review,
            }),
            ..RiskRules::default()
        };
        let sale = check(TxnKind::Sale, 1, EntryMode::Contact, None, T0);
        // 06:13 in Shanghai: still inside; a minute later outside.
        assert_eq!(
            run(&rules, &store, &sale),
            [(RiskRule::UnusualHours, Verdict::Review)]
        );
        let later = check(TxnKind::Sale, 1, EntryMode::Contact, None, T0 + 40);
        assert!(run(&rules, &store, &later).is_empty());
        // 22:13 in UTC is not in 00:00-06:14.
        rules.utc_offset_minutes = 0;
        assert!(run(&rules, &store, &sale).is_empty());
    }

    #[test]
    fn the_most_severe_verdict_wins_and_the_earlier_rule_on_a_tie() {
        let fired = |rule, verdict| Fired {
            rule,
            verdict,
            reason: format!("{rule:?}"),
        };
        assert_eq!(decide(&[]), (Verdict::Allow, None, "no risk rule fired".into()));
        let (verdict, rule, reason) = decide(&[
            fired(RiskRule::CardVelocity, Verdict::Review),
            fired(RiskRule::FallbackLimit, Verdict::Block),
            fired(RiskRule::ManualEntryLimit, Verdict::Block),
            fired(RiskRule::UnusualHours, Verdict::Review),
        ]);
        assert_eq!((verdict, rule), (Verdict::Block, Some(RiskRule::FallbackLimit)));
        assert_eq!(
            reason,
            "FallbackLimit (also: card_velocity, manual_entry_limit, unusual_hours)"
        );
        let (verdict, rule, _) = decide(&[fired(RiskRule::UnusualHours, Verdict::Review)]);
        assert_eq!((verdict, rule), (Verdict::Review, Some(RiskRule::UnusualHours)));
    }
}
