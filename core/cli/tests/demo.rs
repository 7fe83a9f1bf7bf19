//! `posctl demo`, the main job, as a newcomer runs it: a whole day against
//! the simulators, a summary, and an exit code that says the books agree.

mod common;

use common::posctl;
use poskit_store::testing::test_dir;

#[test]
fn the_demo_day_reconciles_and_reports_in_json() {
    let dir = test_dir("cli-demo-json");
    let _ = std::fs::remove_dir_all(&dir);
    let (code, out, err) = posctl(&["demo", "--json", "--data-dir", dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON summary");
    let txns = v["transactions"].as_array().unwrap();
    assert!(txns.len() >= 20, "{} steps", txns.len());
    let has = |kind: &str, method: &str, outcome: &str| {
        txns.iter()
            .any(|t| t["kind"] == kind && t["method"] == method && t["outcome"] == outcome)
    };
    assert!(has("sale", "contact", "approved"));
    assert!(has("sale", "contactless", "approved"));
    assert!(has("sale", "fallback", "approved"));
    assert!(has("qr_sale", "qr_scanned", "approved"));
    assert!(has("qr_sale", "qr_shown", "approved"));
    assert!(has("void", "reference", "approved"));
    assert!(has("refund", "reference", "approved"));
    assert!(has("qr_refund", "reference", "approved"));
    assert!(has("pre_auth", "contact", "approved"));
    assert!(has("completion", "reference", "approved"));
    assert!(has("balance_inquiry", "contact", "approved"));
    assert!(has("sale", "contact", "declined"));
    assert!(has("sale", "contact", "reversed"));
    assert!(has("sale", "contact", "blocked"));
    assert!(has("prepaid_issue", "magstripe", "approved"));
    assert!(has("prepaid_top_up", "manual", "approved"));
    assert!(has("prepaid_pay", "manual", "approved"));
    assert!(has("prepaid_balance", "manual", "approved"));
    assert!(has("ec_balance", "contact", "read"));
    assert!(v["receipts_printed"].as_u64().unwrap() >= 4);
    assert_eq!(v["printer_jobs"], v["receipts_printed"]);
    // The decline and the timeout are in the fault counts.
    assert_eq!(v["faults"]["by_class"]["decline_funds"], 1);
    assert_eq!(v["faults"]["by_class"]["host_timeout"], 1);
    assert!(txns.iter().all(|t| t["outcome"] != "error"), "{txns:#?}");
    assert_eq!(v["settlement"]["balanced"], true);
    assert_eq!(v["reconciliation"]["mismatches"].as_array().unwrap().len(), 0);
    assert!(v["reconciliation"]["card_checked"].as_u64().unwrap() >= 14);
    // Amounts are minor units; card numbers only masked.
    assert!(txns.iter().all(|t| t["amount"].is_u64()));
    for t in txns {
        if let Some(p) = t["masked_pan"].as_str() {
            assert!(p.contains("****"), "{p}");
        }
    }
    // The data directory was kept when named, and is not reused.
    assert!(dir.join("terminal.db").exists());
    let (code, _, err) = posctl(&["demo", "--data-dir", dir.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("new directory"), "{err}");
}

#[test]
fn the_demo_shows_progress_and_a_day_report() {
    let (code, out, err) = posctl(&["demo"]);
    assert_eq!(code, Some(0), "{err}\n{out}");
    for line in [
        "bound: merchant",
        "signed in",
        "waiting for the customer's password",
        "chip unreadable: swipe the card",
        "no answer from the host: reversing",
        "risk control: block (per_transaction_limit)",
        "CUSTOMER COPY",
        "faults:",
        "Day report",
        "balanced",
        "reconciled:",
    ] {
        assert!(out.contains(line), "no {line:?} in\n{out}");
    }
}
