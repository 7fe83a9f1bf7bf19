//! `posctl card ...`: read a card from a recorded transcript, or run a
//! whole transaction against a virtual card.

use std::sync::Arc;

use poskit_emv::select::scheme_name;
use poskit_emv::{Config, Decision, Interface, Kernel, TransactionParams};
use poskit_sim::driver::{ScriptedCardholder, drive, unreachable_issuer};
use poskit_sim::transcript::ReplayCard;
use serde::Serialize;

use crate::CliError;
use crate::input::upper_hex;

/// Today's date and time as the kernel wants them (YYMMDD, HHMMSS in BCD),
/// from the system clock: the command line is the edge where time enters.
pub fn now_bcd() -> ([u8; 3], [u8; 3]) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    let t = secs % 86_400;
    let bcd = |n: u64| (((n / 10) << 4) | (n % 10)) as u8;
    (
        [bcd((y % 100) as u64), bcd(m as u64), bcd(d as u64)],
        [bcd(t / 3600), bcd(t / 60 % 60), bcd(t % 60)],
    )
}

/// Days since 1970-01-01 to a civil date (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

/// Today as YYYY-MM-DD (UTC).
pub fn today_iso() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    use poskit_crypto::RandomSource;
    let mut out = [0u8; N];
    // On a failed OS generator the zeros still make a valid (if predictable) read.
    let _ = poskit_crypto::SystemRandom::new().fill(&mut out);
    out
}

pub fn transaction(interface: Interface, amount: u64) -> TransactionParams {
    let (date, time) = now_bcd();
    TransactionParams {
        interface,
        amount,
        other_amount: 0,
        transaction_type: poskit_emv::transaction_type::PURCHASE,
        date,
        time,
        unpredictable_number: random_bytes(),
        random_selection: (random_bytes::<1>()[0] % 99) + 1,
        entropy: random_bytes(),
        sequence_counter: 1,
        force_online: false,
    }
}

#[derive(Serialize)]
struct Application {
    aid: String,
    label: String,
    priority: Option<u8>,
}

#[derive(Serialize)]
struct CardRead {
    applications: Vec<Application>,
    pan: String,
    /// None when the card's date is not a valid month.
    expiry: Option<String>,
    scheme: String,
}

/// The exchanges of a session, one `>` command and `<` response per line.
/// VERIFY data is left out: it carries the PIN.
pub fn trace_text(trace: &[(Vec<u8>, Vec<u8>)]) -> String {
    let mut out = String::new();
    for (command, response) in trace {
        let shown = if command.get(1) == Some(&0x20) {
            &command[..command.len().min(4)]
        } else {
            &command[..]
        };
        out.push_str(&format!("> {}\n< {}\n", upper_hex(shown), upper_hex(response)));
    }
    out
}

pub fn read(transcript: &str, json: bool, trace: bool) -> Result<String, CliError> {
    let text = std::fs::read_to_string(transcript)
        .map_err(|e| CliError::arg("--transcript", format!("cannot read {transcript}: {e}")))?;
    let mut card = ReplayCard::from_text(&text).map_err(|e| CliError::arg("--transcript", e.to_string()))?;
    let mut kernel = Kernel::new(Arc::new(Config::card_reader()));
    kernel.start_card_read(transaction(Interface::Contact, 0));
    let session = drive(
        &mut kernel,
        &mut card,
        &mut ScriptedCardholder::default(),
        &mut unreachable_issuer(),
    );
    if trace {
        eprint!("{}", trace_text(&session.trace));
    }
    let outcome = session.outcome;
    let card = match (&outcome.decision, &outcome.card) {
        (Decision::CardRead, Some(card)) => card,
        _ => {
            let why = outcome.reason.unwrap_or_else(|| match outcome.decision {
                Decision::NotAccepted => "no payment application found on the card".into(),
                _ => "the card could not be read".into(),
            });
            return Err(CliError::failed(format!("card not read: {why}")));
        }
    };
    let expiry = match card.expiry.get(..4).map(|e| (&e[..2], e[2..].parse::<u8>())) {
        Some((yy, Ok(mm @ 1..=12))) => Some(format!("20{yy}-{mm:02}")),
        _ => None,
    };
    let aid = kernel
        .data()
        .get(poskit_tlv::Tag(0x84))
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let read = CardRead {
        applications: outcome
            .applications
            .iter()
            .map(|c| Application {
                aid: upper_hex(&c.aid),
                label: c.display_name().to_owned(),
                priority: c.priority,
            })
            .collect(),
        pan: card.masked_pan(),
        expiry,
        scheme: scheme_name(&aid).unwrap_or("unknown").to_owned(),
    };
    if json {
        return Ok(serde_json::to_string_pretty(&read).expect("serializable"));
    }
    let mut out = String::new();
    for a in &read.applications {
        let priority = a.priority.map(|p| format!(" (priority {p})")).unwrap_or_default();
        out.push_str(&format!("application  {} {}{}\n", a.aid, a.label, priority));
    }
    let expiry = read.expiry.as_deref().unwrap_or("not readable");
    out.push_str(&format!(
        "scheme       {}\npan          {}\nexpiry       {expiry}",
        read.scheme, read.pan
    ));
    Ok(out)
}

fn decision_name(d: &Decision) -> &'static str {
    match d {
        Decision::Approved => "approved",
        Decision::Declined => "declined",
        Decision::DeclinedAfterHostApproval => "declined after host approval (reverse)",
        Decision::OnlineCompleted { approved: true } => "approved online",
        Decision::OnlineCompleted { approved: false } => "declined online",
        Decision::TryAgain => "try again",
        Decision::TryAnotherInterface => "try another interface",
        Decision::SeePhone => "see phone",
        Decision::Fallback => "fallback to magnetic stripe",
        Decision::NotAccepted => "not accepted",
        Decision::Cancelled => "cancelled",
        Decision::Terminated => "terminated",
        Decision::CardRead => "card read",
    }
}

#[derive(Serialize)]
struct Simulation {
    profile: String,
    interface: &'static str,
    amount: u64,
    outcome: &'static str,
    reason: Option<String>,
    cryptogram: Option<String>,
    tvr: String,
    tvr_conditions: Vec<&'static str>,
    tsi: String,
    cvm: String,
    cvm_method: &'static str,
    field55: String,
    went_online: bool,
    arqc_verified_by_issuer: Option<bool>,
}

pub fn simulate(profile: &str, amount: u64, json: bool) -> Result<String, CliError> {
    use poskit_sim::issuer::{TestIssuer, Verdict};
    use poskit_sim::virtual_card::{Profile, VirtualCard};
    let mut card = VirtualCard::named(profile).ok_or_else(|| {
        CliError::arg(
            "--profile",
            format!("unknown profile; choose one of: {}", Profile::names().join(", ")),
        )
    })?;
    let interface = match card.profile().interface {
        poskit_sim::virtual_card::Interface::Contact => Interface::Contact,
        poskit_sim::virtual_card::Interface::Contactless => Interface::Contactless,
    };
    let mut issuer = TestIssuer::for_card(&card, Verdict::Approve);
    let pin = card.profile().pin.clone();
    let mut cardholder = ScriptedCardholder::with_pins(&[&pin]);
    let mut kernel = Kernel::new(Arc::new(poskit_sim::ca::test_config()));
    kernel.start(transaction(interface, amount));
    let session = drive(&mut kernel, &mut card, &mut cardholder, &mut issuer);
    let o = &session.outcome;
    let sim = Simulation {
        profile: profile.to_owned(),
        interface: if interface == Interface::Contact {
            "contact"
        } else {
            "contactless"
        },
        amount,
        outcome: decision_name(&o.decision),
        reason: o.reason.clone(),
        cryptogram: o
            .cryptogram
            .map(|(k, v)| format!("{} {}", k.name(), upper_hex(&v))),
        tvr: o.tvr.to_string(),
        tvr_conditions: o.tvr.describe(),
        tsi: o.tsi.to_string(),
        cvm: upper_hex(&o.cvm_results),
        cvm_method: o.cvm.name(),
        field55: upper_hex(&o.field55),
        went_online: o.went_online,
        arqc_verified_by_issuer: issuer.last_arqc_valid,
    };
    if json {
        return Ok(serde_json::to_string_pretty(&sim).expect("serializable"));
    }
    let mut out = format!("profile {} ({}), amount {amount}\n", sim.profile, sim.interface);
    out.push_str(&trace_text(&session.trace));
    out.push_str(&format!("outcome      {}\n", sim.outcome));
    if let Some(reason) = &sim.reason {
        out.push_str(&format!("reason       {reason}\n"));
    }
    if let Some(c) = &sim.cryptogram {
        out.push_str(&format!("cryptogram   {c}\n"));
    }
    out.push_str(&format!("TVR          {} {:?}\n", sim.tvr, sim.tvr_conditions));
    out.push_str(&format!("TSI          {}\n", sim.tsi));
    out.push_str(&format!("CVM          {} ({})\n", sim.cvm, sim.cvm_method));
    if let Some(ok) = sim.arqc_verified_by_issuer {
        out.push_str(&format!(
            "issuer       ARQC {}\n",
            if ok { "verified" } else { "NOT verified" }
        ));
    }
    out.push_str(&format!("field 55     {}", sim.field55));
    Ok(out)
}
