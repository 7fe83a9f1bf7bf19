//! Runs the day: simulators up, terminal onboarded, the script played,
//! settlement, reconciliation.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use poskit::receipt::{MemoryPrinter, ReceiptCopy, Width};
use poskit::sim::{
    EventLog, PinAction, Presentation, Reconciliation, SimHosts, SimHostsOptions, SimPinPad, SimReader,
    sample_application, sample_merchant,
};
use poskit::{Cancel, Devices, PrepaidCardInput, Reference, SaleMethod, Terminal, TerminalEvent};
use poskit_binding::Lifecycle;
use poskit_sim::acquirer::prepaid_card_number;
use poskit_store::KekKeystore;

use super::report::{DayTxn, FaultCounts, Played, Summary};
use super::script::{self, Action, CardKind, Step};
use crate::CliError;

const SERIAL: &str = "SN-DEMO-0001";

/// The demo's prepaid card (the simulator's programme numbers them).
const PREPAID_SERIAL: u32 = 42;

/// The merchant's risk control: no single payment over 5,000.00, at most
/// 20,000.00 a day.
const RISK_RULES: &str = r#"{
    "per_transaction_limit": {"max_amount": 500000},
    "daily_limit": {"max_amount": 2000000}
}"#;

/// Progress lines for the cashier watching the demo.
struct Progress(bool);

impl Progress {
    fn line(&self, text: &str) {
        if self.0 {
            let mut out = std::io::stdout().lock();
            // A closed pipe only stops the progress, not the day.
            let _ = writeln!(out, "{text}");
        }
    }
}

fn failed(what: &str) -> impl Fn(poskit::TerminalError) -> CliError + '_ {
    move |e| CliError::failed(format!("{what}: {e}"))
}

/// What the screen says, for the events worth a line in the demo.
fn describe(event: &TerminalEvent) -> Option<String> {
    Some(match event {
        TerminalEvent::EnterPin { online, .. } => {
            format!("      enter PIN ({})", if *online { "online" } else { "offline" })
        }
        TerminalEvent::UseMagstripe => "      chip unreadable: swipe the card".into(),
        TerminalEvent::InsertCard { reason } => format!("      {reason}"),
        TerminalEvent::WaitingForPassword { .. } => "      waiting for the customer's password".into(),
        TerminalEvent::QrShown { order_no, .. } => format!("      code shown for order {order_no}"),
        TerminalEvent::Cancelling { order_no } => format!("      cancelling order {order_no}"),
        TerminalEvent::Reversing { .. } => "      no answer from the host: reversing".into(),
        TerminalEvent::RiskAlert { rule, verdict, .. } => format!("      risk control: {verdict} ({rule})"),
        TerminalEvent::Printing { copy } => format!("      printing the {copy} copy"),
        _ => return None,
    })
}

pub async fn day(dir: &Path, show: bool) -> Result<Summary, CliError> {
    let started = Instant::now();
    let progress = Arc::new(Progress(show));
    progress.line("PosKit demo: a merchant's day against the built-in simulators");
    let hosts = SimHosts::start(SimHostsOptions {
        user_paying_delay: Duration::from_millis(1500),
        review_delay: 1,
    })
    .await
    .map_err(|e| CliError::failed(format!("cannot start the simulators on loopback: {e}")))?;
    progress.line(&format!(
        "  simulators on loopback TLS: platform {}, acquirer {}, QR gateway {}",
        hosts.platform.base_url(),
        hosts.acquirer.addr(),
        hosts.gateway.base_url()
    ));

    let reader = SimReader::new();
    let printer_progress = progress.clone();
    let events = EventLog::with_observer(Arc::new(move |e: &TerminalEvent| {
        if let Some(line) = describe(e) {
            printer_progress.line(&line);
        }
    }));
    let pin_pad = reader.pin_pad();
    let printer = Arc::new(MemoryPrinter::new());
    let devices = Devices {
        reader: Arc::new(reader.clone()),
        pin_pad: Arc::new(pin_pad.clone()),
        printer: printer.clone(),
        listener: Arc::new(events.clone()),
    };
    let mut config = hosts.terminal_config(dir, SERIAL, sample_merchant());
    config.risk = serde_json::from_str(RISK_RULES)
        .map_err(|e| CliError::failed(format!("the demo's risk rules: {e}")))?;
    // The demo's terminal lives for one run: a random key-encryption key
    // held in memory stands in for the device's hardware keystore.
    let keystore = KekKeystore::random().map_err(|e| CliError::failed(format!("key store: {e}")))?;
    let terminal = Terminal::open(config, &keystore, devices)
        .await
        .map_err(failed("opening the terminal"))?;

    // Onboarding: application, review, binding, the acquirer learns the
    // terminal, sign-in with the parameter download.
    terminal
        .apply(&sample_application())
        .await
        .map_err(failed("applying"))?;
    progress.line("  applied to the merchant platform: under review");
    for _ in 0..10 {
        if !matches!(terminal.lifecycle().await, Lifecycle::UnderReview { .. }) {
            break;
        }
        terminal.refresh_review().await.map_err(failed("review"))?;
    }
    terminal.bind(SERIAL, "P10").await.map_err(failed("binding"))?;
    let device = terminal
        .lifecycle()
        .await
        .device()
        .cloned()
        .ok_or_else(|| CliError::failed("binding did not give the terminal its ids"))?;
    progress.line(&format!(
        "  bound: merchant {}, terminal {}",
        device.merchant_id, device.terminal_id
    ));
    hosts.enrol(&device.terminal_id).map_err(CliError::failed)?;
    let signed = terminal.sign_in().await.map_err(failed("signing in"))?;
    progress.line(&format!(
        "  signed in: batch {}, {} parameter records loaded ({:.1} s since start)",
        signed.batch_no,
        signed.parameters,
        started.elapsed().as_secs_f64()
    ));
    terminal
        .change_settlement_card("246810", "6222020000000000018", "Li Wei", "ICBC", "102100000001")
        .await
        .map_err(failed("changing the settlement card"))?;
    terminal
        .refresh_card_change()
        .await
        .map_err(failed("card change"))?;
    progress.line("  settlement card changed and confirmed by the platform");

    let steps = script::day();
    let total = steps.len();
    let mut done: Vec<DayTxn> = Vec::new();
    let mut references: Vec<Option<Reference>> = Vec::new();
    let mut receipts = 0usize;
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        progress.line(&format!("[{n:>2}/{total}] {}", step.label));
        let t0 = Instant::now();
        let counter = Counter {
            terminal: &terminal,
            hosts: &hosts,
            reader: &reader,
            pin_pad: &pin_pad,
        };
        let result = counter.play(step, &references).await;
        let mut txn = DayTxn::new(n, step.label, result);
        if step.print
            && let (Some(r), "approved") = (&txn.reference, txn.outcome.as_str())
        {
            match terminal.print_receipt(r).await {
                Ok(()) => {
                    receipts += 2;
                    if receipts == 2 {
                        // One receipt in full, as the customer gets it.
                        let copy = terminal
                            .receipt(r, ReceiptCopy::Customer, false)
                            .await
                            .map_err(failed("receipt"))?;
                        for line in copy.text(Width::Mm58).lines() {
                            progress.line(&format!("      | {line}"));
                        }
                    }
                }
                Err(e) => txn.message = Some(format!("receipt not printed: {e}")),
            }
        }
        progress.line(&format!(
            "      -> {} ({:.1} s)",
            txn.line(),
            t0.elapsed().as_secs_f64()
        ));
        references.push(txn.reference.clone());
        done.push(txn);
    }
    let _ = events.take();

    terminal.flush().await.map_err(failed("sending what is owed"))?;
    let settlement = terminal.settle().await.map_err(failed("settling"))?;
    progress.line(&format!(
        "  settled batch {}: {} ({} sales {}, {} refunds {})",
        settlement.batch_no,
        if settlement.balanced {
            "balanced"
        } else {
            "NOT balanced"
        },
        settlement.debit_count,
        super::report::money(settlement.debit_amount),
        settlement.credit_count,
        super::report::money(settlement.credit_amount),
    ));
    let transactions = terminal
        .transactions(0, i64::MAX)
        .await
        .map_err(failed("listing transactions"))?;
    let reconciliation = terminal
        .with_store(|s| Reconciliation::check(s, &hosts.acquirer, &device.terminal_id, Some(&hosts.gateway)))
        .await
        .map_err(|e| CliError::failed(format!("reading the journal: {e}")))?;
    let faults = terminal.fault_report(0).await.map_err(failed("fault report"))?;
    Ok(Summary {
        merchant_id: device.merchant_id,
        terminal_id: device.terminal_id,
        transactions: done,
        journal: transactions,
        settlement: Some(settlement),
        reconciliation,
        receipts_printed: receipts,
        printer_jobs: printer.jobs().len(),
        faults: FaultCounts::from(&faults),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// The counter: the terminal and what the customers do with it.
struct Counter<'a> {
    terminal: &'a Terminal,
    hosts: &'a SimHosts,
    reader: &'a SimReader,
    pin_pad: &'a SimPinPad,
}

impl Counter<'_> {
    async fn play(&self, step: &Step, refs: &[Option<Reference>]) -> Result<Played, String> {
        let (terminal, hosts, reader) = (self.terminal, self.hosts, self.reader);
        let earlier = |of: usize| {
            refs.get(of - 1)
                .cloned()
                .flatten()
                .ok_or_else(|| format!("step {of} left nothing to refer to"))
        };
        let cancel = Cancel::new();
        let result = match &step.action {
            Action::Card { kind, amount, cards } => {
                for c in cards {
                    reader.present(c.clone());
                }
                match kind {
                    CardKind::Sale => terminal.sale(*amount, SaleMethod::Card, &cancel).await,
                    CardKind::PreAuth => terminal.pre_auth(*amount, &cancel).await,
                    CardKind::Balance => terminal.balance_inquiry(&cancel).await,
                }
            }
            Action::QrScan { code, amount } => {
                terminal
                    .sale(*amount, SaleMethod::QrScan { code: (*code).into() }, &cancel)
                    .await
            }
            Action::QrShow { wallet, amount } => {
                // The customer scans the code on the screen and pays a
                // moment later.
                let gateway = &hosts.gateway;
                let customer = async {
                    for _ in 0..100 {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        let waiting = gateway
                            .orders()
                            .into_iter()
                            .find(|o| o.amount == *amount && gateway.customer_pays(&o.order_no).is_ok());
                        if waiting.is_some() {
                            return;
                        }
                    }
                };
                let sale = terminal.sale(*amount, SaleMethod::QrShow { wallet: *wallet }, &cancel);
                let (result, ()) = tokio::join!(sale, customer);
                result
            }
            Action::Void { of } => terminal.void(&earlier(*of)?).await,
            Action::Refund { of, amount } => terminal.refund(&earlier(*of)?, *amount).await,
            Action::Complete { of, amount } => terminal.complete(&earlier(*of)?, *amount).await,
            Action::Prepaid { op, swipe, pin } => {
                let number = prepaid_card_number(PREPAID_SERIAL);
                let input = if *swipe {
                    reader.present(Presentation::Swipe(format!(";{number}=49120000000000?")));
                    PrepaidCardInput::Swipe
                } else {
                    PrepaidCardInput::Entered(number)
                };
                if let Some(pin) = pin {
                    self.pin_pad.then(PinAction::Type((*pin).into()));
                }
                terminal.prepaid(*op, input, pin.is_some(), &cancel).await
            }
            Action::EcBalance { profile } => {
                reader.present(Presentation::Insert((*profile).into()));
                let ec = terminal.ec_balance(&cancel).await.map_err(|e| e.to_string())?;
                return Ok(Played::EcBalance(ec.balance));
            }
        };
        result.map(Played::Txn).map_err(|e| e.to_string())
    }
}
