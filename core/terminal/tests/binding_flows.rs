//! The binding lifecycle end to end: the terminal's store, the merchant
//! platform simulator over TLS on loopback, and every path and refusal.

use poskit::binding::MASTER_KEY;
use poskit::{BindingService, TerminalError};
use poskit_binding::platform::{OtpPurpose, PaymentMethod};
use poskit_binding::{ApplicationForm, BindingError, Lifecycle};
use poskit_host::{PlatformClient, PlatformConfig};
use poskit_sim::platform::{self, PlatformSim, PlatformSimConfig};
use poskit_store::testing::{TestKeystore, test_dir};
use poskit_store::{BackupSecret, Store, TxnKind};

const NOW: u64 = 1_795_000_000;

fn form(name: &str) -> ApplicationForm {
    ApplicationForm {
        merchant_name: name.into(),
        business_licence: "91310000MA1FL4XX3B".into(),
        legal_representative_id: "11010519491231002X".into(),
        settlement_card: "6230580000000000013".into(),
        settlement_holder: "Li Wei".into(),
        bank_code: "ICBC".into(),
        contact_phone: "13800138000".into(),
        documents: vec!["doc://licence.jpg".into()],
        admin_password: "246810".into(),
    }
}

async fn platform() -> PlatformSim {
    PlatformSim::start(PlatformSimConfig::default())
        .await
        .expect("simulator starts")
        .0
}

fn service(sim: &PlatformSim, dir: &std::path::Path) -> BindingService {
    let client = PlatformClient::new(PlatformConfig::new(sim.base_url(), platform::test_ca_pem())).unwrap();
    BindingService::open(
        dir,
        &TestKeystore::new(1),
        client,
        platform::test_transport_key(),
        BackupSecret::key(&[9; 32]),
    )
    .unwrap()
}

/// Applies, waits for the review and binds `serial`.
async fn active(sim: &PlatformSim, dir: &std::path::Path, serial: &str) -> BindingService {
    let mut t = service(sim, dir);
    t.apply(&form("Harbour Noodles"), NOW).await.unwrap();
    assert!(matches!(t.lifecycle(), Lifecycle::UnderReview { .. }));
    review(&mut t).await;
    assert!(
        matches!(t.lifecycle(), Lifecycle::Approved { .. }),
        "{:?}",
        t.lifecycle()
    );
    t.bind(serial, "P10", NOW).await.unwrap();
    t.signed_in(NOW).unwrap();
    t
}

/// Polls the review until the platform decides.
async fn review(t: &mut BindingService) {
    for _ in 0..5 {
        if !matches!(t.lifecycle(), Lifecycle::UnderReview { .. }) {
            return;
        }
        t.refresh_review(NOW).await.unwrap();
    }
}

fn device(t: &BindingService) -> poskit_binding::Device {
    t.lifecycle().device().cloned().expect("bound")
}

#[tokio::test]
async fn onboarding_binding_and_the_master_key() {
    let sim = platform().await;
    let dir = test_dir("terminal-onboarding");
    let t = active(&sim, &dir, "SN-ONB-1").await;
    let d = device(&t);
    // The master key in the vault is the one the platform issued.
    let stored = t.store().get_key(MASTER_KEY).unwrap().expect("master key loaded");
    assert_eq!(stored, sim.terminal(&d.terminal_id).unwrap().master_key);
    assert!(matches!(t.lifecycle(), Lifecycle::Active(_)));
    // Reopening the store gives the same state; the audit chain holds.
    drop(t);
    let t = service(&sim, &dir);
    assert_eq!(device(&t), d);
    let summary = t.store().verify_audit().unwrap();
    assert!(summary.records >= 3);
}

#[tokio::test]
async fn rejected_application_and_binding_refusals() {
    let sim = platform().await;
    let mut t = service(&sim, &test_dir("terminal-rejected"));
    t.apply(&form("REJECT Corner Shop"), NOW).await.unwrap();
    review(&mut t).await;
    assert!(matches!(t.lifecycle(), Lifecycle::Rejected { .. }));
    assert!(matches!(
        t.bind("SN-X", "P10", NOW).await,
        Err(TerminalError::Binding(BindingError::WrongState { .. }))
    ));
    // A serial bound elsewhere is refused, and the terminal stays approved.
    let _first = active(&sim, &test_dir("terminal-dup-a"), "SN-DUP").await;
    let mut second = service(&sim, &test_dir("terminal-dup-b"));
    second.apply(&form("Second Shop"), NOW).await.unwrap();
    review(&mut second).await;
    let err = second.bind("SN-DUP", "P10", NOW).await.unwrap_err();
    assert!(err.to_string().contains("duplicate_device"), "{err}");
    assert!(matches!(second.lifecycle(), Lifecycle::Approved { .. }));
    second.bind("SN-DUP-2", "P10", NOW).await.unwrap();
}

#[tokio::test]
async fn unbinding_with_password_code_and_settlement() {
    let sim = platform().await;
    let dir = test_dir("terminal-unbind");
    let mut t = active(&sim, &dir, "SN-UNB-1").await;
    let d = device(&t);
    // An approved, unsettled sale blocks unbinding.
    let sale = poskit_store::NewTransaction::new(
        TxnKind::Sale,
        1_000,
        "156",
        poskit_store::EntryMode::Contactless,
        NOW as i64,
    );
    let rec = t.store_mut().record_new(&sale).unwrap();
    t.store_mut().mark_sent(rec.id, NOW as i64).unwrap();
    t.store_mut()
        .record_response(
            rec.id,
            &poskit_store::HostResponse::new(poskit_store::ResponseOutcome::Approved, "00"),
            NOW as i64,
        )
        .unwrap();
    t.request_otp(OtpPurpose::Unbind, NOW).await.unwrap();
    let otp = sim.last_otp(&d.merchant_id, OtpPurpose::Unbind).unwrap();
    let err = t.unbind(&d.merchant_id, "246810", &otp, NOW).await.unwrap_err();
    assert!(err.to_string().contains("not settled"), "{err}");
    // Settle, then: wrong code refused, right code unbinds.
    let batch = t.store().open_batch().unwrap().unwrap().batch_no;
    t.store_mut().close_batch(NOW as i64).unwrap();
    t.store_mut().mark_batch_settled(batch, NOW as i64).unwrap();
    let err = t
        .unbind(&d.merchant_id, "246810", "000000", NOW)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bad_otp"), "{err}");
    assert!(t.lifecycle().device().is_some());
    let report = t.unbind(&d.merchant_id, "246810", &otp, NOW).await.unwrap();
    let backup = report.backup.expect("a backup is taken first");
    assert!(backup.exists());
    assert_eq!(t.lifecycle(), &Lifecycle::Unprovisioned);
    assert!(t.store().get_key(MASTER_KEY).unwrap().is_none(), "keys wiped");
    assert!(
        sim.device(&d.serial).is_none(),
        "the platform deregistered the device"
    );
}

#[tokio::test]
async fn wrong_password_until_lockout_survives_a_restart() {
    let sim = platform().await;
    let dir = test_dir("terminal-lockout");
    let mut t = active(&sim, &dir, "SN-LOCK-1").await;
    let mid = device(&t).merchant_id;
    for _ in 0..4 {
        let err = t.unbind(&mid, "999999", "123456", NOW).await.unwrap_err();
        assert!(
            matches!(err, TerminalError::Binding(BindingError::WrongPassword { .. })),
            "{err}"
        );
    }
    drop(t);
    let mut t = service(&sim, &dir);
    let err = t.unbind(&mid, "999999", "123456", NOW).await.unwrap_err();
    assert!(
        matches!(
            err,
            TerminalError::Binding(BindingError::PasswordLocked { minutes: 30 })
        ),
        "{err}"
    );
    let err = t.unbind(&mid, "246810", "123456", NOW + 60).await.unwrap_err();
    assert!(
        matches!(err, TerminalError::Binding(BindingError::PasswordLocked { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn settlement_card_changes() {
    let sim = platform().await;
    let mut t = active(&sim, &test_dir("terminal-card"), "SN-CARD-1").await;
    let err = t
        .change_settlement_card(
            "246810",
            "6230580000000000014",
            "Li Wei",
            "ICBC",
            "102100099996",
            NOW,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("check digit"), "{err}");
    let cards = [
        "6230580000000000021",
        "6230580000000000039",
        "6230580000000000047",
    ];
    for (i, card) in cards.iter().enumerate() {
        let now = NOW + i as u64 * 86_400;
        t.change_settlement_card("246810", card, "Li Wei", "ICBC", "102100099996", now)
            .await
            .unwrap();
        assert!(t.binding().card_change_pending());
        let mut voucher = None;
        for _ in 0..5 {
            if !t.binding().card_change_pending() {
                break;
            }
            voucher = t.refresh_card_change(now).await.unwrap().voucher.or(voucher);
        }
        let voucher = voucher.expect("confirmed with a voucher");
        assert_eq!(voucher.new_card, poskit_binding::validate::mask_card(card));
    }
    let err = t
        .change_settlement_card(
            "246810",
            "6230580000000000054",
            "Li Wei",
            "ICBC",
            "102100099996",
            NOW + 4 * 86_400,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TerminalError::Binding(BindingError::TooManyCardChanges { count: 3, .. })
        ),
        "{err}"
    );
    // The audit trail keeps the old cards, masked, and its chain holds.
    let records = t.store().audit_records().unwrap();
    assert!(
        records
            .iter()
            .filter(|r| r.event == "settlement card changed")
            .count()
            == 3
    );
    t.store().verify_audit().unwrap();
}

#[tokio::test]
async fn payment_methods() {
    let sim = platform().await;
    let mut t = active(&sim, &test_dir("terminal-methods"), "SN-METH-1").await;
    assert!(
        t.set_payment_method(PaymentMethod::Alipay, true, None, NOW)
            .await
            .is_err()
    );
    t.set_payment_method(PaymentMethod::Alipay, true, Some("2088102146225135"), NOW)
        .await
        .unwrap();
    t.set_payment_method(PaymentMethod::UnionpayQr, true, Some("898310012345678"), NOW)
        .await
        .unwrap();
    assert!(t.binding().methods[&PaymentMethod::Alipay].enabled);
    let mid = device(&t).merchant_id;
    assert_eq!(sim.payment_methods(&mid).len(), 2);
}

#[tokio::test]
async fn device_replacement_moves_the_data_and_retires_the_old_device() {
    let sim = platform().await;
    let old_dir = test_dir("terminal-replace-old");
    let mut old = active(&sim, &old_dir, "SN-OLD-1").await;
    let d = device(&old);
    let old_key = old.store().get_key(MASTER_KEY).unwrap().unwrap();
    let backup = old.backup(NOW, "device replacement").unwrap();

    // The new device restores the backup under its own keystore.
    let new_dir = test_dir("terminal-replace-new");
    let _ = std::fs::remove_dir_all(&new_dir);
    std::fs::create_dir_all(&new_dir).unwrap();
    let bytes = std::fs::read(&backup).unwrap();
    let store = Store::restore_backup(
        new_dir.join("terminal.db"),
        &bytes,
        &BackupSecret::key(&[9; 32]),
        &TestKeystore::new(2),
    )
    .unwrap();
    let client = PlatformClient::new(PlatformConfig::new(sim.base_url(), platform::test_ca_pem())).unwrap();
    let mut new = BindingService::with_store(
        store,
        &new_dir,
        client,
        platform::test_transport_key(),
        BackupSecret::key(&[9; 32]),
    )
    .unwrap();
    assert_eq!(device(&new), d, "the terminal's identity came over");
    // A serial bound anywhere is refused.
    assert!(new.replace("SN-OLD-1", "P20", "2026-11-21", NOW).await.is_err());
    let report = new.replace("SN-NEW-1", "P20", "2026-11-21", NOW).await.unwrap();
    assert!(!report.chargeable, "inside the warranty");
    assert_eq!(device(&new).serial, "SN-NEW-1");
    assert_eq!(device(&new).terminal_id, d.terminal_id);
    let new_key = new.store().get_key(MASTER_KEY).unwrap().unwrap();
    assert_ne!(new_key, old_key, "a new master key for the new device");
    assert!(sim.device("SN-OLD-1").is_none());
    old.retire(NOW).unwrap();
    assert!(old.store().get_key(MASTER_KEY).unwrap().is_none());
    assert_eq!(old.lifecycle(), &Lifecycle::Unprovisioned);
}

#[tokio::test]
async fn a_tampered_backup_is_refused() {
    let sim = platform().await;
    let mut t = active(&sim, &test_dir("terminal-tamper"), "SN-TAMP-1").await;
    let path = t.backup(NOW, "test").unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let target = test_dir("terminal-tamper-restore").join("terminal.db");
    let err = Store::restore_backup(
        &target,
        &bytes,
        &BackupSecret::key(&[9; 32]),
        &TestKeystore::new(3),
    )
    .unwrap_err();
    assert!(matches!(err, poskit_store::StoreError::Tampered(_)), "{err}");
    assert!(!target.exists(), "nothing was written");
}

#[tokio::test]
async fn platform_down_leaves_the_call_to_retry() {
    let sim = platform().await;
    let dir = test_dir("terminal-down");
    let mut t = service(&sim, &dir);
    let url = sim.base_url();
    drop(sim);
    let err = t.apply(&form("Harbour Noodles"), NOW).await.unwrap_err();
    assert!(matches!(err, TerminalError::Platform(_)), "{err}");
    assert!(t.binding().pending_call().is_none(), "nothing left waiting");
    let _ = url;
}
