//! The acquirer conversation (the `cup` dialect): sign-in with working
//! keys, parameter download, financial requests with their reversals,
//! store-and-forward, settlement with batch upload.
//!
//! DESIGN rule 4 throughout: a transaction is journaled before its request
//! leaves, its provisional reversal is committed with the "sent" mark, and
//! pending reversals go out before any new financial message.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use poskit_crypto::{Algorithm, SymmetricKey, kcv};
use poskit_host::{AcquirerLink, HostError, LinkFailure};
use poskit_iso8583::cup::{self as msg, CardFields, EntryMode, Original, TerminalIds};
use poskit_iso8583::frame::{self, Tpdu};
use poskit_iso8583::sub::{Field48, Field60, Totals, TypeCode};
use poskit_iso8583::{Message, cup};
use poskit_store::{
    HostResponse, NewTransaction, Pan, Recorded, ResponseOutcome, ReversalReason, Store, TransactionRecord,
    TxnId, TxnKind, TxnState,
};

use crate::error::{Result, TerminalError};
use crate::faults;
use crate::risk::{RiskCheck, RiskEngine};

/// Vault names of the working keys.
pub const PIN_KEY: &str = "working-pin-key";
pub const MAC_KEY: &str = "working-mac-key";
pub const TRACK_KEY: &str = "working-track-key";

/// What a financial request asks for.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: TxnKind,
    pub amount: u64,
    pub card: CardFields,
    /// For void, refund, completion and their voids.
    pub original: Option<TxnId>,
    pub aid: Option<String>,
}

/// The host's answer, as the terminal acts on it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub id: TxnId,
    pub stan: u32,
    pub approved: bool,
    pub response_code: String,
    pub auth_code: Option<String>,
    pub rrn: Option<String>,
    /// Response field 55 (issuer authentication data, scripts).
    pub icc_data: Option<Vec<u8>>,
    /// Field 54 for a balance inquiry.
    pub balance: Option<String>,
}

/// Why a request did not end with an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoAnswer {
    /// Sent, nothing came back: reversed (or the reversal is queued).
    Timeout,
    /// The answer's MAC did not verify: reversed.
    BadMac,
    /// The host could not be reached before anything was sent.
    Unreachable(String),
}

fn to_err(e: poskit_iso8583::CodecError) -> TerminalError {
    TerminalError::Acquirer(format!("message format: {e}"))
}

fn mmdd_hhmmss(now: u64) -> (String, String) {
    let days = (now / 86_400) as i64;
    let (_, m, d) = civil(days);
    let t = now % 86_400;
    (
        format!("{m:02}{d:02}"),
        format!("{:02}{:02}{:02}", t / 3600, t / 60 % 60, t % 60),
    )
}

/// Unix seconds to the UTC civil date (year, month, day).
pub(crate) fn civil_date(now: u64) -> (i64, u32, u32) {
    civil((now / 86_400) as i64)
}

/// Days since 1970-01-01 to a civil date.
pub(crate) fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn type_code(kind: TxnKind) -> TypeCode {
    match kind {
        TxnKind::Sale | TxnKind::QrSale => TypeCode::Sale,
        TxnKind::Void => TypeCode::Void,
        TxnKind::Refund | TxnKind::QrRefund => TypeCode::Refund,
        TxnKind::PreAuth => TypeCode::PreAuth,
        TxnKind::PreAuthVoid => TypeCode::PreAuthVoid,
        TxnKind::Completion => TypeCode::Completion,
        TxnKind::CompletionVoid => TypeCode::CompletionVoid,
        TxnKind::BalanceInquiry => TypeCode::Inquiry,
        TxnKind::PrepaidIssue => TypeCode::PrepaidIssue,
        TxnKind::PrepaidTopUp => TypeCode::PrepaidTopUp,
        TxnKind::PrepaidPay => TypeCode::PrepaidPay,
        TxnKind::PrepaidBalance => TypeCode::PrepaidBalance,
    }
}

fn entry_mode(mode: Option<EntryMode>) -> poskit_store::EntryMode {
    match mode {
        Some(EntryMode::Chip) => poskit_store::EntryMode::Contact,
        Some(EntryMode::Contactless) => poskit_store::EntryMode::Contactless,
        Some(EntryMode::Swipe) => poskit_store::EntryMode::MagStripe,
        Some(EntryMode::Fallback) => poskit_store::EntryMode::Fallback,
        Some(EntryMode::Manual) => poskit_store::EntryMode::Manual,
        None => poskit_store::EntryMode::NotPresent,
    }
}

fn back_entry_mode(mode: poskit_store::EntryMode) -> Option<EntryMode> {
    Some(match mode {
        poskit_store::EntryMode::Contact => EntryMode::Chip,
        poskit_store::EntryMode::Contactless => EntryMode::Contactless,
        poskit_store::EntryMode::MagStripe => EntryMode::Swipe,
        poskit_store::EntryMode::Fallback => EntryMode::Fallback,
        poskit_store::EntryMode::Manual => EntryMode::Manual,
        _ => return None,
    })
}

/// The terminal's link to its acquirer.
pub struct HostLink {
    link: AcquirerLink,
    tpdu: Tpdu,
    header: [u8; 6],
    pub ids: TerminalIds,
    pub currency: String,
    /// A reversal that cannot be sent waits this long before the next try.
    pub retry_backoff: Duration,
    risk: Option<Arc<RiskEngine>>,
}

impl HostLink {
    pub fn new(link: AcquirerLink, ids: TerminalIds) -> Self {
        Self {
            link,
            tpdu: Tpdu {
                destination: [0x00, 0x03],
                source: [0x00, 0x00],
            },
            header: [0x60, 0x31, 0x00, 0x31, 0x01, 0x00],
            ids,
            currency: "156".into(),
            retry_backoff: Duration::from_millis(200),
            risk: None,
        }
    }

    /// Judges every sale, pre-authorisation and refund with `engine`
    /// before it is journaled or sent (see [`RiskEngine::screens`]).
    pub fn set_risk(&mut self, engine: Arc<RiskEngine>) {
        self.risk = Some(engine);
    }

    fn key(store: &Store, name: &str) -> Result<SymmetricKey> {
        store
            .get_key(name)?
            .ok_or_else(|| TerminalError::NoKey(format!("no {name} in the vault: sign in first")))
    }

    /// Frames, sends and returns the answering message with its packed form.
    async fn exchange(
        &self,
        request: &Message,
        packed: &[u8],
    ) -> std::result::Result<(Message, Vec<u8>), LinkFailure> {
        let framed = frame::wrap(&self.tpdu, &self.header, packed).map_err(|e| LinkFailure {
            error: HostError::Config(e.to_string()),
            request_sent: false,
        })?;
        // The link adds the 2-byte length itself.
        let body = &framed[2..];
        let mut matcher = |answer: &[u8]| {
            frame::parse(answer)
                .ok()
                .and_then(|f| cup().unpack(f.message).ok())
                .is_some_and(|m| msg::answers(request, &m))
        };
        let answer = self.link.exchange(body, &mut matcher).await?;
        let bad = |e: poskit_iso8583::CodecError| LinkFailure {
            error: HostError::BadResponse(e.to_string()),
            request_sent: true,
        };
        let framed = frame::parse(&answer).map_err(bad)?;
        let message = cup().unpack(framed.message).map_err(bad)?;
        Ok((message, framed.message.to_vec()))
    }

    fn stamp(message: &mut Message, now: u64) {
        let (date, time) = mmdd_hhmmss(now);
        message.set_digits(12, time);
        message.set_digits(13, date);
    }

    // ---- Sign-in, sign-out, parameters ----

    /// Signs in: fresh PIN, MAC and track keys under the terminal master key,
    /// each checked against its check value before it replaces the old one.
    pub async fn sign_in(&self, store: &mut Store, master_key_name: &str, now: u64) -> Result<u32> {
        let result = self.run_sign_in(store, master_key_name, now).await;
        faults::on_exit(store, result, now)
    }

    async fn run_sign_in(&self, store: &mut Store, master_key_name: &str, now: u64) -> Result<u32> {
        let master = Self::key(store, master_key_name)?;
        let stan = store.allocate_stan("sign_in", now as i64)?;
        let batch = store.counters()?.last_batch;
        let mut request =
            msg::network_management(&self.ids, stan, batch, msg::network::SIGN_IN, "001").map_err(to_err)?;
        Self::stamp(&mut request, now);
        let packed = cup().pack(&request).map_err(to_err)?;
        let (answer, _) = self.exchange(&request, &packed).await?;
        if answer.text(39) != Some(msg::response::APPROVED) {
            return Err(TerminalError::Acquirer(format!(
                "sign-in refused by the acquirer (response {})",
                answer.text(39).unwrap_or("none")
            )));
        }
        let block = answer
            .binary(62)
            .ok_or_else(|| TerminalError::Acquirer("sign-in answer without working keys".into()))?;
        let (pin, mac, track) = msg::parse_key_block(block).map_err(to_err)?;
        let pin_key = kcv::unwrap_working_key(
            &master,
            Algorithm::Tdes,
            &pin.encrypted,
            &pin.check_value,
            "PIN key",
        )?;
        let mac_key = kcv::unwrap_working_key(
            &master,
            Algorithm::Tdes,
            &mac.encrypted,
            &mac.check_value,
            "MAC key",
        )?;
        let track_key = match track {
            Some(t) => Some(kcv::unwrap_working_key(
                &master,
                Algorithm::Tdes,
                &t.encrypted,
                &t.check_value,
                "track key",
            )?),
            None => None,
        };
        // All keys checked: only now replace the old ones.
        store.put_key(PIN_KEY, &pin_key)?;
        store.put_key(MAC_KEY, &mac_key)?;
        if let Some(t) = track_key {
            store.put_key(TRACK_KEY, &t)?;
        }
        let host_batch = Field60::from_value(answer.get(60))
            .map(|f| f.batch)
            .unwrap_or_default();
        store.append_audit(
            now as i64,
            "terminal",
            "signed in",
            &serde_json::json!({ "host_batch": host_batch }),
        )?;
        Ok(host_batch.parse().unwrap_or(batch))
    }

    pub async fn sign_out(&self, store: &mut Store, now: u64) -> Result<()> {
        let stan = store.allocate_stan("sign_out", now as i64)?;
        let batch = store.counters()?.last_batch;
        let mut request =
            msg::network_management(&self.ids, stan, batch, msg::network::SIGN_OUT, "001").map_err(to_err)?;
        Self::stamp(&mut request, now);
        let packed = cup().pack(&request).map_err(to_err)?;
        self.exchange(&request, &packed).await?;
        store.delete_key(PIN_KEY)?;
        store.delete_key(MAC_KEY)?;
        store.delete_key(TRACK_KEY)?;
        Ok(())
    }

    /// Downloads EMV parameters (AIDs, then CA keys) until the host says
    /// the download is complete, and applies them to `config`.
    pub async fn download_parameters(
        &self,
        store: &mut Store,
        config: &mut poskit_emv::Config,
        now: u64,
    ) -> Result<usize> {
        let result = self.run_download_parameters(store, config, now).await;
        faults::on_exit(store, result, now)
    }

    async fn run_download_parameters(
        &self,
        store: &mut Store,
        config: &mut poskit_emv::Config,
        now: u64,
    ) -> Result<usize> {
        let mut records = 0;
        for code in [msg::network::AID_DOWNLOAD, msg::network::CAPK_DOWNLOAD] {
            let mut next = 0u32;
            loop {
                let stan = store.allocate_stan("parameters", now as i64)?;
                let batch = store.counters()?.last_batch;
                let mut request =
                    msg::network_management(&self.ids, stan, batch, code, "001").map_err(to_err)?;
                // Field 62 of the request: the index of the next record wanted.
                request.set_binary(62, format!("{next:04}").into_bytes());
                Self::stamp(&mut request, now);
                let packed = cup().pack(&request).map_err(to_err)?;
                let (answer, _) = self.exchange(&request, &packed).await?;
                let block = answer.binary(62).unwrap_or_default();
                let Some((&flag, tlvs)) = block.split_first() else {
                    break;
                };
                records += crate::params::apply(config, tlvs)?;
                next += crate::params::count(tlvs) as u32;
                if flag != msg::params::MORE {
                    break;
                }
            }
        }
        config
            .validate()
            .map_err(|e| TerminalError::Config(format!("downloaded parameters are not usable: {e}")))?;
        Ok(records)
    }

    // ---- Financial requests ----

    fn original(store: &Store, id: Option<TxnId>) -> Result<Option<(TransactionRecord, Original)>> {
        let Some(id) = id else { return Ok(None) };
        let rec = store.transaction(id)?;
        let (date, _) = mmdd_hhmmss(rec.created_at as u64);
        let original = Original {
            batch: format!("{:06}", rec.batch_no),
            stan: format!("{:06}", rec.stan),
            date,
            rrn: rec.rrn.clone().unwrap_or_default(),
            auth_code: rec.auth_code.clone().unwrap_or_default(),
        };
        Ok(Some((rec, original)))
    }

    /// Builds a request message for a journaled transaction.
    fn build(&self, store: &Store, req: &Request, recorded: &Recorded) -> Result<Message> {
        let original = Self::original(store, req.original)?;
        let mut card = req.card.clone();
        if card.pan.is_none() && card.track2.is_none() {
            // By reference (void, completion): the original's card.
            if let Some((rec, _)) = &original {
                card.pan = store.reveal_pan(rec.id)?.map(|p| p.expose_digits().to_owned());
            }
        }
        msg::financial(
            type_code(req.kind),
            &self.ids,
            recorded.stan,
            recorded.batch_no,
            req.amount,
            &card,
            original.as_ref().map(|(_, o)| o),
            &self.currency,
        )
        .map_err(to_err)
    }

    /// A financial request: judged by the risk rules (when set), journaled,
    /// MACed, sent; the answer verified and journaled. Pending reversals go
    /// first. A risk block is [`TerminalError::RiskBlocked`], with nothing
    /// journaled but the decision and nothing sent.
    pub async fn authorise(
        &self,
        store: &mut Store,
        req: &Request,
        now: u64,
    ) -> Result<std::result::Result<Answer, NoAnswer>> {
        let mac_key = Self::key(store, MAC_KEY)?;
        let decision = match &self.risk {
            Some(engine) => engine.screen(
                store,
                &RiskCheck {
                    kind: req.kind,
                    amount: req.amount,
                    currency: &self.currency,
                    entry_mode: entry_mode(req.card.entry_mode),
                    pan: req.card.pan.as_deref(),
                    now,
                },
            )?,
            None => None,
        };
        self.send_reversals(store, now).await?;
        let mut new = NewTransaction::new(
            req.kind,
            req.amount,
            &self.currency,
            entry_mode(req.card.entry_mode),
            now as i64,
        );
        new.pan = match &req.card.pan {
            Some(p) => Some(Pan::new(p)?),
            None => None,
        };
        new.aid = req.aid.clone();
        new.original_id = req.original;
        new.icc_data = req.card.field55.clone();
        let recorded = store.record_new(&new)?;
        if let Some(decision) = &decision {
            store.link_risk_decision(decision.id, recorded.id)?;
        }
        let mut request = self.build(store, req, &recorded)?;
        Self::stamp(&mut request, now);
        let packed = msg::seal(cup(), &mut request, &mac_key).map_err(to_err)?;
        // Durable before visible: the provisional reversal is committed first.
        store.mark_sent(recorded.id, now as i64)?;
        let (answer, answer_packed) = match self.exchange(&request, &packed).await {
            Ok(a) => a,
            Err(LinkFailure {
                error,
                request_sent: false,
            }) => {
                // Nothing left the terminal: the transaction did not happen.
                store.abort(recorded.id, "the acquirer could not be reached", now as i64)?;
                faults::note(
                    store,
                    faults::host_category(&error),
                    &error.to_string(),
                    Some(recorded.id),
                    now,
                );
                return Ok(Err(NoAnswer::Unreachable(error.to_string())));
            }
            Err(LinkFailure { error, .. }) => {
                log::warn!("acquirer: no answer ({error}); reversing STAN {}", recorded.stan);
                faults::note(
                    store,
                    faults::host_category(&error),
                    &format!("{error}; the request is reversed"),
                    Some(recorded.id),
                    now,
                );
                store.record_response(
                    recorded.id,
                    &HostResponse::new(ResponseOutcome::MustReverse(ReversalReason::NoResponse), "98"),
                    now as i64,
                )?;
                let _ = self.send_reversals(store, now).await;
                return Ok(Err(NoAnswer::Timeout));
            }
        };
        if !msg::verify(&answer_packed, &mac_key) {
            store.record_response(
                recorded.id,
                &HostResponse::new(ResponseOutcome::MustReverse(ReversalReason::BadMac), "A0"),
                now as i64,
            )?;
            faults::note(
                store,
                poskit_store::FaultCategory::Mac,
                "the acquirer's answer failed its MAC check; the request is reversed",
                Some(recorded.id),
                now,
            );
            let _ = self.send_reversals(store, now).await;
            return Ok(Err(NoAnswer::BadMac));
        }
        let code = answer.text(39).unwrap_or("").to_owned();
        let approved = code == msg::response::APPROVED;
        let mut response = HostResponse::new(
            if approved {
                ResponseOutcome::Approved
            } else {
                ResponseOutcome::Declined
            },
            &code,
        );
        response.auth_code = answer
            .text(38)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        response.rrn = answer
            .text(37)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        store.record_response(recorded.id, &response, now as i64)?;
        if !approved {
            faults::note_decline(store, &code, Some(recorded.id), now);
        }
        Ok(Ok(Answer {
            id: recorded.id,
            stan: recorded.stan,
            approved,
            response_code: code,
            auth_code: response.auth_code,
            rrn: response.rrn,
            icc_data: answer.binary(55).map(<[u8]>::to_vec),
            balance: answer.text(54).map(str::to_owned),
        }))
    }

    /// The card declined after the host approved (second GENERATE AC gave
    /// an AAC): the authorisation is reversed.
    pub async fn card_declined_after_approval(&self, store: &mut Store, id: TxnId, now: u64) -> Result<()> {
        store.mark_reversal_needed(id, ReversalReason::CardDeclinedAfterApproval, now as i64)?;
        self.send_reversals(store, now).await?;
        Ok(())
    }

    /// Sends every pending reversal (oldest first), each until answered;
    /// returns how many were completed. A reversal that gets no answer
    /// stays queued (it is retried before the next financial message and
    /// at start-up).
    pub async fn send_reversals(&self, store: &mut Store, now: u64) -> Result<usize> {
        let pending = store.pending_reversals()?;
        if pending.is_empty() {
            return Ok(0);
        }
        let mac_key = Self::key(store, MAC_KEY)?;
        let mut done = 0;
        for entry in pending {
            let rec = store.transaction(entry.txn_id)?;
            let reason = match entry.reason {
                Some(ReversalReason::BadMac) => msg::response::REVERSAL_BAD_MAC,
                Some(ReversalReason::CardDeclinedAfterApproval) => msg::response::REVERSAL_CARD_DECLINED,
                _ => msg::response::REVERSAL_TIMEOUT,
            };
            let request = Request {
                kind: rec.kind,
                amount: rec.amount,
                card: CardFields {
                    pan: store.reveal_pan(rec.id)?.map(|p| p.expose_digits().to_owned()),
                    entry_mode: back_entry_mode(rec.entry_mode),
                    field55: rec.icc_data.clone(),
                    ..CardFields::default()
                },
                original: rec.original_id,
                aid: rec.aid.clone(),
            };
            let recorded = Recorded {
                id: rec.id,
                stan: rec.stan,
                batch_no: rec.batch_no,
                invoice_no: rec.invoice_no,
            };
            let original = self.build(store, &request, &recorded)?;
            let mut reversal = msg::reversal(&original, reason);
            let (date, time) = mmdd_hhmmss(rec.created_at as u64);
            reversal.set_digits(12, time);
            reversal.set_digits(13, date);
            let packed = msg::seal(cup(), &mut reversal, &mac_key).map_err(to_err)?;
            store.mark_reversal_sent(rec.id, now as i64)?;
            match self.exchange(&reversal, &packed).await {
                Ok((answer, answer_packed))
                    if msg::verify(&answer_packed, &mac_key) && answer.text(39).is_some() =>
                {
                    store.mark_reversal_completed(rec.id, now as i64)?;
                    done += 1;
                }
                Ok(_) => log::warn!("acquirer: a reversal answer did not verify; it will be sent again"),
                Err(e) => {
                    log::warn!(
                        "acquirer: reversal of STAN {} not answered ({}); retried later",
                        rec.stan,
                        e.error
                    );
                    tokio::time::sleep(self.retry_backoff).await;
                    break;
                }
            }
        }
        Ok(done)
    }

    /// Forwards the store-and-forward queue (TC uploads and offline
    /// approvals), in order; stops at the first that is not answered.
    pub async fn forward_saf(&self, store: &mut Store, now: u64) -> Result<usize> {
        let mac_key = Self::key(store, MAC_KEY)?;
        let mut done = 0;
        for entry in store.pending_saf()? {
            let rec = store.transaction(entry.txn_id)?;
            let recorded = Recorded {
                id: rec.id,
                stan: rec.stan,
                batch_no: rec.batch_no,
                invoice_no: rec.invoice_no,
            };
            let request = Request {
                kind: rec.kind,
                amount: rec.amount,
                card: CardFields {
                    pan: store.reveal_pan(rec.id)?.map(|p| p.expose_digits().to_owned()),
                    entry_mode: back_entry_mode(rec.entry_mode),
                    field55: Some(entry.payload.clone()),
                    ..CardFields::default()
                },
                original: None,
                aid: rec.aid.clone(),
            };
            let original = self.build(store, &request, &recorded)?;
            let code = match entry.kind {
                poskit_store::SafKind::Advice => msg::network::SCRIPT_RESULT,
                _ => msg::network::TC_UPLOAD,
            };
            // The advice carries the transaction's own STAN: the host finds
            // the authorisation it belongs to (or learns of an offline one).
            let mut advice = msg::advice(&original, rec.rrn.as_deref(), code).map_err(to_err)?;
            if entry.kind == poskit_store::SafKind::Advice {
                // Script results travel as 0620 (the table in cup.rs).
                advice.mti = poskit_iso8583::Mti(620);
            }
            Self::stamp(&mut advice, now);
            let packed = msg::seal(cup(), &mut advice, &mac_key).map_err(to_err)?;
            store.mark_saf_attempt(entry.id)?;
            match self.exchange(&advice, &packed).await {
                Ok((answer, answer_packed))
                    if msg::verify(&answer_packed, &mac_key) && answer.text(39) == Some("00") =>
                {
                    store.mark_saf_forwarded(entry.id, now as i64)?;
                    done += 1;
                }
                _ => break,
            }
        }
        Ok(done)
    }

    // ---- Settlement ----

    /// Settles the open batch: totals in field 48; when they do not
    /// balance, every transaction is uploaded and the batch closed with
    /// settlement end. Returns whether the totals balanced at first.
    pub async fn settle(&self, store: &mut Store, now: u64) -> Result<Settlement> {
        let result = self.run_settle(store, now).await;
        faults::on_exit(store, result, now)
    }

    async fn run_settle(&self, store: &mut Store, now: u64) -> Result<Settlement> {
        self.send_reversals(store, now).await?;
        self.forward_saf(store, now).await?;
        let mac_key = Self::key(store, MAC_KEY)?;
        let closed = store.close_batch(now as i64)?;
        let mut totals = Totals::default();
        for line in &closed.lines {
            match line.kind {
                // A purchase paid from a prepaid card is a sale to the
                // merchant; prepaid loads never reach the totals.
                TxnKind::Sale | TxnKind::Completion | TxnKind::QrSale | TxnKind::PrepaidPay => {
                    totals.debit_amount += line.amount;
                    totals.debit_count += line.count as u16;
                }
                TxnKind::Refund | TxnKind::QrRefund => {
                    totals.credit_amount += line.amount;
                    totals.credit_count += line.count as u16;
                }
                _ => {}
            }
        }
        let field48 = Field48 {
            domestic: totals,
            foreign: Totals::default(),
        };
        let stan = store.allocate_stan("settlement", now as i64)?;
        let mut request =
            msg::settlement(&self.ids, stan, closed.batch_no, &field48, &self.currency).map_err(to_err)?;
        Self::stamp(&mut request, now);
        let packed = msg::seal(cup(), &mut request, &mac_key).map_err(to_err)?;
        let (answer, answer_packed) = self.exchange(&request, &packed).await?;
        if !msg::verify(&answer_packed, &mac_key) {
            return Err(TerminalError::BadMac(
                "the settlement answer's MAC did not verify; settle again".into(),
            ));
        }
        let result = answer
            .digits(48)
            .and_then(|d| Field48::unpack(d).ok())
            .map(|f| f.domestic.result)
            .unwrap_or(Totals::ERROR);
        let balanced = result == Totals::BALANCED;
        let mut uploaded = 0;
        if !balanced {
            for rec in store.transactions_in_batch(closed.batch_no)? {
                if !matches!(
                    rec.state,
                    TxnState::Approved | TxnState::Voided | TxnState::Refunded
                ) || !rec.kind.counts_in_totals()
                {
                    continue;
                }
                let stan = store.allocate_stan("batch_upload", now as i64)?;
                let mut line = msg::batch_upload(
                    &self.ids,
                    stan,
                    closed.batch_no,
                    type_code(rec.kind),
                    rec.stan,
                    rec.amount,
                    rec.pan_masked.as_deref().unwrap_or(""),
                    rec.rrn.as_deref().unwrap_or(""),
                )
                .map_err(to_err)?;
                Self::stamp(&mut line, now);
                let packed = msg::seal(cup(), &mut line, &mac_key).map_err(to_err)?;
                self.exchange(&line, &packed).await?;
                uploaded += 1;
            }
            let stan = store.allocate_stan("settlement_end", now as i64)?;
            let mut end = msg::settlement_end(&self.ids, stan, closed.batch_no, uploaded).map_err(to_err)?;
            Self::stamp(&mut end, now);
            let packed = msg::seal(cup(), &mut end, &mac_key).map_err(to_err)?;
            let (answer, _) = self.exchange(&end, &packed).await?;
            if answer.text(39) != Some("00") {
                return Err(TerminalError::Acquirer(
                    "the acquirer refused the settlement end; settle again".into(),
                ));
            }
        }
        let settled = store.mark_batch_settled(closed.batch_no, now as i64)?;
        Ok(Settlement {
            batch_no: closed.batch_no,
            balanced,
            uploaded,
            settled,
            totals: field48,
        })
    }
}

/// The result of a settlement.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub batch_no: u32,
    /// The totals balanced at the first comparison.
    pub balanced: bool,
    /// Transactions sent in the batch upload (unbalanced case).
    pub uploaded: u32,
    pub settled: u64,
    pub totals: Field48,
}
