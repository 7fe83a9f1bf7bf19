//! `posctl binding`, `posctl sim platform` and `posctl sim gateway` as a merchant uses them.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use poskit_binding::platform::OtpPurpose;
use poskit_sim::platform::{PlatformSim, PlatformSimConfig};

fn posctl(dir: &std::path::Path, url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    common::run(
        Command::new(env!("CARGO_BIN_EXE_posctl"))
            .args(["binding", "--data-dir", dir.to_str().unwrap(), "--platform", url])
            .args(args)
            .env("POSKIT_PASSPHRASE", "correct horse battery staple"),
    )
}

fn ok(dir: &std::path::Path, url: &str, args: &[&str]) -> String {
    let (code, stdout, stderr) = posctl(dir, url, args);
    assert_eq!(code, Some(0), "posctl binding {args:?}: {stderr}");
    stdout
}

#[test]
fn a_merchant_goes_through_the_whole_lifecycle() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (sim, _) = runtime
        .block_on(PlatformSim::start(PlatformSimConfig::default()))
        .unwrap();
    let url = sim.base_url();
    let dir = poskit_store::testing::test_dir("cli-binding");
    let _ = std::fs::remove_dir_all(&dir);

    assert!(ok(&dir, &url, &["status"]).contains("unprovisioned"));
    let out = ok(
        &dir,
        &url,
        &[
            "apply",
            "--merchant-name",
            "Harbour Noodles",
            "--licence",
            "91310000MA1FL4XX3B",
            "--legal-id",
            "11010519491231002X",
            "--card",
            "6230580000000000013",
            "--holder",
            "Li Wei",
            "--bank",
            "ICBC",
            "--phone",
            "13800138000",
            "--password",
            "246810",
            "--document",
            "doc://licence.jpg",
        ],
    );
    assert!(out.contains("under review"), "{out}");
    assert!(out.contains("623058*********0013") && !out.contains("6230580000000000013"));
    let mut out = String::new();
    for _ in 0..3 {
        out = ok(&dir, &url, &["review"]);
        if out.contains("approved") {
            break;
        }
    }
    assert!(out.contains("approved"), "{out}");
    let out = ok(&dir, &url, &["bind", "--serial", "SN-CLI-1", "--model", "P10"]);
    assert!(out.contains("bound") && out.contains("SN-CLI-1"), "{out}");
    let merchant_id = out
        .lines()
        .find(|l| l.starts_with("merchant"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();

    // Refusals exit 1 with the reason.
    let (code, _, stderr) = posctl(
        &dir,
        &url,
        &[
            "change-card",
            "--password",
            "246810",
            "--card",
            "6230580000000000014",
            "--holder",
            "Li Wei",
            "--bank",
            "ICBC",
            "--branch",
            "102100099996",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(stderr.contains("check digit"), "{stderr}");

    let out = ok(
        &dir,
        &url,
        &[
            "change-card",
            "--password",
            "246810",
            "--card",
            "6230580000000000021",
            "--holder",
            "Li Wei",
            "--bank",
            "ICBC",
            "--branch",
            "102100099996",
        ],
    );
    assert!(out.contains("pending"), "{out}");
    let mut out = String::new();
    for _ in 0..3 {
        out = ok(&dir, &url, &["card-status"]);
        if out.contains("voucher") {
            break;
        }
    }
    assert!(
        out.contains("voucher") && out.contains("623058*********0021"),
        "{out}"
    );

    let out = ok(
        &dir,
        &url,
        &["methods", "--enable", "wechat", "--sub-merchant-id", "1900000109"],
    );
    assert!(out.contains("WechatPay enabled 1900000109"), "{out}");

    ok(&dir, &url, &["otp", "--purpose", "unbind"]);
    let otp = sim.last_otp(&merchant_id, OtpPurpose::Unbind).unwrap();
    let (code, _, stderr) = posctl(
        &dir,
        &url,
        &[
            "unbind",
            "--merchant-id",
            &merchant_id,
            "--password",
            "000000",
            "--otp",
            &otp,
        ],
    );
    assert_eq!(code, Some(1));
    assert!(stderr.contains("password is wrong"), "{stderr}");
    let out = ok(
        &dir,
        &url,
        &[
            "unbind",
            "--merchant-id",
            &merchant_id,
            "--password",
            "246810",
            "--otp",
            &otp,
        ],
    );
    assert!(out.contains("unprovisioned") && out.contains("backup"), "{out}");
    drop(sim);
}

#[test]
fn a_missing_passphrase_is_a_bad_argument() {
    let out = Command::new(env!("CARGO_BIN_EXE_posctl"))
        .args(["binding", "--data-dir", "/tmp/poskit-no-pass", "status"])
        .env_remove("POSKIT_PASSPHRASE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("POSKIT_PASSPHRASE"));
}

#[test]
fn the_platform_simulator_serves_on_the_address_given() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_posctl"))
        .args(["sim", "platform", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        line.starts_with("merchant platform simulator listening on https://127.0.0.1:"),
        "{line}"
    );
}

/// What a person does with `posctl sim gateway`: reads the URL, the CA
/// file and the demo terminal's id and key it prints, and pays with them.
#[test]
fn the_gateway_simulator_prints_what_a_person_needs_to_pay() {
    use poskit_host::gateway::{
        AuthCode, GatewayClient, GatewayConfig, GatewayKey, MicropayRequest, OrderState,
    };

    let mut child = Command::new(env!("CARGO_BIN_EXE_posctl"))
        .args(["sim", "gateway", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..4 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line.trim().to_owned());
    }
    let after = |line: &str, prefix: &str| {
        line.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"))
            .to_owned()
    };
    let url = after(&lines[0], "QR gateway simulator listening on ");
    let ca_file = after(&lines[1], "trust the TEST ONLY CA in ");
    let terminal_id = after(&lines[2], "demo terminal id: ");
    let key = after(&lines[3], "demo terminal gateway key (hex, TEST ONLY): ");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let config = GatewayConfig::new(
        url,
        std::fs::read_to_string(ca_file).unwrap(),
        terminal_id,
        GatewayKey::from_hex(&key).unwrap(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime.block_on(async {
        GatewayClient::new(config)
            .unwrap()
            .micropay(&MicropayRequest {
                order_no: "CLI-ORDER-1".into(),
                auth_code: AuthCode::new("134567890123456789"),
                amount: 1999,
                currency: "CNY".into(),
                description: "posctl".into(),
            })
            .await
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status.unwrap().state, OrderState::Paid);
}
