//! Every path of the lifecycle and every refusal, against replies a
//! platform would give.

use poskit_binding::platform::*;
use poskit_binding::*;

const DAY: u64 = 86_400;

fn form() -> ApplicationForm {
    ApplicationForm {
        merchant_name: "Harbour Noodles".into(),
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

fn approved(binding: &mut Binding) {
    let call = binding.apply(&form(), [7; 16]).unwrap();
    let PlatformCall::SubmitApplication(req) = call else {
        panic!("{call:?}")
    };
    assert_eq!(req.legal_representative_id_masked, "110***********002X");
    binding
        .on_reply(
            Some(PlatformReply::Application(ApplicationStatus {
                application_id: "APP1".into(),
                state: ReviewState::UnderReview,
                reason: None,
                merchant_id: None,
            })),
            0,
        )
        .unwrap();
    assert_eq!(
        binding.lifecycle,
        Lifecycle::UnderReview {
            application_id: "APP1".into()
        }
    );
    assert_eq!(
        binding.refresh_review().unwrap(),
        PlatformCall::ApplicationStatus("APP1".into())
    );
    binding
        .on_reply(
            Some(PlatformReply::Application(ApplicationStatus {
                application_id: "APP1".into(),
                state: ReviewState::Approved,
                reason: None,
                merchant_id: Some("898310012345678".into()),
            })),
            0,
        )
        .unwrap();
}

fn bound() -> Binding {
    let mut b = Binding::default();
    approved(&mut b);
    let call = b.bind("SN-0001", "P10").unwrap();
    assert!(matches!(call, PlatformCall::Bind(_)));
    let effects = b
        .on_reply(
            Some(PlatformReply::Bound(BindResponse {
                merchant_id: "898310012345678".into(),
                terminal_id: "10000001".into(),
                master_key_under_transport_key: "00".repeat(16),
                master_key_check_value: "00".repeat(4),
            })),
            1_000,
        )
        .unwrap();
    assert!(matches!(effects[0], Effect::LoadMasterKey { .. }));
    b.signed_in(1_100).unwrap();
    b
}

fn refused(code: &str) -> Option<PlatformReply> {
    Some(PlatformReply::Refused(ApiError {
        code: code.into(),
        message: "no".into(),
    }))
}

#[test]
fn onboarding_binding_and_sign_in() {
    let b = bound();
    let Lifecycle::Active(d) = &b.lifecycle else {
        panic!("{:?}", b.lifecycle)
    };
    assert_eq!(
        (d.terminal_id.as_str(), d.serial.as_str()),
        ("10000001", "SN-0001")
    );
    // The state survives a restart.
    assert_eq!(Binding::from_json(&b.to_json()).unwrap(), b);
    assert!(
        !b.to_json().contains("6230580000000000013"),
        "only the masked card is kept"
    );
    assert!(!b.to_json().contains("246810"), "the password is only hashed");
}

#[test]
fn rejected_application_can_apply_again() {
    let mut b = Binding::default();
    b.apply(&form(), [1; 16]).unwrap();
    b.on_reply(
        Some(PlatformReply::Application(ApplicationStatus {
            application_id: "APP2".into(),
            state: ReviewState::Rejected,
            reason: Some("licence not valid".into()),
            merchant_id: None,
        })),
        0,
    )
    .unwrap();
    assert!(matches!(&b.lifecycle, Lifecycle::Rejected { reason, .. } if reason == "licence not valid"));
    assert!(b.bind("SN", "M").is_err(), "no binding before approval");
    assert!(b.apply(&form(), [1; 16]).is_ok());
}

#[test]
fn application_form_is_checked_locally() {
    let mut b = Binding::default();
    for (change, field) in [
        (
            Box::new(|f: &mut ApplicationForm| f.business_licence = "123".into())
                as Box<dyn Fn(&mut ApplicationForm)>,
            "business licence",
        ),
        (
            Box::new(|f: &mut ApplicationForm| f.settlement_card = "6230580000000000014".into()),
            "card number",
        ),
        (
            Box::new(|f: &mut ApplicationForm| f.contact_phone = "555".into()),
            "contact phone",
        ),
        (
            Box::new(|f: &mut ApplicationForm| f.legal_representative_id = "1".into()),
            "legal representative id",
        ),
        (
            Box::new(|f: &mut ApplicationForm| f.admin_password = "1".into()),
            "admin password",
        ),
    ] {
        let mut f = form();
        change(&mut f);
        let err = b.apply(&f, [0; 16]).unwrap_err().to_string();
        assert!(err.starts_with(field), "{err}");
    }
    assert!(b.pending_call().is_none(), "nothing was sent");
}

#[test]
fn duplicate_serial_is_refused_and_can_be_retried() {
    let mut b = Binding::default();
    approved(&mut b);
    b.bind("SN-DUP", "P10").unwrap();
    let err = b.on_reply(refused(error_code::DUPLICATE_DEVICE), 0).unwrap_err();
    assert!(matches!(err, BindingError::Refused { code, .. } if code == "duplicate_device"));
    assert!(matches!(b.lifecycle, Lifecycle::Approved { .. }));
    assert!(b.bind("SN-OK", "P10").is_ok());
}

#[test]
fn one_call_at_a_time_and_network_failures_allow_a_retry() {
    let mut b = bound();
    b.request_otp(OtpPurpose::Unbind).unwrap();
    assert!(matches!(
        b.request_otp(OtpPurpose::Unbind),
        Err(BindingError::Busy(_))
    ));
    b.on_reply(None, 0).unwrap();
    assert!(b.request_otp(OtpPurpose::Unbind).is_ok());
}

#[test]
fn replacement_inside_and_outside_warranty() {
    for chargeable in [false, true] {
        let mut b = bound();
        assert!(
            b.replace("SN-0001", "P10", "2026-11-21").is_err(),
            "the same device"
        );
        let PlatformCall::Replace(req) = b.replace("SN-0002", "P20", "2026-11-21").unwrap() else {
            panic!()
        };
        assert_eq!(req.old_device_serial, "SN-0001");
        let effects = b
            .on_reply(
                Some(PlatformReply::Replaced(ReplaceResponse {
                    bind: BindResponse {
                        merchant_id: "898310012345678".into(),
                        terminal_id: "10000001".into(),
                        master_key_under_transport_key: "11".repeat(16),
                        master_key_check_value: "00".repeat(4),
                    },
                    chargeable,
                })),
                5 * DAY,
            )
            .unwrap();
        assert_eq!(effects[0], Effect::WipeKeys);
        assert!(matches!(effects[1], Effect::LoadMasterKey { .. }));
        assert_eq!(effects.contains(&Effect::Chargeable), chargeable);
        assert_eq!(b.lifecycle.device().unwrap().serial, "SN-0002");
    }
    let mut old = bound();
    let effects = old.retire(9);
    assert!(effects.contains(&Effect::WipeKeys));
    assert_eq!(old.lifecycle, Lifecycle::Unprovisioned);
}

#[test]
fn unbinding_rules() {
    let mut b = bound();
    let mid = "898310012345678";
    assert_eq!(
        b.unbind("898000000000000", "246810", "123456", false, false, 0)
            .unwrap_err(),
        BindingError::WrongMerchant
    );
    assert!(matches!(
        b.unbind(mid, "246810", "123456", true, false, 0),
        Err(BindingError::Unsettled(_))
    ));
    assert!(matches!(
        b.unbind(mid, "246810", "123456", false, true, 0),
        Err(BindingError::Unsettled(_))
    ));
    assert!(b.unbind(mid, "246810", "12", false, false, 0).is_err());
    let (call, effects) = b.unbind(mid, "246810", "123456", false, false, 0).unwrap();
    assert!(matches!(call, PlatformCall::Unbind(_)));
    assert_eq!(
        effects,
        [Effect::TakeBackup {
            reason: "before unbinding"
        }],
        "backup first"
    );
    assert!(b.on_reply(refused(error_code::BAD_OTP), 0).is_err());
    assert!(b.lifecycle.device().is_some(), "a refused code changes nothing");
    b.unbind(mid, "246810", "654321", false, false, 0).unwrap();
    let effects = b.on_reply(Some(PlatformReply::Ack), 0).unwrap();
    assert!(effects.contains(&Effect::WipeKeys));
    assert_eq!(b.lifecycle, Lifecycle::Unprovisioned);
}

#[test]
fn wrong_password_until_lockout() {
    let mut b = bound();
    let mid = "898310012345678";
    for left in [4, 3, 2, 1] {
        assert_eq!(
            b.unbind(mid, "000000", "123456", false, false, 10).unwrap_err(),
            BindingError::WrongPassword { tries_left: left }
        );
    }
    assert!(matches!(
        b.unbind(mid, "000000", "123456", false, false, 10),
        Err(BindingError::PasswordLocked { minutes: 30 })
    ));
    assert!(matches!(
        b.unbind(mid, "246810", "123456", false, false, 20),
        Err(BindingError::PasswordLocked { .. })
    ));
    assert!(
        b.change_settlement_card(
            "246810",
            "6230580000000000021",
            "Li Wei",
            "ICBC",
            "102100099996",
            20
        )
        .is_err()
    );
    assert!(b.unbind(mid, "246810", "123456", false, false, 10 + 1800).is_ok());
}

fn confirm_change(b: &mut Binding, card: &str, now: u64) -> Vec<Effect> {
    b.change_settlement_card("246810", card, "Li Wei", "ICBC", "102100099996", now)
        .unwrap();
    b.on_reply(
        Some(PlatformReply::CardChange(CardChangeStatus {
            request_id: format!("CC{now}"),
            state: CardChangeState::Pending,
            reason: None,
        })),
        now,
    )
    .unwrap();
    assert!(b.card_change_pending());
    b.refresh_card_change().unwrap();
    b.on_reply(
        Some(PlatformReply::CardChange(CardChangeStatus {
            request_id: format!("CC{now}"),
            state: CardChangeState::Confirmed,
            reason: None,
        })),
        now,
    )
    .unwrap()
}

#[test]
fn settlement_card_changes_and_their_limit() {
    let mut b = bound();
    assert!(
        b.change_settlement_card(
            "246810",
            "6230580000000000014",
            "Li Wei",
            "ICBC",
            "102100099996",
            0
        )
        .unwrap_err()
        .to_string()
        .contains("check digit")
    );
    assert!(
        b.change_settlement_card("246810", "6230580000000000021", "", "ICBC", "102100099996", 0)
            .is_err()
    );
    assert!(
        b.change_settlement_card("246810", "6230580000000000021", "Li Wei", "I", "102100099996", 0)
            .is_err()
    );
    assert!(
        b.change_settlement_card("246810", "6230580000000000021", "Li Wei", "ICBC", "1", 0)
            .is_err()
    );
    let effects = confirm_change(&mut b, "6230580000000000021", DAY);
    let voucher = effects.iter().find_map(|e| match e {
        Effect::Voucher(v) => Some(v.clone()),
        _ => None,
    });
    let voucher = voucher.expect("a voucher");
    assert_eq!(voucher.old_card.as_deref(), Some("623058*********0013"));
    assert_eq!(voucher.new_card, "623058*********0021");
    let audit = effects
        .iter()
        .find(|e| matches!(e, Effect::Audit { event, .. } if event == "settlement card changed"))
        .unwrap();
    let text = format!("{audit:?}");
    assert!(
        text.contains("0013") && !text.contains("6230580000000000013"),
        "old card kept, masked"
    );
    confirm_change(&mut b, "6230580000000000039", 2 * DAY);
    confirm_change(&mut b, "6230580000000000047", 3 * DAY);
    let err = b
        .change_settlement_card(
            "246810",
            "6230580000000000054",
            "Li Wei",
            "ICBC",
            "102100099996",
            4 * DAY,
        )
        .unwrap_err();
    assert_eq!(
        err,
        BindingError::TooManyCardChanges {
            count: 3,
            limit: 3,
            days: 30
        }
    );
    // Thirty days after the first change, one more is allowed.
    assert!(
        b.change_settlement_card(
            "246810",
            "6230580000000000054",
            "Li Wei",
            "ICBC",
            "102100099996",
            31 * DAY + 1
        )
        .is_ok()
    );
}

#[test]
fn payment_methods() {
    let mut b = bound();
    assert!(
        b.set_payment_method(PaymentMethod::WechatPay, true, None)
            .is_err()
    );
    b.set_payment_method(PaymentMethod::WechatPay, true, Some("1900000109"))
        .unwrap();
    b.on_reply(Some(PlatformReply::Ack), 0).unwrap();
    assert!(b.methods[&PaymentMethod::WechatPay].enabled);
    b.set_payment_method(PaymentMethod::WechatPay, false, None)
        .unwrap();
    b.on_reply(Some(PlatformReply::Ack), 0).unwrap();
    assert!(!b.methods[&PaymentMethod::WechatPay].enabled);
}

#[test]
fn damaged_state_is_refused() {
    assert!(Binding::from_json("{\"lifecycle\":").is_err());
}
