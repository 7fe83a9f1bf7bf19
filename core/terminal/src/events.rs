//! What the cashier's screen shows while the Terminal works. Events carry
//! no card data: a PAN appears only masked.

/// One step of an operation, in the order it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalEvent {
    /// Waiting for a card: insert, tap or swipe as `prompt` says.
    PresentCard {
        amount: u64,
        prompt: String,
    },
    CardDetected {
        method: PaymentMethod,
    },
    /// The chip could not be read: swipe the card instead.
    UseMagstripe,
    /// A contactless card asks to be inserted.
    InsertCard {
        reason: String,
    },
    /// The cardholder chooses among the card's applications.
    SelectApplication {
        labels: Vec<String>,
    },
    EnterPin {
        online: bool,
        last_try: bool,
    },
    /// Talking to the host or the wallet: keep the card in place.
    Processing,
    RemoveCard,
    Approved {
        reference: String,
        amount: u64,
        auth_code: Option<String>,
    },
    Declined {
        reference: Option<String>,
        reason: String,
    },
    /// A dynamic code is on the screen for the customer to scan.
    QrShown {
        order_no: String,
        content: String,
        expires_at: i64,
    },
    /// The wallet waits for the customer's password: keep the customer
    /// at the counter.
    WaitingForPassword {
        order_no: String,
    },
    WaitingForScan {
        order_no: String,
    },
    /// Giving up on an order: cancelling (or closing) it with the wallet.
    Cancelling {
        order_no: String,
    },
    /// A request went unanswered: it is being reversed.
    Reversing {
        reason: String,
    },
    Printing {
        copy: String,
    },
    /// Risk control blocked (or flagged for review) a transaction.
    RiskAlert {
        rule: String,
        verdict: String,
        reason: String,
    },
    /// Anything else the cashier should read.
    Message {
        text: String,
    },
}

/// How the customer paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Contact,
    Contactless,
    Magstripe,
    Fallback,
    Manual,
    /// The customer's wallet showed a code that the terminal scanned.
    QrScanned,
    /// The terminal showed a code that the customer's wallet scanned.
    QrShown,
    /// A transaction by reference (void, refund, completion).
    Reference,
}

impl PaymentMethod {
    pub fn name(self) -> &'static str {
        match self {
            PaymentMethod::Contact => "contact",
            PaymentMethod::Contactless => "contactless",
            PaymentMethod::Magstripe => "magstripe",
            PaymentMethod::Fallback => "fallback",
            PaymentMethod::Manual => "manual",
            PaymentMethod::QrScanned => "qr_scanned",
            PaymentMethod::QrShown => "qr_shown",
            PaymentMethod::Reference => "reference",
        }
    }

    pub(crate) fn from_entry(entry: poskit_store::EntryMode) -> PaymentMethod {
        use poskit_store::EntryMode as E;
        match entry {
            E::Contact => PaymentMethod::Contact,
            E::Contactless => PaymentMethod::Contactless,
            E::MagStripe => PaymentMethod::Magstripe,
            E::Fallback => PaymentMethod::Fallback,
            E::Manual => PaymentMethod::Manual,
            _ => PaymentMethod::Reference,
        }
    }
}
