//! Risk control: the merchant's rules, checked before a transaction goes
//! out.
//!
//! [`RiskEngine::assess`] judges a request against [`RiskRules`] with the
//! journal's counts (the day's sales, a card's recent uses and declines by
//! the store's keyed card hash, the day's fallback and keyed entries),
//! journals the decision, then calls the alert hook for anything not
//! allowed. [`HostLink`](crate::HostLink) and [`QrLink`](crate::qr::QrLink)
//! do this for every request that takes or gives back money (see
//! [`RiskEngine::screens`]) when given an engine: a block stops the request
//! before it is journaled or sent ([`TerminalError::RiskBlocked`]); allow
//! and review let it go ahead, and the decision is linked to its
//! transaction or QR order.
//!
//! Decisions never hold card data: the card is only the keyed hash, and
//! the reasons speak of counts and amounts.

mod evaluate;
mod rules;

use std::fmt;
use std::sync::Arc;

use poskit_store::{EntryMode, NewRiskDecision, Pan, Store, TxnKind};
pub use poskit_store::{RiskDecisionId, Verdict};

pub use rules::{AmountLimit, BinList, CardWindow, DailyCount, RiskRules, TimeOfDay, UnusualHours};

use crate::error::{Result, TerminalError};

/// A risk rule, by its stable name (the journal and the configuration use
/// the `snake_case` form). The order is the order of evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskRule {
    BlockedBin,
    PerTransactionLimit,
    DailyLimit,
    CardVelocity,
    RepeatedDeclines,
    FallbackLimit,
    ManualEntryLimit,
    UnusualHours,
}

impl RiskRule {
    pub const ALL: &'static [RiskRule] = &[
        RiskRule::BlockedBin,
        RiskRule::PerTransactionLimit,
        RiskRule::DailyLimit,
        RiskRule::CardVelocity,
        RiskRule::RepeatedDeclines,
        RiskRule::FallbackLimit,
        RiskRule::ManualEntryLimit,
        RiskRule::UnusualHours,
    ];

    /// The stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            RiskRule::BlockedBin => "blocked_bin",
            RiskRule::PerTransactionLimit => "per_transaction_limit",
            RiskRule::DailyLimit => "daily_limit",
            RiskRule::CardVelocity => "card_velocity",
            RiskRule::RepeatedDeclines => "repeated_declines",
            RiskRule::FallbackLimit => "fallback_limit",
            RiskRule::ManualEntryLimit => "manual_entry_limit",
            RiskRule::UnusualHours => "unusual_hours",
        }
    }

    /// The rule of a stable name (as the journal holds it).
    pub fn parse(name: &str) -> Option<RiskRule> {
        RiskRule::ALL.iter().copied().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for RiskRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`RiskEngine::assess`] decided, as journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskDecision {
    /// The journal row ([`Store::risk_decision`]).
    pub id: RiskDecisionId,
    pub verdict: Verdict,
    /// The rule that decided; none when no rule fired.
    pub rule: Option<RiskRule>,
    /// Why, without card data; other rules that fired are named at the
    /// end.
    pub reason: String,
}

/// A request to judge.
#[derive(Clone, Copy)]
pub struct RiskCheck<'a> {
    pub kind: TxnKind,
    /// In minor units.
    pub amount: u64,
    /// ISO 4217, as the request carries it.
    pub currency: &'a str,
    /// How the card was read; [`EntryMode::Qr`] for wallet payments.
    pub entry_mode: EntryMode,
    /// The card number, when a card is presented; only its keyed hash is
    /// kept.
    pub pan: Option<&'a str>,
    /// Unix seconds.
    pub now: u64,
}

impl fmt::Debug for RiskCheck<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RiskCheck")
            .field("kind", &self.kind)
            .field("amount", &self.amount)
            .field("currency", &self.currency)
            .field("entry_mode", &self.entry_mode)
            .field("card", &self.pan.is_some())
            .field("now", &self.now)
            .finish()
    }
}

/// Called with every decision that is not an allow, after it is journaled.
pub type RiskAlert = Arc<dyn Fn(&RiskDecision) + Send + Sync>;

/// Judges requests against the rules and journals each decision.
pub struct RiskEngine {
    rules: RiskRules,
    alert: Option<RiskAlert>,
}

impl fmt::Debug for RiskEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RiskEngine")
            .field("rules", &self.rules)
            .field("alert", &self.alert.is_some())
            .finish()
    }
}

impl RiskEngine {
    /// An engine for `rules`; rules that cannot work (an empty hour
    /// window, a BIN with letters, ...) are refused with the reason.
    pub fn new(rules: RiskRules) -> Result<RiskEngine> {
        rules.validate().map_err(TerminalError::RiskRules)?;
        Ok(RiskEngine { rules, alert: None })
    }

    pub fn rules(&self) -> &RiskRules {
        &self.rules
    }

    /// Sets the hook called for every review and block, after the decision
    /// is journaled (the Terminal turns it into an alert event).
    pub fn on_alert(&mut self, alert: RiskAlert) {
        self.alert = Some(alert);
    }

    /// Whether requests of `kind` are judged before they go out: sales,
    /// pre-authorisations and QR sales (they charge the customer) and
    /// refunds (money back out). Voids, reversals, balance inquiries and
    /// settlement undo or move nothing and are never held up; a
    /// completion settles a pre-authorisation judged when the card was
    /// there, and refusing it would leave the hold on the card and the
    /// merchant unpaid.
    pub fn screens(kind: TxnKind) -> bool {
        matches!(
            kind,
            TxnKind::Sale | TxnKind::PreAuth | TxnKind::Refund | TxnKind::QrSale
        )
    }

    /// Judges `check`: every rule in order, the most severe verdict wins
    /// (the earlier rule on a tie). The decision is journaled before it is
    /// returned, and the alert hook called for a review or a block.
    pub fn assess(&self, store: &mut Store, check: &RiskCheck<'_>) -> Result<RiskDecision> {
        let pan = check.pan.map(Pan::new).transpose()?;
        let fired = evaluate::evaluate(&self.rules, store, check, pan.as_ref())?;
        let (verdict, rule, reason) = evaluate::decide(&fired);
        let id = store.record_risk_decision(&NewRiskDecision {
            at: i64::try_from(check.now).unwrap_or(i64::MAX),
            kind: check.kind,
            amount: check.amount,
            currency: check.currency,
            entry_mode: check.entry_mode,
            pan: pan.as_ref(),
            verdict,
            rule: rule.map(RiskRule::as_str),
            reason: &reason,
        })?;
        let decision = RiskDecision {
            id,
            verdict,
            rule,
            reason,
        };
        if verdict != Verdict::Allow {
            log::warn!(
                "risk: {} {} of {} ({}): {}",
                verdict,
                check.kind,
                check.amount,
                rule.map_or("-", RiskRule::as_str),
                decision.reason
            );
            if let Some(alert) = &self.alert {
                alert(&decision);
            }
        }
        Ok(decision)
    }

    /// What the links do before a request: nothing for kinds that are not
    /// screened; otherwise assess, and turn a block into
    /// [`TerminalError::RiskBlocked`].
    pub(crate) fn screen(&self, store: &mut Store, check: &RiskCheck<'_>) -> Result<Option<RiskDecision>> {
        if !RiskEngine::screens(check.kind) {
            return Ok(None);
        }
        let decision = self.assess(store, check)?;
        if decision.verdict == Verdict::Block {
            return Err(TerminalError::RiskBlocked {
                rule: decision.rule.map_or("risk", RiskRule::as_str).to_owned(),
                reason: decision.reason,
            });
        }
        Ok(Some(decision))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use poskit_store::testing::{TestKeystore, test_dir};

    use super::*;

    #[test]
    fn rule_names_are_stable_and_round_trip() {
        for &rule in RiskRule::ALL {
            assert_eq!(RiskRule::parse(rule.as_str()), Some(rule));
            assert_eq!(
                serde_json::to_string(&rule).unwrap(),
                format!("\"{}\"", rule.as_str())
            );
        }
        assert_eq!(RiskRule::parse("velocity"), None);
    }

    #[test]
    fn assess_journals_every_verdict_and_alerts_on_review_and_block() {
        let mut store = Store::open(
            test_dir("risk-assess").join("terminal.db"),
            &TestKeystore::default(),
        )
        .unwrap();
        let rules: RiskRules = serde_json::from_str(
            r#"{ "per_transaction_limit": { "max_amount": 1000 },
                 "blocked_bin": { "prefixes": ["5413"], "verdict": "review" } }"#,
        )
        .unwrap();
        let mut engine = RiskEngine::new(rules).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        engine.on_alert(Arc::new(move |d: &RiskDecision| {
            sink.lock().unwrap().push(d.clone())
        }));
        let check = |amount, pan| RiskCheck {
            kind: TxnKind::Sale,
            amount,
            currency: "156",
            entry_mode: EntryMode::Contact,
            pan,
            now: 1_700_000_000,
        };
        let allow = engine
            .assess(&mut store, &check(1000, Some("4761739001010010")))
            .unwrap();
        assert_eq!((allow.verdict, allow.rule), (Verdict::Allow, None));
        let review = engine
            .assess(&mut store, &check(10, Some("5413330089020011")))
            .unwrap();
        assert_eq!(
            (review.verdict, review.rule),
            (Verdict::Review, Some(RiskRule::BlockedBin))
        );
        let block = engine
            .assess(&mut store, &check(1001, Some("5413330089020011")))
            .unwrap();
        assert_eq!(
            (block.verdict, block.rule),
            (Verdict::Block, Some(RiskRule::PerTransactionLimit))
        );
        assert!(block.reason.ends_with("(also: blocked_bin)"), "{}", block.reason);
        assert_eq!(*seen.lock().unwrap(), [review.clone(), block.clone()]);
        let journal = store.risk_decisions_since(0).unwrap();
        let rows: Vec<_> = journal
            .iter()
            .map(|d| (d.id, d.verdict, d.rule.as_deref(), d.card_present))
            .collect();
        assert_eq!(
            rows,
            [
                (allow.id, Verdict::Allow, None, true),
                (review.id, Verdict::Review, Some("blocked_bin"), true),
                (block.id, Verdict::Block, Some("per_transaction_limit"), true),
            ]
        );
        assert_eq!(journal[2].reason, block.reason);

        // Not screened: nothing judged, nothing journaled.
        let void = RiskCheck {
            kind: TxnKind::Void,
            ..check(5000, None)
        };
        assert_eq!(engine.screen(&mut store, &void).unwrap(), None);
        let err = engine.screen(&mut store, &check(5000, None)).unwrap_err();
        assert!(
            matches!(&err, TerminalError::RiskBlocked { rule, .. } if rule == "per_transaction_limit"),
            "{err}"
        );
        assert!(
            err.to_string().contains("ask for another payment method"),
            "{err}"
        );
        assert_eq!(store.risk_decisions_since(0).unwrap().len(), 4);
    }

    #[test]
    fn a_bad_card_number_is_refused_without_echo_and_journals_nothing() {
        let mut store = Store::open(
            test_dir("risk-bad-pan").join("terminal.db"),
            &TestKeystore::default(),
        )
        .unwrap();
        let engine = RiskEngine::new(RiskRules::default()).unwrap();
        let err = engine
            .assess(
                &mut store,
                &RiskCheck {
                    kind: TxnKind::Sale,
                    amount: 1,
                    currency: "156",
                    entry_mode: EntryMode::Manual,
                    pan: Some("47617390010100x0"),
                    now: 1,
                },
            )
            .unwrap_err();
        assert!(!err.to_string().contains("4761739"), "{err}");
        assert!(store.risk_decisions_since(0).unwrap().is_empty());
    }

    #[test]
    fn unworkable_rules_are_refused_by_the_engine() {
        let rules: RiskRules =
            serde_json::from_str(r#"{ "card_velocity": { "max_count": 0, "minutes": 5 } }"#).unwrap();
        let err = RiskEngine::new(rules).unwrap_err().to_string();
        assert!(err.contains("card_velocity: max_count"), "{err}");
    }
}
