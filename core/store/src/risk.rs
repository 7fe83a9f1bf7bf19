//! Risk decisions and the counts the risk rules are judged on. The rules
//! themselves live in the terminal (`poskit::risk`); the store keeps every
//! decision, allow included, and answers "how much, how often" from the
//! journal.
//!
//! A decision is committed before the request it judged may leave (DESIGN
//! rule 4); a blocked request has no transaction row, so its decision is
//! its only record. The card is kept only as the keyed hash the journal
//! uses (`transactions.pan_hash`), so "this card" is comparable across
//! both tables without a PAN at rest.

use rusqlite::{OptionalExtension, Row, params};

use crate::Store;
use crate::card_data::{self, Pan, Scrub};
use crate::error::{Result, StoreError};
use crate::journal::{
    EntryMode, TxnId, TxnKind, amount_from_db, amount_to_db, check_currency, check_order_no, text_enum,
};

text_enum! {
    /// What a risk decision says, least severe first (so `max` is the
    /// most severe).
    #[derive(PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    Verdict, "a risk verdict" {
        /// Go ahead.
        Allow = "allow",
        /// Go ahead, and have someone look at it.
        Review = "review",
        /// Refuse: nothing is sent.
        Block = "block",
    }
}

/// A risk decision's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RiskDecisionId(pub i64);

impl std::fmt::Display for RiskDecisionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A decision to record.
#[derive(Debug, Clone)]
pub struct NewRiskDecision<'a> {
    /// Unix seconds.
    pub at: i64,
    pub kind: TxnKind,
    pub amount: u64,
    pub currency: &'a str,
    pub entry_mode: EntryMode,
    /// Kept only as the keyed hash.
    pub pan: Option<&'a Pan>,
    pub verdict: Verdict,
    /// The rule that decided, by its stable name (`snake_case`); none
    /// when no rule fired.
    pub rule: Option<&'a str>,
    /// Why, for the review queue. Anything that looks like card data is
    /// removed before it is stored.
    pub reason: &'a str,
}

/// A decision as read back. The card is not part of it: the hash is only
/// for the counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskDecisionRecord {
    pub id: RiskDecisionId,
    pub at: i64,
    pub kind: TxnKind,
    pub amount: u64,
    pub currency: String,
    pub entry_mode: EntryMode,
    /// Whether a card number was judged (its hash is kept).
    pub card_present: bool,
    pub verdict: Verdict,
    pub rule: Option<String>,
    pub reason: String,
    /// The transaction that went ahead under this decision.
    pub txn_id: Option<TxnId>,
    /// The QR order that went ahead under this decision.
    pub merchant_order_no: Option<String>,
}

const SELECT_DECISION: &str = "SELECT id, at, kind, amount, currency, entry_mode, pan_hash IS NOT NULL,
        verdict, rule, reason, txn_id, merchant_order_no FROM risk_decisions";

fn decision_from_row(r: &Row<'_>) -> Result<RiskDecisionRecord> {
    Ok(RiskDecisionRecord {
        id: RiskDecisionId(r.get(0)?),
        at: r.get(1)?,
        kind: TxnKind::parse(&r.get::<_, String>(2)?)?,
        amount: amount_from_db(r.get(3)?)?,
        currency: r.get(4)?,
        entry_mode: EntryMode::parse(&r.get::<_, String>(5)?)?,
        card_present: r.get(6)?,
        verdict: Verdict::parse(&r.get::<_, String>(7)?)?,
        rule: r.get(8)?,
        reason: r.get(9)?,
        txn_id: r.get::<_, Option<i64>>(10)?.map(TxnId),
        merchant_order_no: r.get(11)?,
    })
}

/// Rule names are identifiers: lower-case letters, digits and `_`.
fn check_rule_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(StoreError::InvalidInput {
            field: "risk rule",
            reason: "must be a snake_case name of at most 40 characters",
        });
    }
    Ok(())
}

/// What a decision may be linked to.
enum Subject<'a> {
    Txn(TxnId),
    QrOrder(&'a str),
}

impl Store {
    /// Commits a risk decision. Call before the request it judged is
    /// journaled or sent.
    pub fn record_risk_decision(&mut self, decision: &NewRiskDecision<'_>) -> Result<RiskDecisionId> {
        check_currency(decision.currency)?;
        if let Some(rule) = decision.rule {
            check_rule_name(rule)?;
        }
        let reason = card_data::scrub(decision.reason, Scrub::Strict);
        if reason.is_empty() || reason.len() > 500 {
            return Err(StoreError::InvalidInput {
                field: "risk reason",
                reason: "must be 1 to 500 characters",
            });
        }
        let hash = decision.pan.map(|p| self.pan_keys.lookup_hash(p));
        self.conn.execute(
            "INSERT INTO risk_decisions (at, kind, amount, currency, entry_mode, pan_hash, verdict, rule, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                decision.at,
                decision.kind.as_str(),
                amount_to_db(decision.amount)?,
                decision.currency,
                decision.entry_mode.as_str(),
                hash.as_ref().map(|h| h.as_slice()),
                decision.verdict.as_str(),
                decision.rule,
                reason,
            ],
        )?;
        Ok(RiskDecisionId(self.conn.last_insert_rowid()))
    }

    /// Links a decision to the transaction that went ahead under it. A
    /// decision is linked once; a block never (nothing went ahead).
    pub fn link_risk_decision(&mut self, id: RiskDecisionId, txn: TxnId) -> Result<()> {
        self.link(id, Subject::Txn(txn))
    }

    /// Links a decision to the QR order that went ahead under it (QR
    /// payments have an order, not a transaction row).
    pub fn link_risk_decision_to_qr_order(
        &mut self,
        id: RiskDecisionId,
        merchant_order_no: &str,
    ) -> Result<()> {
        check_order_no(merchant_order_no)?;
        self.link(id, Subject::QrOrder(merchant_order_no))
    }

    fn link(&mut self, id: RiskDecisionId, subject: Subject<'_>) -> Result<()> {
        let tx = Store::write_tx(&mut self.conn)?;
        let decision = load(&tx, id)?;
        if decision.verdict == Verdict::Block {
            return Err(StoreError::InvalidInput {
                field: "risk decision",
                reason: "a blocked request went nowhere; it has nothing to link to",
            });
        }
        if decision.txn_id.is_some() || decision.merchant_order_no.is_some() {
            return Err(StoreError::Duplicate {
                what: "link of risk decision",
                id: id.to_string(),
            });
        }
        match subject {
            Subject::Txn(txn) => {
                crate::journal::load(&tx, txn)?;
                tx.execute(
                    "UPDATE risk_decisions SET txn_id = ?2 WHERE id = ?1",
                    params![id.0, txn.0],
                )?
            }
            Subject::QrOrder(order_no) => {
                crate::qr::load(&tx, order_no)?;
                tx.execute(
                    "UPDATE risk_decisions SET merchant_order_no = ?2 WHERE id = ?1",
                    params![id.0, order_no],
                )?
            }
        };
        tx.commit()?;
        Ok(())
    }

    pub fn risk_decision(&self, id: RiskDecisionId) -> Result<RiskDecisionRecord> {
        load(&self.conn, id)
    }

    /// The decision a transaction went ahead under, if it was judged.
    pub fn risk_decision_for_txn(&self, txn: TxnId) -> Result<Option<RiskDecisionRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{SELECT_DECISION} WHERE txn_id = ?1 ORDER BY id LIMIT 1"
        ))?;
        stmt.query_row([txn.0], |r| Ok(decision_from_row(r)))
            .optional()?
            .transpose()
    }

    /// Decisions made at or after `since` (unix seconds), oldest first: the
    /// review queue.
    pub fn risk_decisions_since(&self, since: i64) -> Result<Vec<RiskDecisionRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT_DECISION} WHERE at >= ?1 ORDER BY id"))?;
        let mut rows = stmt.query([since])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decision_from_row(row)?);
        }
        Ok(out)
    }

    /// Transactions on `pan`'s card created after `since` (strictly: a
    /// window of M minutes ends M minutes ago), aborted ones (never sent)
    /// left out.
    pub fn card_transactions_since(&self, pan: &Pan, since: i64) -> Result<u64> {
        self.card_count(pan, since, "state != 'aborted'")
    }

    /// Declined transactions on `pan`'s card created after `since`.
    pub fn card_declines_since(&self, pan: &Pan, since: i64) -> Result<u64> {
        self.card_count(pan, since, "state = 'declined'")
    }

    fn card_count(&self, pan: &Pan, since: i64, state: &str) -> Result<u64> {
        let hash = self.pan_keys.lookup_hash(pan);
        let n: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM transactions WHERE pan_hash = ?1 AND created_at > ?2 AND {state}"),
            params![hash.as_slice(), since],
            |r| r.get(0),
        )?;
        amount_from_db(n)
    }

    /// The sales taken in `[from, to)` (unix seconds), in minor units: card
    /// sales and completions, and paid QR orders, that were approved and
    /// not voided or reversed (settled and refunded ones included: they
    /// were taken). Currencies are not told apart: a terminal takes one.
    pub fn sales_total_between(&self, from: i64, to: i64) -> Result<u64> {
        let total: i64 = self.conn.query_row(
            "SELECT
               (SELECT COALESCE(SUM(amount), 0) FROM transactions
                  WHERE kind IN ('sale', 'completion', 'qr_sale')
                    AND state IN ('approved', 'settled', 'refunded')
                    AND created_at >= ?1 AND created_at < ?2)
             + (SELECT COALESCE(SUM(amount), 0) FROM qr_orders
                  -- An order with a journal row is counted there.
                  WHERE txn_id IS NULL AND state IN ('paid', 'refunded')
                    AND created_at >= ?1 AND created_at < ?2)",
            [from, to],
            |r| r.get(0),
        )?;
        amount_from_db(total)
    }

    /// Transactions read with `mode` in `[from, to)`, aborted ones (never
    /// sent) left out.
    pub fn entry_mode_count_between(&self, mode: EntryMode, from: i64, to: i64) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM transactions
             WHERE entry_mode = ?1 AND state != 'aborted' AND created_at >= ?2 AND created_at < ?3",
            params![mode.as_str(), from, to],
            |r| r.get(0),
        )?;
        amount_from_db(n)
    }
}

fn load(conn: &rusqlite::Connection, id: RiskDecisionId) -> Result<RiskDecisionRecord> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_DECISION} WHERE id = ?1"))?;
    stmt.query_row([id.0], |r| Ok(decision_from_row(r)))
        .optional()?
        .transpose()?
        .ok_or_else(|| StoreError::NotFound {
            what: "risk decision",
            id: id.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{HostResponse, NewTransaction, ResponseOutcome};
    use crate::testing::{TestKeystore, test_dir};
    use crate::{NewQrOrder, QrFlow, QrOrderState, TxnState, Wallet};

    const T0: i64 = 1_700_000_000;
    const VISA: &str = "4761739001010010";
    const MASTERCARD: &str = "5413330089020011";

    fn store(name: &str) -> Store {
        Store::open(test_dir(name).join("terminal.db"), &TestKeystore::default()).unwrap()
    }

    fn decision<'a>(verdict: Verdict, pan: Option<&'a Pan>) -> NewRiskDecision<'a> {
        NewRiskDecision {
            at: T0,
            kind: TxnKind::Sale,
            amount: 100,
            currency: "156",
            entry_mode: EntryMode::Contact,
            pan,
            verdict,
            rule: (verdict != Verdict::Allow).then_some("per_transaction_limit"),
            reason: "amount 100 is over the per-transaction limit of 99",
        }
    }

    /// A card transaction at `at` that ends `outcome` (none: left pending).
    fn txn(
        store: &mut Store,
        kind: TxnKind,
        amount: u64,
        mode: EntryMode,
        pan: Option<&str>,
        at: i64,
        outcome: Option<ResponseOutcome>,
    ) -> TxnId {
        let mut new = NewTransaction::new(kind, amount, "156", mode, at);
        new.pan = pan.map(|p| Pan::new(p).unwrap());
        let rec = store.record_new(&new).unwrap();
        if let Some(outcome) = outcome {
            store.mark_sent(rec.id, at).unwrap();
            store
                .record_response(rec.id, &HostResponse::new(outcome, "00"), at)
                .unwrap();
        }
        rec.id
    }

    #[test]
    fn decisions_round_trip_and_keep_only_the_cards_keyed_hash() {
        let mut store = store("risk-round-trip");
        let pan = Pan::new(VISA).unwrap();
        let mut new = decision(Verdict::Review, Some(&pan));
        new.reason = "card 4761739001010010 looked odd";
        let id = store.record_risk_decision(&new).unwrap();
        let got = store.risk_decision(id).unwrap();
        assert_eq!(
            (got.verdict, got.rule.as_deref(), got.card_present, got.txn_id),
            (Verdict::Review, Some("per_transaction_limit"), true, None)
        );
        assert!(!got.reason.contains(VISA), "{}", got.reason);
        // The same HMAC as the journal's, so the two tables compare.
        let sale = txn(
            &mut store,
            TxnKind::Sale,
            1,
            EntryMode::Contact,
            Some(VISA),
            T0,
            None,
        );
        let (decision_hash, journal_hash): (Vec<u8>, Vec<u8>) = store
            .conn
            .query_row(
                "SELECT d.pan_hash, t.pan_hash FROM risk_decisions d, transactions t
                 WHERE d.id = ?1 AND t.id = ?2",
                [id.0, sale.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(decision_hash, journal_hash);
        assert_ne!(
            decision_hash,
            ring::digest::digest(&ring::digest::SHA256, VISA.as_bytes()).as_ref()
        );
        let without = store
            .record_risk_decision(&decision(Verdict::Allow, None))
            .unwrap();
        assert!(!store.risk_decision(without).unwrap().card_present);
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_written() {
        let mut store = store("risk-bad-input");
        let mut bad = decision(Verdict::Block, None);
        bad.rule = Some("Per Transaction");
        assert!(matches!(
            store.record_risk_decision(&bad),
            Err(StoreError::InvalidInput {
                field: "risk rule",
                ..
            })
        ));
        let mut bad = decision(Verdict::Block, None);
        bad.currency = "yuan";
        assert!(store.record_risk_decision(&bad).is_err());
        let mut bad = decision(Verdict::Block, None);
        bad.reason = "";
        assert!(store.record_risk_decision(&bad).is_err());
        assert!(store.risk_decisions_since(0).unwrap().is_empty());
    }

    #[test]
    fn links_go_once_to_something_that_exists_and_never_from_a_block() {
        let mut store = store("risk-links");
        let sale = txn(&mut store, TxnKind::Sale, 5, EntryMode::Contact, None, T0, None);
        let allow = store
            .record_risk_decision(&decision(Verdict::Allow, None))
            .unwrap();
        assert!(matches!(
            store.link_risk_decision(allow, TxnId(999)),
            Err(StoreError::NotFound { .. })
        ));
        store.link_risk_decision(allow, sale).unwrap();
        assert_eq!(store.risk_decision_for_txn(sale).unwrap().unwrap().id, allow);
        assert!(matches!(
            store.link_risk_decision(allow, sale),
            Err(StoreError::Duplicate { .. })
        ));
        let block = store
            .record_risk_decision(&decision(Verdict::Block, None))
            .unwrap();
        assert!(store.link_risk_decision(block, sale).is_err());
        assert_eq!(store.risk_decision(block).unwrap().txn_id, None);
        assert!(matches!(
            store.link_risk_decision(RiskDecisionId(77), sale),
            Err(StoreError::NotFound { .. })
        ));

        store
            .create_qr_order(&NewQrOrder {
                merchant_order_no: "Q1".into(),
                flow: QrFlow::Micropay,
                wallet: Wallet::Alipay,
                amount: 5,
                currency: "CNY".into(),
                txn_id: None,
                created_at: T0,
                expires_at: None,
            })
            .unwrap();
        let review = store
            .record_risk_decision(&decision(Verdict::Review, None))
            .unwrap();
        assert!(matches!(
            store.link_risk_decision_to_qr_order(review, "Q2"),
            Err(StoreError::NotFound { .. })
        ));
        store.link_risk_decision_to_qr_order(review, "Q1").unwrap();
        assert_eq!(
            store.risk_decision(review).unwrap().merchant_order_no.as_deref(),
            Some("Q1")
        );
    }

    #[test]
    fn decisions_since_is_inclusive_and_ordered() {
        let mut store = store("risk-since");
        for at in [T0, T0 + 10, T0 + 20] {
            let mut d = decision(Verdict::Allow, None);
            d.at = at;
            store.record_risk_decision(&d).unwrap();
        }
        let since: Vec<i64> = store
            .risk_decisions_since(T0 + 10)
            .unwrap()
            .iter()
            .map(|d| d.at)
            .collect();
        assert_eq!(since, [T0 + 10, T0 + 20]);
    }

    #[test]
    fn card_counts_use_the_hash_a_strict_window_and_skip_unsent_rows() {
        let mut store = store("risk-card-counts");
        let visa = Pan::new(VISA).unwrap();
        let approved = Some(ResponseOutcome::Approved);
        let declined = Some(ResponseOutcome::Declined);
        txn(
            &mut store,
            TxnKind::Sale,
            1,
            EntryMode::Contact,
            Some(VISA),
            T0,
            approved,
        );
        txn(
            &mut store,
            TxnKind::Sale,
            2,
            EntryMode::Contact,
            Some(VISA),
            T0 + 60,
            declined,
        );
        txn(
            &mut store,
            TxnKind::Sale,
            3,
            EntryMode::Contact,
            Some(VISA),
            T0 + 120,
            declined,
        );
        txn(
            &mut store,
            TxnKind::Sale,
            4,
            EntryMode::Contact,
            Some(MASTERCARD),
            T0 + 120,
            declined,
        );
        let aborted = txn(
            &mut store,
            TxnKind::Sale,
            5,
            EntryMode::Contact,
            Some(VISA),
            T0 + 130,
            None,
        );
        store.abort(aborted, "never sent", T0 + 130).unwrap();
        assert_eq!(store.card_transactions_since(&visa, T0 - 1).unwrap(), 3);
        // A row exactly at `since` is outside the window.
        assert_eq!(store.card_transactions_since(&visa, T0).unwrap(), 2);
        assert_eq!(store.card_declines_since(&visa, T0).unwrap(), 2);
        assert_eq!(store.card_declines_since(&visa, T0 + 60).unwrap(), 1);
        assert_eq!(store.card_transactions_since(&visa, T0 + 120).unwrap(), 0);
    }

    #[test]
    fn the_sales_total_counts_what_was_taken_card_and_qr() {
        let mut store = store("risk-sales-total");
        let ok = Some(ResponseOutcome::Approved);
        let contact = EntryMode::Contact;
        let first = txn(&mut store, TxnKind::Sale, 1_000, contact, Some(VISA), T0, ok);
        let voided = txn(&mut store, TxnKind::Sale, 20_000, contact, Some(VISA), T0, ok);
        let mut void = NewTransaction::new(TxnKind::Void, 20_000, "156", EntryMode::NotPresent, T0 + 5);
        void.original_id = Some(voided);
        let v = store.record_new(&void).unwrap();
        store.mark_sent(v.id, T0 + 5).unwrap();
        store
            .record_response(v.id, &HostResponse::new(ResponseOutcome::Approved, "00"), T0 + 5)
            .unwrap();
        assert_eq!(store.transaction(voided).unwrap().state, TxnState::Voided);
        txn(
            &mut store,
            TxnKind::Sale,
            300_000,
            contact,
            Some(VISA),
            T0,
            Some(ResponseOutcome::Declined),
        );
        txn(&mut store, TxnKind::Sale, 400_000, contact, Some(VISA), T0, None);
        txn(&mut store, TxnKind::PreAuth, 50_000, contact, Some(VISA), T0, ok);
        // A partial refund leaves its sale counted: it was taken.
        let mut refund = NewTransaction::new(TxnKind::Refund, 70, "156", EntryMode::NotPresent, T0 + 6);
        refund.original_id = Some(first);
        let r = store.record_new(&refund).unwrap();
        store.mark_sent(r.id, T0 + 6).unwrap();
        store
            .record_response(r.id, &HostResponse::new(ResponseOutcome::Approved, "00"), T0 + 6)
            .unwrap();
        // The next day.
        txn(&mut store, TxnKind::Sale, 9, contact, Some(VISA), T0 + 86_400, ok);
        for (no, state, amount) in [
            ("QPAID", QrOrderState::Paid, 200),
            ("QFAIL", QrOrderState::Failed, 5_000),
        ] {
            store
                .create_qr_order(&NewQrOrder {
                    merchant_order_no: no.into(),
                    flow: QrFlow::Micropay,
                    wallet: Wallet::WeChatPay,
                    amount,
                    currency: "CNY".into(),
                    txn_id: None,
                    created_at: T0 + 1,
                    expires_at: None,
                })
                .unwrap();
            store.update_qr_order(no, state, None, T0 + 2).unwrap();
        }
        assert_eq!(store.sales_total_between(T0, T0 + 86_400).unwrap(), 1_200);
        assert_eq!(store.sales_total_between(T0 + 1, T0 + 86_400).unwrap(), 200);
        assert_eq!(
            store.sales_total_between(T0 + 86_400, T0 + 2 * 86_400).unwrap(),
            9
        );
    }

    #[test]
    fn entry_mode_counts_are_per_range_and_skip_unsent_rows() {
        let mut store = store("risk-entry-modes");
        let ok = Some(ResponseOutcome::Approved);
        txn(
            &mut store,
            TxnKind::Sale,
            1,
            EntryMode::Fallback,
            Some(VISA),
            T0,
            ok,
        );
        txn(
            &mut store,
            TxnKind::Sale,
            1,
            EntryMode::Fallback,
            Some(VISA),
            T0 + 10,
            Some(ResponseOutcome::Declined),
        );
        let unsent = txn(
            &mut store,
            TxnKind::Sale,
            1,
            EntryMode::Fallback,
            Some(VISA),
            T0 + 20,
            None,
        );
        store.abort(unsent, "never sent", T0 + 20).unwrap();
        txn(
            &mut store,
            TxnKind::Sale,
            1,
            EntryMode::Manual,
            Some(VISA),
            T0 + 30,
            ok,
        );
        assert_eq!(
            store
                .entry_mode_count_between(EntryMode::Fallback, T0, T0 + 100)
                .unwrap(),
            2
        );
        assert_eq!(
            store
                .entry_mode_count_between(EntryMode::Fallback, T0 + 1, T0 + 100)
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .entry_mode_count_between(EntryMode::Manual, T0, T0 + 30)
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .entry_mode_count_between(EntryMode::Manual, T0, T0 + 31)
                .unwrap(),
            1
        );
    }

    #[test]
    fn verdicts_order_by_severity_and_use_snake_case_names() {
        assert!(Verdict::Allow < Verdict::Review && Verdict::Review < Verdict::Block);
        assert_eq!(serde_json::to_string(&Verdict::Review).unwrap(), "\"review\"");
        assert_eq!(
            serde_json::from_str::<Verdict>("\"block\"").unwrap(),
            Verdict::Block
        );
        for &v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()).unwrap(), v);
        }
    }
}
