//! The merchant's day: what each customer does, in order.

use poskit::PrepaidOp;
use poskit::sim::Presentation;
use poskit_store::Wallet;

/// A stripe with a chip-card service code (fallback after a chip failure).
pub const VISA_TRACK: &str = ";4761739001010010=3012201000000000?";

/// One thing that happens at the counter. Steps refer to earlier ones by
/// their number (1-based), as a cashier picks a receipt.
#[derive(Debug, Clone)]
pub enum Action {
    Card {
        kind: CardKind,
        amount: u64,
        cards: Vec<Presentation>,
    },
    QrScan {
        code: &'static str,
        amount: u64,
    },
    QrShow {
        wallet: Wallet,
        amount: u64,
    },
    Void {
        of: usize,
    },
    Refund {
        of: usize,
        amount: u64,
    },
    Complete {
        of: usize,
        amount: u64,
    },
    /// A closed-loop prepaid card: the card number comes from a swipe
    /// when `swipe`, else it is keyed in.
    Prepaid {
        op: PrepaidOp,
        swipe: bool,
        pin: Option<&'static str>,
    },
    /// The electronic cash purse of this UnionPay chip card.
    EcBalance {
        profile: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardKind {
    Sale,
    PreAuth,
    Balance,
}

pub struct Step {
    pub label: &'static str,
    pub action: Action,
    /// Print the receipts of this step.
    pub print: bool,
}

fn insert(profile: &str) -> Vec<Presentation> {
    vec![Presentation::Insert(profile.into())]
}

fn tap(profile: &str) -> Vec<Presentation> {
    vec![Presentation::Tap(profile.into())]
}

fn sale(label: &'static str, amount: u64, cards: Vec<Presentation>) -> Step {
    Step {
        label,
        action: Action::Card {
            kind: CardKind::Sale,
            amount,
            cards,
        },
        print: false,
    }
}

fn printed(mut step: Step) -> Step {
    step.print = true;
    step
}

pub fn day() -> Vec<Step> {
    vec![
        printed(sale("contact sale, online PIN", 12_800, insert("online-pin"))),
        sale("contact sale", 5_680, insert("visa-contact")),
        sale("contactless, under the CVM limit", 3_500, tap("visa-contactless")),
        printed(sale(
            "contactless, over the CVM limit",
            128_000,
            tap("visa-contactless"),
        )),
        sale("contactless Mastercard", 4_200, tap("mastercard-contactless")),
        sale("contactless UnionPay QuickPass", 1_800, tap("unionpay-qpboc")),
        sale(
            "chip unreadable, magstripe fallback",
            6_600,
            vec![
                Presentation::UnreadableChip,
                Presentation::Swipe(VISA_TRACK.into()),
            ],
        ),
        printed(Step {
            label: "WeChat Pay, customer's code",
            action: Action::QrScan {
                code: "134567890123456789",
                amount: 8_800,
            },
            print: false,
        }),
        Step {
            label: "Alipay, customer's code, waits for the password",
            action: Action::QrScan {
                code: "284567890123456789",
                // Ends in 61: the wallet asks for the password first.
                amount: 12_361,
            },
            print: false,
        },
        Step {
            label: "UnionPay QR, the terminal's code",
            action: Action::QrShow {
                wallet: Wallet::UnionPayQr,
                amount: 4_550,
            },
            print: false,
        },
        printed(Step {
            label: "void of the contact sale",
            action: Action::Void { of: 2 },
            print: false,
        }),
        Step {
            label: "partial refund of the PIN sale",
            action: Action::Refund { of: 1, amount: 2_000 },
            print: false,
        },
        Step {
            label: "partial refund of the WeChat Pay order",
            action: Action::Refund { of: 8, amount: 1_000 },
            print: false,
        },
        Step {
            label: "pre-authorisation",
            action: Action::Card {
                kind: CardKind::PreAuth,
                amount: 50_000,
                cards: insert("visa-contact"),
            },
            print: false,
        },
        Step {
            label: "completion of the pre-authorisation",
            action: Action::Complete {
                of: 14,
                amount: 48_000,
            },
            print: false,
        },
        Step {
            label: "balance inquiry",
            action: Action::Card {
                kind: CardKind::Balance,
                amount: 0,
                cards: insert("unionpay-contact"),
            },
            print: false,
        },
        // Ends in 51: the issuer declines (insufficient funds).
        sale("declined sale", 9_951, insert("mastercard-contact")),
        // Ends in 98: the host never answers; the sale is reversed.
        sale("host timeout", 7_798, insert("visa-contact")),
        sale(
            "sale after the timeout (the reversal goes first)",
            25_000,
            insert("unionpay-contact"),
        ),
        sale("contact sale, Mastercard", 3_300, insert("mastercard-contact")),
        // Over the demo's per-transaction limit of 5,000.00.
        sale(
            "risk control: over the per-transaction limit",
            680_000,
            insert("visa-contact"),
        ),
        Step {
            label: "prepaid card issued with a first load (swiped, PIN chosen)",
            action: Action::Prepaid {
                op: PrepaidOp::Issue { amount: 20_000 },
                swipe: true,
                pin: Some("2468"),
            },
            print: false,
        },
        Step {
            label: "prepaid top-up",
            action: Action::Prepaid {
                op: PrepaidOp::TopUp { amount: 10_000 },
                swipe: false,
                pin: None,
            },
            print: false,
        },
        printed(Step {
            label: "prepaid purchase",
            action: Action::Prepaid {
                op: PrepaidOp::Pay { amount: 6_600 },
                swipe: false,
                pin: None,
            },
            print: false,
        }),
        Step {
            label: "prepaid balance",
            action: Action::Prepaid {
                op: PrepaidOp::Balance,
                swipe: false,
                pin: None,
            },
            print: false,
        },
        Step {
            label: "electronic cash balance of a UnionPay chip card",
            action: Action::EcBalance {
                profile: "unionpay-contact",
            },
            print: false,
        },
    ]
}
