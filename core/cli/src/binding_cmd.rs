//! `posctl binding ...`: the terminal's lifecycle against the merchant
//! platform (by default the simulator `posctl sim platform` runs), with the
//! terminal's state in `--data-dir`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use poskit::{BindingService, Report, TerminalError};
use poskit_binding::platform::{OtpPurpose, PaymentMethod};
use poskit_binding::{ApplicationForm, Lifecycle};
use poskit_host::{PlatformClient, PlatformConfig};
use poskit_store::{BackupSecret, PassphraseKeystore, Store};

use crate::CliError;

/// The simulator's default address.
pub const DEFAULT_PLATFORM: &str = "https://127.0.0.1:7443";

#[derive(Args)]
pub struct BindingArgs {
    /// The terminal's data directory
    #[arg(long, value_name = "DIR", default_value = ".poskit")]
    data_dir: PathBuf,
    /// The merchant platform
    #[arg(long, value_name = "URL", default_value = DEFAULT_PLATFORM)]
    platform: String,
    /// CA certificates (PEM) the platform must chain to (default: the simulator's test CA)
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    #[command(subcommand)]
    command: BindingCommand,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Purpose {
    Unbind,
    ChangeCard,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Method {
    Wechat,
    Alipay,
    Unionpay,
}

#[derive(Subcommand)]
enum BindingCommand {
    /// Where the terminal is in its life
    Status,
    /// Submit the onboarding application
    Apply {
        #[arg(long)]
        merchant_name: String,
        /// Unified social credit code (18 characters)
        #[arg(long)]
        licence: String,
        /// Legal representative's id number (kept masked)
        #[arg(long)]
        legal_id: String,
        /// Settlement bank card number
        #[arg(long)]
        card: String,
        #[arg(long)]
        holder: String,
        #[arg(long)]
        bank: String,
        #[arg(long)]
        phone: String,
        /// The admin password to set
        #[arg(long)]
        password: String,
        #[arg(long = "document")]
        documents: Vec<String>,
    },
    /// Ask the platform how the review is going
    Review,
    /// Bind this device to the approved merchant
    Bind {
        #[arg(long)]
        serial: String,
        #[arg(long)]
        model: String,
    },
    /// Ask the platform to send a one-time code
    Otp {
        #[arg(long, value_enum)]
        purpose: Purpose,
    },
    /// Unbind: merchant number, admin password and the one-time code
    Unbind {
        #[arg(long)]
        merchant_id: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        otp: String,
    },
    /// Change the settlement card
    ChangeCard {
        #[arg(long)]
        password: String,
        #[arg(long)]
        card: String,
        #[arg(long)]
        holder: String,
        #[arg(long)]
        bank: String,
        /// 12-digit branch (CNAPS) code
        #[arg(long)]
        branch: String,
    },
    /// Ask whether the pending card change is confirmed
    CardStatus,
    /// List payment methods, or enable/disable one
    Methods {
        #[arg(long, value_enum)]
        enable: Option<Method>,
        #[arg(long, value_enum)]
        disable: Option<Method>,
        #[arg(long)]
        sub_merchant_id: Option<String>,
    },
    /// Write an encrypted backup of the whole terminal state
    Backup,
    /// On a new device: restore the old device's backup here and take over its terminal id
    Replace {
        #[arg(long, value_name = "FILE")]
        backup: PathBuf,
        #[arg(long)]
        serial: String,
        #[arg(long)]
        model: String,
    },
    /// On the old device after a replacement: wipe keys, back to unprovisioned
    Retire,
}

fn passphrase() -> Result<String, CliError> {
    std::env::var("POSKIT_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            CliError::arg(
                "POSKIT_PASSPHRASE",
                "set it to the passphrase that protects the terminal's keys",
            )
        })
}

fn err(e: TerminalError) -> CliError {
    CliError::failed(e.to_string())
}

fn client(args: &BindingArgs) -> Result<PlatformClient, CliError> {
    let ca = match &args.ca {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CliError::arg("--ca", format!("cannot read {}: {e}", path.display())))?,
        None => poskit_sim::platform::test_ca_pem().to_owned(),
    };
    PlatformClient::new(PlatformConfig::new(args.platform.clone(), ca))
        .map_err(|e| CliError::arg("--platform", e.to_string()))
}

fn open_service(args: &BindingArgs, store: Option<Store>) -> Result<BindingService, CliError> {
    let pass = passphrase()?;
    let keystore = PassphraseKeystore::new(&pass).map_err(|e| CliError::failed(e.to_string()))?;
    let secret = BackupSecret::passphrase(&pass).map_err(|e| CliError::failed(e.to_string()))?;
    let transport = poskit_sim::platform::test_transport_key();
    let client = client(args)?;
    match store {
        Some(store) => {
            BindingService::with_store(store, &args.data_dir, client, transport, secret).map_err(err)
        }
        None => BindingService::open(&args.data_dir, &keystore, client, transport, secret).map_err(err),
    }
}

fn status(t: &BindingService) -> String {
    let mut out = format!("state        {}\n", t.lifecycle().name());
    match t.lifecycle() {
        Lifecycle::UnderReview { application_id } => {
            out.push_str(&format!("application  {application_id}\n"))
        }
        Lifecycle::Rejected { reason, .. } => out.push_str(&format!("reason       {reason}\n")),
        Lifecycle::Approved { merchant_id } => out.push_str(&format!("merchant     {merchant_id}\n")),
        Lifecycle::Bound(d) | Lifecycle::Active(d) => {
            out.push_str(&format!(
                "merchant     {}\nterminal     {}\ndevice       {} ({})\n",
                d.merchant_id, d.terminal_id, d.serial, d.model
            ));
        }
        Lifecycle::Unprovisioned => {}
    }
    if let Some(card) = &t.binding().settlement_card {
        out.push_str(&format!(
            "settlement   {} {} {}\n",
            card.masked_number, card.holder_name, card.bank_code
        ));
    }
    if t.binding().card_change_pending() {
        out.push_str("card change  pending confirmation\n");
    }
    for (method, state) in &t.binding().methods {
        let sub = state.sub_merchant_id.as_deref().unwrap_or("-");
        out.push_str(&format!(
            "method       {method:?} {} {sub}\n",
            if state.enabled { "enabled" } else { "disabled" }
        ));
    }
    out.trim_end().to_owned()
}

fn with_report(t: &BindingService, report: Report) -> String {
    let mut out = status(t);
    if let Some(path) = report.backup {
        out.push_str(&format!("\nbackup       {}", path.display()));
    }
    if report.chargeable {
        out.push_str("\nreplacement  outside the warranty: chargeable");
    }
    if let Some(v) = report.voucher {
        out.push_str(&format!(
            "\nvoucher      card change {} confirmed: {} -> {} ({})",
            v.request_id,
            v.old_card.as_deref().unwrap_or("-"),
            v.new_card,
            v.holder_name
        ));
    }
    out
}

fn restore(backup: &Path, args: &BindingArgs) -> Result<Store, CliError> {
    let bytes = std::fs::read(backup)
        .map_err(|e| CliError::arg("--backup", format!("cannot read {}: {e}", backup.display())))?;
    let pass = passphrase()?;
    let keystore = PassphraseKeystore::new(&pass).map_err(|e| CliError::failed(e.to_string()))?;
    let secret = BackupSecret::passphrase(&pass).map_err(|e| CliError::failed(e.to_string()))?;
    std::fs::create_dir_all(&args.data_dir).map_err(|e| CliError::failed(e.to_string()))?;
    Store::restore_backup(args.data_dir.join("terminal.db"), &bytes, &secret, &keystore)
        .map_err(|e| CliError::arg("--backup", e.to_string()))
}

pub fn run(args: BindingArgs) -> Result<String, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(e.to_string()))?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: BindingArgs) -> Result<String, CliError> {
    let now = poskit::now();
    let store = match &args.command {
        BindingCommand::Replace { backup, .. } => Some(restore(backup, &args)?),
        _ => None,
    };
    let mut t = open_service(&args, store)?;
    let report = match args.command {
        BindingCommand::Status => Report::default(),
        BindingCommand::Apply {
            merchant_name,
            licence,
            legal_id,
            card,
            holder,
            bank,
            phone,
            password,
            documents,
        } => {
            let form = ApplicationForm {
                merchant_name,
                business_licence: licence,
                legal_representative_id: legal_id,
                settlement_card: card,
                settlement_holder: holder,
                bank_code: bank,
                contact_phone: phone,
                documents,
                admin_password: password,
            };
            t.apply(&form, now).await.map_err(err)?
        }
        BindingCommand::Review => t.refresh_review(now).await.map_err(err)?,
        BindingCommand::Bind { serial, model } => t.bind(&serial, &model, now).await.map_err(err)?,
        BindingCommand::Otp { purpose } => {
            let purpose = match purpose {
                Purpose::Unbind => OtpPurpose::Unbind,
                Purpose::ChangeCard => OtpPurpose::ChangeSettlementCard,
            };
            t.request_otp(purpose, now).await.map_err(err)?;
            return Ok("a one-time code was sent to the merchant's phone".into());
        }
        BindingCommand::Unbind {
            merchant_id,
            password,
            otp,
        } => t.unbind(&merchant_id, &password, &otp, now).await.map_err(err)?,
        BindingCommand::ChangeCard {
            password,
            card,
            holder,
            bank,
            branch,
        } => t
            .change_settlement_card(&password, &card, &holder, &bank, &branch, now)
            .await
            .map_err(err)?,
        BindingCommand::CardStatus => t.refresh_card_change(now).await.map_err(err)?,
        BindingCommand::Methods {
            enable,
            disable,
            sub_merchant_id,
        } => {
            let method = |m: Method| match m {
                Method::Wechat => PaymentMethod::WechatPay,
                Method::Alipay => PaymentMethod::Alipay,
                Method::Unionpay => PaymentMethod::UnionpayQr,
            };
            match (enable, disable) {
                (Some(_), Some(_)) => {
                    return Err(CliError::arg("--enable", "give --enable or --disable, not both"));
                }
                (Some(m), None) => t
                    .set_payment_method(method(m), true, sub_merchant_id.as_deref(), now)
                    .await
                    .map_err(err)?,
                (None, Some(m)) => t
                    .set_payment_method(method(m), false, None, now)
                    .await
                    .map_err(err)?,
                (None, None) => Report::default(),
            }
        }
        BindingCommand::Backup => Report {
            backup: Some(t.backup(now, "requested").map_err(err)?),
            ..Report::default()
        },
        BindingCommand::Replace { serial, model, .. } => {
            let date = crate::card_cmd::today_iso();
            t.replace(&serial, &model, &date, now).await.map_err(err)?
        }
        BindingCommand::Retire => {
            t.retire(now).map_err(err)?;
            Report::default()
        }
    };
    Ok(with_report(&t, report))
}
