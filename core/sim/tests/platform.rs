//! The merchant platform simulator driven by the real client over TLS on
//! loopback: every endpoint, every refusal, TLS trust and pinning,
//! timeouts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use poskit_binding::platform::{
    ApplicationRequest, BindRequest, CardChangeRequest, CardChangeState, OtpPurpose, OtpRequest,
    PaymentMethod, PaymentMethodRequest, ReplaceRequest, ReviewState, UnbindRequest, error_code,
};
use poskit_crypto::{Algorithm, kcv};
use poskit_host::{HostError, PlatformClient, PlatformConfig};
use poskit_sim::platform::{self, PlatformSim, PlatformSimConfig, SimClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LICENCE: &str = "91310000MA1FL8XQ3K";
const CARD: &str = "6222020200112233446"; // valid Luhn, 19 digits
const OTHER_CARD: &str = "4111111111111111";

fn config(base_url: String) -> PlatformConfig {
    PlatformConfig {
        base_url,
        ca_pem: platform::test_ca_pem().to_owned(),
        pinned_spki_sha256: None,
        timeout: Duration::from_secs(10),
        allow_plaintext: false,
    }
}

fn client(sim: &PlatformSim) -> PlatformClient {
    PlatformClient::new(config(sim.base_url())).unwrap()
}

async fn start(config: PlatformSimConfig) -> (PlatformSim, PlatformClient) {
    let (sim, _addr) = PlatformSim::start(config).await.unwrap();
    let client = client(&sim);
    (sim, client)
}

fn application(name: &str, licence: &str) -> ApplicationRequest {
    ApplicationRequest {
        merchant_name: name.into(),
        business_licence: licence.into(),
        legal_representative_id_masked: "310***********1234".into(),
        settlement_account: CARD.into(),
        settlement_holder: "ZHANG SAN".into(),
        bank_code: "ICBC".into(),
        contact_phone: "13812345678".into(),
        documents: vec!["doc-licence-1".into()],
    }
}

/// Submits an application and polls it to approval; the merchant id.
async fn approved_merchant(client: &PlatformClient, name: &str) -> String {
    let submitted = client
        .submit_application(&application(name, LICENCE))
        .await
        .unwrap();
    loop {
        let status = client
            .application_status(&submitted.application_id)
            .await
            .unwrap();
        match status.state {
            ReviewState::UnderReview => continue,
            ReviewState::Approved => return status.merchant_id.unwrap(),
            ReviewState::Rejected => panic!("rejected: {:?}", status.reason),
        }
    }
}

fn bind_request(merchant_id: &str, serial: &str) -> BindRequest {
    BindRequest {
        merchant_id: merchant_id.into(),
        device_serial: serial.into(),
        device_model: "P2000".into(),
    }
}

fn api_code(result: Result<impl std::fmt::Debug, HostError>) -> String {
    match result {
        Err(HostError::Api { code, .. }) => code,
        other => panic!("expected a platform refusal, got {other:?}"),
    }
}

/// One raw HTTP/1.1 exchange over TLS (for the simulator-only endpoint and
/// malformed bodies, which the product client never sends).
async fn raw(sim: &PlatformSim, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut platform::test_ca_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(sim.addr()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(name, tcp)
        .await
        .unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sim.addr(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // The server may close without close_notify; what was read counts.
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8(answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn applications_are_reviewed_after_the_configured_polls() {
    let (_sim, client) = start(PlatformSimConfig::default()).await;

    let submitted = client
        .submit_application(&application("Lucky Noodles", LICENCE))
        .await
        .unwrap();
    assert_eq!(submitted.state, ReviewState::UnderReview);
    assert_eq!(submitted.merchant_id, None);
    let first = client
        .application_status(&submitted.application_id)
        .await
        .unwrap();
    assert_eq!(first.state, ReviewState::UnderReview);
    let second = client
        .application_status(&submitted.application_id)
        .await
        .unwrap();
    assert_eq!(second.state, ReviewState::Approved);
    let merchant_id = second.merchant_id.unwrap();
    assert_eq!(merchant_id.len(), 15);
    assert!(merchant_id.starts_with("898") && merchant_id.bytes().all(|b| b.is_ascii_digit()));

    let bad_licence = client
        .submit_application(&application("Tea House", "12345"))
        .await
        .unwrap();
    client
        .application_status(&bad_licence.application_id)
        .await
        .unwrap();
    let rejected = client
        .application_status(&bad_licence.application_id)
        .await
        .unwrap();
    assert_eq!(rejected.state, ReviewState::Rejected);
    assert_eq!(
        rejected.reason.as_deref(),
        Some("business licence number is not a valid unified social credit code")
    );
    assert_eq!(rejected.merchant_id, None);

    let lowercase = client
        .submit_application(&application("Tea House", "91310000ma1fl8xq3k"))
        .await
        .unwrap();
    client
        .application_status(&lowercase.application_id)
        .await
        .unwrap();
    let rejected = client
        .application_status(&lowercase.application_id)
        .await
        .unwrap();
    assert_eq!(rejected.state, ReviewState::Rejected);

    let by_review = client
        .submit_application(&application("REJECT ME Ltd", LICENCE))
        .await
        .unwrap();
    client
        .application_status(&by_review.application_id)
        .await
        .unwrap();
    let rejected = client
        .application_status(&by_review.application_id)
        .await
        .unwrap();
    assert_eq!(rejected.state, ReviewState::Rejected);
    assert_eq!(rejected.reason.as_deref(), Some("application rejected by review"));

    assert_eq!(
        api_code(client.application_status("APP9999999999").await),
        error_code::NOT_FOUND
    );
    assert_eq!(
        api_code(client.submit_application(&application("  ", LICENCE)).await),
        error_code::INVALID_REQUEST
    );
}

#[tokio::test]
async fn review_delay_is_configurable() {
    let (_sim, client) = start(PlatformSimConfig {
        review_delay: 0,
        ..Default::default()
    })
    .await;
    let submitted = client
        .submit_application(&application("Quick Shop", LICENCE))
        .await
        .unwrap();
    let status = client
        .application_status(&submitted.application_id)
        .await
        .unwrap();
    assert_eq!(status.state, ReviewState::Approved);

    let (_sim, client) = start(PlatformSimConfig {
        review_delay: 3,
        ..Default::default()
    })
    .await;
    let submitted = client
        .submit_application(&application("Slow Shop", LICENCE))
        .await
        .unwrap();
    for _ in 0..3 {
        let status = client
            .application_status(&submitted.application_id)
            .await
            .unwrap();
        assert_eq!(status.state, ReviewState::UnderReview);
    }
    let status = client
        .application_status(&submitted.application_id)
        .await
        .unwrap();
    assert_eq!(status.state, ReviewState::Approved);
}

#[tokio::test]
async fn bind_delivers_a_master_key_under_the_transport_key() {
    let (sim, client) = start(PlatformSimConfig::default()).await;
    let merchant_id = approved_merchant(&client, "Lucky Noodles").await;

    let bound = client.bind(&bind_request(&merchant_id, "SN-0001")).await.unwrap();
    assert_eq!(bound.merchant_id, merchant_id);
    assert_eq!(bound.terminal_id.len(), 8);
    assert!(bound.terminal_id.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(bound.master_key_check_value.len(), 8, "4 bytes of hex");

    // The terminal side: unwrap with the test transport key, check the KCV.
    let encrypted = hex::decode(&bound.master_key_under_transport_key).unwrap();
    let check = hex::decode(&bound.master_key_check_value).unwrap();
    let tmk = kcv::unwrap_working_key(
        &platform::test_transport_key(),
        Algorithm::Tdes,
        &encrypted,
        &check,
        "master key",
    )
    .unwrap();
    let terminal = sim.terminal(&bound.terminal_id).unwrap();
    assert_eq!(tmk, terminal.master_key);
    assert_eq!(terminal.device_serial.as_deref(), Some("SN-0001"));
    let device = sim.device("SN-0001").unwrap();
    assert_eq!(
        (device.merchant_id.as_str(), device.terminal_id.as_str()),
        (merchant_id.as_str(), bound.terminal_id.as_str())
    );

    // A second device gets its own terminal id and key.
    let second = client.bind(&bind_request(&merchant_id, "SN-0002")).await.unwrap();
    assert_ne!(second.terminal_id, bound.terminal_id);
    assert_ne!(
        second.master_key_under_transport_key,
        bound.master_key_under_transport_key
    );
    assert_eq!(sim.devices().len(), 2);
}

#[tokio::test]
async fn a_serial_bound_anywhere_is_refused() {
    let (_sim, client) = start(PlatformSimConfig::default()).await;
    let first = approved_merchant(&client, "Lucky Noodles").await;
    let second = approved_merchant(&client, "Tea House").await;
    client.bind(&bind_request(&first, "SN-0001")).await.unwrap();

    let again = client.bind(&bind_request(&first, "SN-0001")).await;
    assert_eq!(api_code(again), error_code::DUPLICATE_DEVICE);
    let elsewhere = client.bind(&bind_request(&second, "SN-0001")).await;
    match elsewhere {
        Err(HostError::Api { code, message }) => {
            assert_eq!(code, error_code::DUPLICATE_DEVICE);
            assert!(message.contains("SN-0001"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn binding_needs_an_approved_merchant() {
    let (sim, client) = start(PlatformSimConfig {
        review_delay: 5,
        ..Default::default()
    })
    .await;
    let submitted = client
        .submit_application(&application("Lucky Noodles", LICENCE))
        .await
        .unwrap();
    let reserved = sim.application(&submitted.application_id).unwrap().merchant_id;
    let refused = client.bind(&bind_request(&reserved, "SN-0001")).await;
    assert_eq!(api_code(refused), error_code::NOT_APPROVED);
    assert!(sim.device("SN-0001").is_none());

    let unknown = client.bind(&bind_request("898000000000000", "SN-0001")).await;
    assert_eq!(api_code(unknown), error_code::NOT_FOUND);
}

#[tokio::test]
async fn replace_moves_the_terminal_to_a_new_device_with_a_new_key() {
    let clock = SimClock::fixed_date("2026-01-10").unwrap();
    let (sim, client) = start(PlatformSimConfig {
        clock,
        ..Default::default()
    })
    .await;
    let merchant_id = approved_merchant(&client, "Lucky Noodles").await;
    let other_merchant = approved_merchant(&client, "Tea House").await;
    let bound = client.bind(&bind_request(&merchant_id, "SN-OLD")).await.unwrap();
    let other_bound = client
        .bind(&bind_request(&other_merchant, "SN-OTHER"))
        .await
        .unwrap();
    let old_key = sim.terminal(&bound.terminal_id).unwrap().master_key;

    let replace = |old: &str, new: &str, date: &str| ReplaceRequest {
        merchant_id: merchant_id.clone(),
        terminal_id: bound.terminal_id.clone(),
        old_device_serial: old.into(),
        new_device_serial: new.into(),
        new_device_model: "P3000".into(),
        date: date.into(),
    };

    // Refusals first: nothing changes.
    let wrong = ReplaceRequest {
        merchant_id: other_merchant.clone(),
        ..replace("SN-OLD", "SN-NEW", "2026-06-01")
    };
    assert_eq!(api_code(client.replace(&wrong).await), error_code::WRONG_MERCHANT);
    let wrong_device = ReplaceRequest {
        terminal_id: other_bound.terminal_id.clone(),
        ..replace("SN-OLD", "SN-NEW", "2026-06-01")
    };
    assert_eq!(
        api_code(client.replace(&wrong_device).await),
        error_code::WRONG_MERCHANT
    );
    let duplicate = replace("SN-OLD", "SN-OTHER", "2026-06-01");
    assert_eq!(
        api_code(client.replace(&duplicate).await),
        error_code::DUPLICATE_DEVICE
    );
    let not_bound = replace("SN-NOBODY", "SN-NEW", "2026-06-01");
    assert_eq!(api_code(client.replace(&not_bound).await), error_code::NOT_FOUND);
    let bad_date = replace("SN-OLD", "SN-NEW", "2026-02-30");
    assert_eq!(
        api_code(client.replace(&bad_date).await),
        error_code::INVALID_REQUEST
    );
    assert!(sim.device("SN-OLD").is_some() && sim.device("SN-NEW").is_none());

    // Within the warranty window: free.
    let replaced = client
        .replace(&replace("SN-OLD", "SN-NEW", "2026-06-01"))
        .await
        .unwrap();
    assert!(!replaced.chargeable);
    assert_eq!(replaced.bind.terminal_id, bound.terminal_id);
    assert_eq!(replaced.bind.merchant_id, merchant_id);
    assert!(sim.device("SN-OLD").is_none());
    assert_eq!(sim.device("SN-NEW").unwrap().terminal_id, bound.terminal_id);
    let terminal = sim.terminal(&bound.terminal_id).unwrap();
    assert_eq!(terminal.device_serial.as_deref(), Some("SN-NEW"));
    assert_ne!(terminal.master_key, old_key);
    let new_key = kcv::unwrap_working_key(
        &platform::test_transport_key(),
        Algorithm::Tdes,
        &hex::decode(&replaced.bind.master_key_under_transport_key).unwrap(),
        &hex::decode(&replaced.bind.master_key_check_value).unwrap(),
        "master key",
    )
    .unwrap();
    assert_eq!(new_key, terminal.master_key);

    // The old device may be bound again now; the window counts from the
    // terminal's first bind: day 364 is free, day 365 is charged.
    let again = client
        .replace(&replace("SN-NEW", "SN-OLD", "2027-01-09"))
        .await
        .unwrap();
    assert!(!again.chargeable);
    let charged = client
        .replace(&replace("SN-OLD", "SN-THIRD", "2027-01-10"))
        .await
        .unwrap();
    assert!(charged.chargeable);
}

#[tokio::test]
async fn warranty_days_are_configurable() {
    let (_sim, client) = start(PlatformSimConfig {
        clock: SimClock::fixed_date("2026-01-10").unwrap(),
        warranty_days: 30,
        ..Default::default()
    })
    .await;
    let merchant_id = approved_merchant(&client, "Lucky Noodles").await;
    let bound = client.bind(&bind_request(&merchant_id, "SN-OLD")).await.unwrap();
    let replaced = client
        .replace(&ReplaceRequest {
            merchant_id,
            terminal_id: bound.terminal_id,
            old_device_serial: "SN-OLD".into(),
            new_device_serial: "SN-NEW".into(),
            new_device_model: "P3000".into(),
            date: "2026-03-01".into(),
        })
        .await
        .unwrap();
    assert!(replaced.chargeable);
}

#[tokio::test]
async fn unbind_needs_a_fresh_single_use_code() {
    let clock = SimClock::fixed_date("2026-01-10").unwrap();
    let (sim, client) = start(PlatformSimConfig {
        clock: clock.clone(),
        ..Default::default()
    })
    .await;
    let merchant_id = approved_merchant(&client, "Lucky Noodles").await;
    let bound = client.bind(&bind_request(&merchant_id, "SN-0001")).await.unwrap();
    let unbind = |otp: &str| UnbindRequest {
        merchant_id: merchant_id.clone(),
        terminal_id: bound.terminal_id.clone(),
        device_serial: "SN-0001".into(),
        otp: otp.into(),
    };
    let otp_request = OtpRequest {
        merchant_id: merchant_id.clone(),
        purpose: OtpPurpose::Unbind,
    };

    // No code requested yet.
    assert_eq!(
        api_code(client.unbind(&unbind("123456")).await),
        error_code::BAD_OTP
    );

    let sent = client.request_otp(&otp_request).await.unwrap();
    assert_eq!(sent.phone_masked, "138****5678");
    assert_eq!(sent.expires_in_seconds, 300);
    let code = sim.last_otp(&merchant_id, OtpPurpose::Unbind).unwrap();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    // The simulator-only endpoint gives the same code.
    let (status, body) = raw(
        &sim,
        "GET",
        &format!("/test/otp?merchant_id={merchant_id}&purpose=unbind"),
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["otp"], code.as_str());
    let (status, _) = raw(
        &sim,
        "GET",
        &format!("/test/otp?merchant_id={merchant_id}&purpose=change_settlement_card"),
        "",
    )
    .await;
    assert_eq!(status, 404);
    // A code for another purpose does not unbind.
    assert!(
        sim.last_otp(&merchant_id, OtpPurpose::ChangeSettlementCard)
            .is_none()
    );

    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(api_code(client.unbind(&unbind(wrong)).await), error_code::BAD_OTP);
    assert!(sim.device("SN-0001").is_some());

    let ok = client.unbind(&unbind(&code)).await.unwrap();
    assert!(ok.ok);
    assert!(sim.device("SN-0001").is_none());
    assert_eq!(sim.terminal(&bound.terminal_id).unwrap().device_serial, None);

    // Bind again; the used code does not work twice.
    let rebound = client.bind(&bind_request(&merchant_id, "SN-0001")).await.unwrap();
    let unbind_again = UnbindRequest {
        terminal_id: rebound.terminal_id.clone(),
        ..unbind(&code)
    };
    assert_eq!(api_code(client.unbind(&unbind_again).await), error_code::BAD_OTP);

    // An expired code.
    client.request_otp(&otp_request).await.unwrap();
    let code = sim.last_otp(&merchant_id, OtpPurpose::Unbind).unwrap();
    clock.advance(Duration::from_secs(301));
    let expired = UnbindRequest {
        terminal_id: rebound.terminal_id.clone(),
        ..unbind(&code)
    };
    assert_eq!(api_code(client.unbind(&expired).await), error_code::OTP_EXPIRED);
    assert!(sim.device("SN-0001").is_some());

    // Just inside the validity a code works.
    client.request_otp(&otp_request).await.unwrap();
    let code = sim.last_otp(&merchant_id, OtpPurpose::Unbind).unwrap();
    clock.advance(Duration::from_secs(299));
    let fresh = UnbindRequest {
        terminal_id: rebound.terminal_id.clone(),
        ..unbind(&code)
    };
    assert!(client.unbind(&fresh).await.unwrap().ok);
}

#[tokio::test]
async fn a_code_is_void_after_five_wrong_attempts() {
    let (sim, client) = start(PlatformSimConfig::default()).await;
    let merchant_id = approved_merchant(&client, "Lucky Noodles").await;
    let bound = client.bind(&bind_request(&merchant_id, "SN-0001")).await.unwrap();
    client
        .request_otp(&OtpRequest {
            merchant_id: merchant_id.clone(),
            purpose: OtpPurpose::Unbind,
        })
        .await
        .unwrap();
    let code = sim.last_otp(&merchant_id, OtpPurpose::Unbind).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let request = |otp: &str| UnbindRequest {
        merchant_id: merchant_id.clone(),
        terminal_id: bound.terminal_id.clone(),
        device_serial: "SN-0001".into(),
        otp: otp.into(),
    };
    for _ in 0..5 {
        assert_eq!(
            api_code(client.unbind(&request(wrong)).await),
            error_code::BAD_OTP
        );
    }
    assert_eq!(
        api_code(client.unbind(&request(&code)).await),
        error_code::BAD_OTP
    );
    assert!(sim.device("SN-0001").is_some());
}

#[tokio::test]
async fn unbind_refuses_another_merchants_device() {
    let (sim, client) = start(PlatformSimConfig::default()).await;
    let first = approved_merchant(&client, "Lucky Noodles").await;
    let second = approved_merchant(&client, "Tea House").await;
    let bound = client.bind(&bind_request(&first, "SN-0001")).await.unwrap();
    client
        .request_otp(&OtpRequest {
            merchant_id: second.clone(),
            purpose: OtpPurpose::Unbind,
        })
        .await
        .unwrap();
    let code = sim.last_otp(&second, OtpPurpose::Unbind).unwrap();
    let refused = client
        .unbind(&UnbindRequest {
            merchant_id: second,
            terminal_id: bound.terminal_id,
            device_serial: "SN-0001".into(),
            otp: code,
        })
        .await;
    assert_eq!(api_code(refused), error_code::WRONG_MERCHANT);
    assert!(sim.device("SN-0001").is_some());
}

#[tokio::test]
async fn settlement_card_changes_are_validated_then_confirmed() {
    let (sim, client) = start(PlatformSimConfig::default()).await;
    let merchant_id = approved_merchant(&client, "Lucky Noodles").await;
    assert_eq!(
        sim.merchant(&merchant_id).unwrap().settlement_card_masked,
        "622202*********3446"
    );
    let change = |card: &str| CardChangeRequest {
        merchant_id: merchant_id.clone(),
        card_number: card.into(),
        holder_name: "ZHANG SAN".into(),
        bank_code: "102".into(),
        branch_code: "102290000011".into(),
    };

    for bad in [
        "4111111111111112",
        "411111111111111",
        "41111111111111111111",
        "4111-1111-1111-1111",
        "",
    ] {
        match client.change_settlement_card(&change(bad)).await {
            Err(HostError::Api { code, message }) => {
                assert_eq!(code, error_code::INVALID_CARD, "{bad}");
                assert!(bad.is_empty() || !message.contains(bad), "{message}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    let no_holder = CardChangeRequest {
        holder_name: " ".into(),
        ..change(OTHER_CARD)
    };
    assert_eq!(
        api_code(client.change_settlement_card(&no_holder).await),
        error_code::INVALID_REQUEST
    );
    let bad_bank = CardChangeRequest {
        bank_code: "B1".into(),
        ..change(OTHER_CARD)
    };
    assert_eq!(
        api_code(client.change_settlement_card(&bad_bank).await),
        error_code::INVALID_REQUEST
    );
    let no_branch = CardChangeRequest {
        branch_code: String::new(),
        ..change(OTHER_CARD)
    };
    assert_eq!(
        api_code(client.change_settlement_card(&no_branch).await),
        error_code::INVALID_REQUEST
    );
    let unknown_merchant = CardChangeRequest {
        merchant_id: "898000000000000".into(),
        ..change(OTHER_CARD)
    };
    assert_eq!(
        api_code(client.change_settlement_card(&unknown_merchant).await),
        error_code::NOT_FOUND
    );

    let pending = client.change_settlement_card(&change(OTHER_CARD)).await.unwrap();
    assert_eq!(pending.state, CardChangeState::Pending);
    let record = sim.card_change(&pending.request_id).unwrap();
    assert_eq!(
        record.card_masked, "411111******1111",
        "only the masked number is kept"
    );
    let first = client.settlement_card_status(&pending.request_id).await.unwrap();
    assert_eq!(first.state, CardChangeState::Pending);
    let second = client.settlement_card_status(&pending.request_id).await.unwrap();
    assert_eq!(second.state, CardChangeState::Confirmed);
    assert_eq!(
        sim.merchant(&merchant_id).unwrap().settlement_card_masked,
        "411111******1111"
    );

    // Confirmed at once by the test hook.
    let pending = client.change_settlement_card(&change(CARD)).await.unwrap();
    assert_eq!(sim.confirm_all(), 1);
    let status = client.settlement_card_status(&pending.request_id).await.unwrap();
    assert_eq!(status.state, CardChangeState::Confirmed);
    assert_eq!(sim.confirm_all(), 0);

    assert_eq!(
        api_code(client.settlement_card_status("CC0000000000").await),
        error_code::NOT_FOUND
    );
}

#[tokio::test]
async fn payment_methods_need_a_sub_merchant_id_to_enable() {
    let (sim, client) = start(PlatformSimConfig::default()).await;
    let merchant_id = approved_merchant(&client, "Lucky Noodles").await;
    let request = |method, enabled, sub: Option<&str>| PaymentMethodRequest {
        merchant_id: merchant_id.clone(),
        method,
        enabled,
        sub_merchant_id: sub.map(str::to_owned),
    };

    let refused = client
        .set_payment_method(&request(PaymentMethod::WechatPay, true, None))
        .await;
    assert_eq!(api_code(refused), error_code::INVALID_REQUEST);
    let blank = client
        .set_payment_method(&request(PaymentMethod::WechatPay, true, Some("  ")))
        .await;
    assert_eq!(api_code(blank), error_code::INVALID_REQUEST);
    assert!(sim.payment_methods(&merchant_id).is_empty());

    assert!(
        client
            .set_payment_method(&request(PaymentMethod::WechatPay, true, Some("1900000109")))
            .await
            .unwrap()
            .ok
    );
    assert!(
        client
            .set_payment_method(&request(PaymentMethod::Alipay, true, Some("2088102146225135")))
            .await
            .unwrap()
            .ok
    );
    let methods = sim.payment_methods(&merchant_id);
    assert_eq!(
        methods.get(&PaymentMethod::WechatPay).map(String::as_str),
        Some("1900000109")
    );
    assert_eq!(methods.len(), 2);

    // Disabling needs no sub-merchant id.
    client
        .set_payment_method(&request(PaymentMethod::WechatPay, false, None))
        .await
        .unwrap();
    let methods = sim.payment_methods(&merchant_id);
    assert_eq!(
        methods.keys().copied().collect::<Vec<_>>(),
        vec![PaymentMethod::Alipay]
    );
}

#[tokio::test]
async fn malformed_requests_get_an_api_error_and_no_echo() {
    let (sim, client) = start(PlatformSimConfig::default()).await;
    let merchant_id = approved_merchant(&client, "Lucky Noodles").await;

    let (status, body) = raw(&sim, "POST", "/v1/devices/bind", "{not json").await;
    assert_eq!(status, 400);
    let error: poskit_binding::platform::ApiError = serde_json::from_str(&body).unwrap();
    assert_eq!(error.code, error_code::INVALID_REQUEST);

    let (status, body) = raw(&sim, "POST", "/v1/devices/bind", r#"{"merchant_id":"1"}"#).await;
    assert_eq!(status, 400);
    assert!(body.contains("missing field"), "{body}");

    // A card number of the wrong type is not quoted back.
    let card_as_number = format!(
        r#"{{"merchant_id":"{merchant_id}","card_number":6222020200112233440,"holder_name":"A","bank_code":"102","branch_code":"1"}}"#
    );
    let (status, body) = raw(&sim, "POST", "/v1/settlement-cards", &card_as_number).await;
    assert_eq!(status, 400);
    assert!(!body.contains("6222020200"), "{body}");

    let (status, body) = raw(&sim, "GET", "/v1/nothing-here", "").await;
    assert_eq!(status, 404);
    assert!(body.contains(error_code::NOT_FOUND));
    let (status, _) = raw(&sim, "DELETE", "/v1/otp", "").await;
    assert_eq!(status, 405);
    let (status, body) = raw(&sim, "GET", "/test/otp?merchant_id=1&purpose=lunch", "").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = raw(&sim, "POST", "/v1/applications", &"x".repeat(70_000)).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_client_trusting_another_ca_refuses_the_simulator() {
    let (sim, _client) = start(PlatformSimConfig::default()).await;
    let mut config = config(sim.base_url());
    config.ca_pem = platform::other_test_ca_pem().to_owned();
    let client = PlatformClient::new(config).unwrap();
    match client.application_status("APP0000000001").await {
        Err(HostError::Tls(reason)) => assert!(reason.contains("not signed by a trusted CA"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_server_name_is_checked_and_localhost_works() {
    let (sim, _client) = start(PlatformSimConfig::default()).await;
    let by_name = PlatformClient::new(config(format!("https://localhost:{}", sim.addr().port()))).unwrap();
    assert_eq!(
        api_code(by_name.application_status("APP0000000001").await),
        error_code::NOT_FOUND
    );

    // 127.0.0.2 reaches the same loopback listener only where the OS
    // routes all of 127/8 and the listener is on it; bind one that is.
    let (wide, _) = PlatformSim::start(PlatformSimConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..Default::default()
    })
    .await
    .unwrap();
    let other_ip = PlatformClient::new(config(format!("https://127.0.0.2:{}", wide.addr().port()))).unwrap();
    match other_ip.application_status("APP0000000001").await {
        Err(HostError::Tls(reason)) => assert!(reason.contains("not valid for 127.0.0.2"), "{reason}"),
        // Some systems do not route 127.0.0.2.
        Err(HostError::Unreachable(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn pinning_accepts_the_right_key_and_refuses_another() {
    // The pin file next to the certificates agrees with the certificate.
    let pin_file = include_str!("../testdata/platform-server-spki-sha256.txt").trim();
    assert_eq!(pin_file, hex::encode(platform::server_spki_sha256()));
    let der = rustls_pemfile::certs(&mut platform::server_cert_pem().as_bytes())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(
        poskit_host::tls::spki_sha256(&der).unwrap(),
        platform::server_spki_sha256()
    );

    let (sim, _client) = start(PlatformSimConfig::default()).await;
    let mut pinned = config(sim.base_url());
    pinned.pinned_spki_sha256 = Some(platform::server_spki_sha256());
    let client = PlatformClient::new(pinned.clone()).unwrap();
    assert_eq!(
        api_code(client.application_status("APP0000000001").await),
        error_code::NOT_FOUND
    );

    let mut wrong = pinned;
    let mut pin = platform::server_spki_sha256();
    pin[0] ^= 0x01;
    wrong.pinned_spki_sha256 = Some(pin);
    let client = PlatformClient::new(wrong).unwrap();
    match client.application_status("APP0000000001").await {
        Err(HostError::Tls(reason)) => assert!(reason.contains("pinned key"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_silent_server_gives_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            held.push(socket); // accept, never answer
        }
    });
    let mut config = config(format!("https://{addr}"));
    config.timeout = Duration::from_millis(300);
    let client = PlatformClient::new(config).unwrap();
    let started = Instant::now();
    let result = client.application_status("APP0000000001").await;
    assert_eq!(
        result.unwrap_err(),
        HostError::Timeout(Duration::from_millis(300))
    );
    // Generous: the point is that it does not hang.
    assert!(started.elapsed() < Duration::from_secs(10));
    silent.abort();
}

#[tokio::test]
async fn a_closed_port_is_unreachable_and_a_stopped_simulator_too() {
    let (sim, client) = start(PlatformSimConfig::default()).await;
    assert_eq!(
        api_code(client.application_status("APP0000000001").await),
        error_code::NOT_FOUND
    );
    drop(sim);
    // The listener closes when the accept loop sees the shutdown.
    let mut last = None;
    for _ in 0..50 {
        match client.application_status("APP0000000001").await {
            Err(HostError::Unreachable(reason)) => {
                last = Some(reason);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    last.expect("the stopped simulator still answers");

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let client = PlatformClient::new(config(format!("https://{addr}"))).unwrap();
    match client.application_status("APP0000000001").await {
        Err(HostError::Unreachable(reason)) => assert!(reason.contains("refused"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn plaintext_only_when_allowed() {
    let (sim, _) = PlatformSim::start(PlatformSimConfig {
        plaintext: true,
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(sim.base_url().starts_with("http://"));
    let refused = PlatformClient::new(config(sim.base_url())).unwrap_err();
    assert!(matches!(refused, HostError::Config(_)));
    let mut allowed = config(sim.base_url());
    allowed.allow_plaintext = true;
    let client = PlatformClient::new(allowed).unwrap();
    let merchant_id = approved_merchant(&client, "Lucky Noodles").await;
    assert!(client.bind(&bind_request(&merchant_id, "SN-0001")).await.is_ok());
}

/// A plain HTTP server answering every connection with `answer`.
async fn canned(answer: &'static str) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn answers_outside_the_api_are_typed() {
    let plain = |addr: std::net::SocketAddr| {
        let mut config = config(format!("http://{addr}"));
        config.allow_plaintext = true;
        PlatformClient::new(config).unwrap()
    };
    let gateway =
        canned("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!").await;
    assert_eq!(
        plain(gateway).application_status("A1").await.unwrap_err(),
        HostError::Http { status: 502 }
    );
    let garbage = canned("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot json!").await;
    assert!(matches!(
        plain(garbage).application_status("A1").await.unwrap_err(),
        HostError::BadResponse(_)
    ));
    let wrong_shape = canned("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}").await;
    match plain(wrong_shape).application_status("A1").await.unwrap_err() {
        HostError::BadResponse(reason) => assert!(reason.contains("missing field"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let not_http = canned("SSH-2.0-OpenSSH\r\n").await;
    assert!(matches!(
        plain(not_http).application_status("A1").await.unwrap_err(),
        HostError::BadResponse(_)
    ));
    // TLS to something that is not TLS.
    let tls_to_plain = PlatformClient::new(config(format!("https://{gateway}"))).unwrap();
    assert!(matches!(
        tls_to_plain.application_status("A1").await.unwrap_err(),
        HostError::Tls(_)
    ));
}

#[test]
fn run_forever_serves_until_the_process_ends() {
    // A port that was free a moment ago.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    std::thread::spawn(move || platform::run_forever(addr, PlatformSimConfig::default()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = PlatformClient::new(config(format!("https://{addr}"))).unwrap();
        for _ in 0..250 {
            match client.application_status("APP0000000001").await {
                Err(HostError::Unreachable(_)) => tokio::time::sleep(Duration::from_millis(20)).await,
                other => {
                    assert_eq!(api_code(other), error_code::NOT_FOUND);
                    return;
                }
            }
        }
        panic!("run_forever never started listening on {addr}");
    });

    // An address in use is an error, not a hang.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let result = platform::run_forever(taken.local_addr().unwrap(), PlatformSimConfig::default());
    assert!(result.is_err());
}
