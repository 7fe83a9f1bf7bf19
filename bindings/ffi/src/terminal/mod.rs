//! The Terminal for Kotlin and Swift: one object, async operations on
//! tokio, the app's devices as foreign traits, a cancel handle, and plain
//! records back. Each method converts its arguments, calls
//! [`poskit::Terminal`] and converts the result; no payment logic lives
//! here.

mod devices;
mod records;
mod settings;

use std::sync::Arc;

use poskit::{Cancel, PrepaidCardInput, PrepaidOp, Reference, SaleMethod, Terminal};
use poskit_binding::platform::{OtpPurpose, PaymentMethod as WalletMethod};
use poskit_store::Wallet;

pub use devices::{
    CardInterfaces, CardReaderDevice, DeviceError, KeystoreDevice, PinPadDevice, PrinterDevice,
    TerminalListener,
};
pub use records::{
    DetectedCard, FaultCount, FaultSummary, LifecycleState, MerchantApplication, Method, Outcome,
    PinEntryResult, SettlementResult, Status, TerminalEvent, TransactionLine,
};
pub use settings::{GatewaySettings, MerchantInfo, TerminalSettings};

use crate::error::PosKitError;

type Result<T> = std::result::Result<T, PosKitError>;

/// The cashier's cancel button for one operation. Cancelling is honoured
/// where it is safe (waiting for a card, application choice, PIN entry,
/// a wallet's wait); a request already with the host runs to its end.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelHandle(Cancel);

#[uniffi::export]
impl CancelHandle {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self(Cancel::new()))
    }

    pub fn cancel(&self) {
        self.0.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// The wallets a terminal shows codes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum WalletKind {
    WechatPay,
    Alipay,
    UnionpayQr,
}

impl From<WalletKind> for Wallet {
    fn from(w: WalletKind) -> Self {
        match w {
            WalletKind::WechatPay => Wallet::WeChatPay,
            WalletKind::Alipay => Wallet::Alipay,
            WalletKind::UnionpayQr => Wallet::UnionPayQr,
        }
    }
}

impl From<WalletKind> for WalletMethod {
    fn from(w: WalletKind) -> Self {
        match w {
            WalletKind::WechatPay => WalletMethod::WechatPay,
            WalletKind::Alipay => WalletMethod::Alipay,
            WalletKind::UnionpayQr => WalletMethod::UnionpayQr,
        }
    }
}

/// What a one-time code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CodePurpose {
    Unbind,
    ChangeSettlementCard,
}

/// A closed-loop prepaid operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PrepaidOperation {
    Issue { amount: u64 },
    TopUp { amount: u64 },
    Pay { amount: u64 },
    Balance,
}

/// What a sign-in did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignInResult {
    pub batch_no: u32,
    pub parameters: u64,
}

/// What a binding operation left behind.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BindingReport {
    /// A backup taken before the operation, when it took one.
    pub backup_path: Option<String>,
    /// A replacement outside the warranty is charged.
    pub chargeable: bool,
    /// The platform's request id of a confirmed settlement-card change.
    pub card_change_request: Option<String>,
}

impl From<poskit::Report> for BindingReport {
    fn from(r: poskit::Report) -> Self {
        BindingReport {
            backup_path: r.backup.map(|p| p.display().to_string()),
            chargeable: r.chargeable,
            card_change_request: r.voucher.map(|v| v.request_id),
        }
    }
}

/// The electronic cash purse of a UnionPay chip card, minor units.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PurseBalance {
    pub balance: u64,
    pub balance_limit: Option<u64>,
}

/// The app's devices.
#[derive(uniffi::Record)]
pub struct TerminalDevices {
    pub reader: Arc<dyn CardReaderDevice>,
    pub pin_pad: Arc<dyn PinPadDevice>,
    pub printer: Arc<dyn PrinterDevice>,
    pub listener: Arc<dyn TerminalListener>,
}

/// Opens the terminal's store in `settings.data_dir` and finishes what a
/// crash left half-done (reversals owed, QR orders in doubt).
#[uniffi::export(async_runtime = "tokio")]
pub async fn open_terminal(
    settings: TerminalSettings,
    keystore: Arc<dyn KeystoreDevice>,
    devices: TerminalDevices,
) -> Result<Arc<PosTerminal>> {
    let config = settings.try_into()?;
    let devices = poskit::Devices {
        reader: Arc::new(devices::Reader(devices.reader)),
        pin_pad: Arc::new(devices::PinPad(devices.pin_pad)),
        printer: Arc::new(devices::Printer(devices.printer)),
        listener: Arc::new(devices::Listener(devices.listener)),
    };
    let terminal = Terminal::open(config, &devices::Keystore(keystore), devices).await?;
    Ok(Arc::new(PosTerminal(terminal)))
}

/// A payment terminal. Operations run one at a time; each is async.
#[derive(uniffi::Object)]
pub struct PosTerminal(pub(crate) Terminal);

#[uniffi::export(async_runtime = "tokio")]
impl PosTerminal {
    pub async fn lifecycle(&self) -> LifecycleState {
        self.0.lifecycle().await.into()
    }

    pub async fn apply(&self, application: MerchantApplication) -> Result<BindingReport> {
        Ok(self.0.apply(&application.into()).await?.into())
    }

    pub async fn refresh_review(&self) -> Result<BindingReport> {
        Ok(self.0.refresh_review().await?.into())
    }

    pub async fn bind(&self, serial: String, model: String) -> Result<BindingReport> {
        Ok(self.0.bind(&serial, &model).await?.into())
    }

    /// Start of day: working keys, EMV parameters, active.
    pub async fn sign_in(&self) -> Result<SignInResult> {
        let s = self.0.sign_in().await?;
        Ok(SignInResult {
            batch_no: s.batch_no,
            parameters: s.parameters as u64,
        })
    }

    pub async fn sign_out(&self) -> Result<()> {
        Ok(self.0.sign_out().await?)
    }

    pub async fn request_code(&self, purpose: CodePurpose) -> Result<BindingReport> {
        let purpose = match purpose {
            CodePurpose::Unbind => OtpPurpose::Unbind,
            CodePurpose::ChangeSettlementCard => OtpPurpose::ChangeSettlementCard,
        };
        Ok(self.0.request_otp(purpose).await?.into())
    }

    pub async fn unbind(&self, merchant_id: String, password: String, code: String) -> Result<BindingReport> {
        Ok(self.0.unbind(&merchant_id, &password, &code).await?.into())
    }

    pub async fn change_settlement_card(
        &self,
        password: String,
        card_number: String,
        holder: String,
        bank_code: String,
        branch_code: String,
    ) -> Result<BindingReport> {
        let report = self
            .0
            .change_settlement_card(&password, &card_number, &holder, &bank_code, &branch_code)
            .await?;
        Ok(report.into())
    }

    pub async fn refresh_card_change(&self) -> Result<BindingReport> {
        Ok(self.0.refresh_card_change().await?.into())
    }

    pub async fn set_payment_method(
        &self,
        wallet: WalletKind,
        enabled: bool,
        sub_merchant_id: Option<String>,
    ) -> Result<BindingReport> {
        let report = self
            .0
            .set_payment_method(wallet.into(), enabled, sub_merchant_id.as_deref())
            .await?;
        Ok(report.into())
    }

    pub async fn change_password(&self, old: String, new: String) -> Result<()> {
        Ok(self.0.change_password(&old, &new).await?)
    }

    pub async fn backup(&self, reason: String) -> Result<String> {
        Ok(self.0.backup(&reason).await?.display().to_string())
    }

    /// A card sale: insert, tap or swipe.
    pub async fn sale_card(&self, amount: u64, cancel: Arc<CancelHandle>) -> Result<Outcome> {
        Ok(self.0.sale(amount, SaleMethod::Card, &cancel.0).await?.into())
    }

    /// A sale paid with the code the customer's wallet shows.
    pub async fn sale_qr_scan(
        &self,
        amount: u64,
        code: String,
        cancel: Arc<CancelHandle>,
    ) -> Result<Outcome> {
        Ok(self
            .0
            .sale(amount, SaleMethod::QrScan { code }, &cancel.0)
            .await?
            .into())
    }

    /// A sale paid by scanning the code the terminal shows (see the
    /// `QrShown` event).
    pub async fn sale_qr_show(
        &self,
        amount: u64,
        wallet: WalletKind,
        cancel: Arc<CancelHandle>,
    ) -> Result<Outcome> {
        let method = SaleMethod::QrShow {
            wallet: wallet.into(),
        };
        Ok(self.0.sale(amount, method, &cancel.0).await?.into())
    }

    pub async fn pre_auth(&self, amount: u64, cancel: Arc<CancelHandle>) -> Result<Outcome> {
        Ok(self.0.pre_auth(amount, &cancel.0).await?.into())
    }

    pub async fn complete(&self, reference: String, amount: u64) -> Result<Outcome> {
        Ok(self.0.complete(&reference_of(&reference)?, amount).await?.into())
    }

    pub async fn balance_inquiry(&self, cancel: Arc<CancelHandle>) -> Result<Outcome> {
        Ok(self.0.balance_inquiry(&cancel.0).await?.into())
    }

    pub async fn void(&self, reference: String) -> Result<Outcome> {
        Ok(self.0.void(&reference_of(&reference)?).await?.into())
    }

    pub async fn refund(&self, reference: String, amount: u64) -> Result<Outcome> {
        Ok(self.0.refund(&reference_of(&reference)?, amount).await?.into())
    }

    pub async fn settle(&self) -> Result<SettlementResult> {
        Ok(self.0.settle().await?.into())
    }

    /// Sends what is owed: reversals, advices, QR orders in doubt.
    pub async fn flush(&self) -> Result<()> {
        Ok(self.0.flush().await?)
    }

    pub async fn transaction(&self, reference: String) -> Result<TransactionLine> {
        Ok(self.0.transaction(&reference_of(&reference)?).await?.into())
    }

    /// Card transactions and QR orders created in `[from, to)` (Unix
    /// seconds).
    pub async fn transactions(&self, from: i64, to: i64) -> Result<Vec<TransactionLine>> {
        Ok(self
            .0
            .transactions(from, to)
            .await?
            .into_iter()
            .map(TransactionLine::from)
            .collect())
    }

    /// The receipt as text for 58 or 80 mm paper.
    pub async fn receipt_text(
        &self,
        reference: String,
        merchant_copy: bool,
        reprint: bool,
        width_mm: u8,
    ) -> Result<String> {
        let copy = if merchant_copy {
            poskit::receipt::ReceiptCopy::Merchant
        } else {
            poskit::receipt::ReceiptCopy::Customer
        };
        let width = match width_mm {
            58 => poskit::receipt::Width::Mm58,
            80 => poskit::receipt::Width::Mm80,
            other => {
                return Err(PosKitError::InvalidInput {
                    reason: format!("paper width {other} mm: use 58 or 80"),
                });
            }
        };
        let receipt = self.0.receipt(&reference_of(&reference)?, copy, reprint).await?;
        Ok(receipt.text(width))
    }

    /// Prints the merchant and customer copies on the printer.
    pub async fn print_receipt(&self, reference: String) -> Result<()> {
        Ok(self.0.print_receipt(&reference_of(&reference)?).await?)
    }

    pub async fn reprint(&self, reference: String) -> Result<()> {
        Ok(self.0.reprint(&reference_of(&reference)?).await?)
    }

    /// A prepaid card operation; without `card_number` the card is swiped.
    pub async fn prepaid(
        &self,
        operation: PrepaidOperation,
        card_number: Option<String>,
        ask_pin: bool,
        cancel: Arc<CancelHandle>,
    ) -> Result<Outcome> {
        let op = match operation {
            PrepaidOperation::Issue { amount } => PrepaidOp::Issue { amount },
            PrepaidOperation::TopUp { amount } => PrepaidOp::TopUp { amount },
            PrepaidOperation::Pay { amount } => PrepaidOp::Pay { amount },
            PrepaidOperation::Balance => PrepaidOp::Balance,
        };
        let input = match card_number {
            Some(n) => PrepaidCardInput::Entered(n),
            None => PrepaidCardInput::Swipe,
        };
        Ok(self.0.prepaid(op, input, ask_pin, &cancel.0).await?.into())
    }

    /// The electronic cash purse of the UnionPay chip card presented.
    pub async fn purse_balance(&self, cancel: Arc<CancelHandle>) -> Result<PurseBalance> {
        let ec = self.0.ec_balance(&cancel.0).await?;
        Ok(PurseBalance {
            balance: ec.balance,
            balance_limit: ec.balance_limit,
        })
    }

    pub async fn fault_report(&self, since: i64) -> Result<FaultSummary> {
        Ok((&self.0.fault_report(since).await?).into())
    }

    /// What support needs, as JSON, with no card data.
    pub async fn diagnostics(&self) -> Result<String> {
        Ok(self.0.diagnostics().await?.to_string())
    }
}

fn reference_of(text: &str) -> Result<Reference> {
    Ok(text.parse::<Reference>()?)
}
