//! What the caller gives the kernel and what it gets back.

use poskit_crypto::pin::Pin;

use crate::outcome::Outcome;
use crate::select::Candidate;

/// The card interface the transaction runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    Contact,
    Contactless,
}

/// Transaction types (9C) the kernel knows.
pub mod transaction_type {
    pub const PURCHASE: u8 = 0x00;
    pub const CASH: u8 = 0x01;
    pub const PRE_AUTHORISATION: u8 = 0x03;
    pub const PURCHASE_WITH_CASHBACK: u8 = 0x09;
    pub const REFUND: u8 = 0x20;
    pub const BALANCE_INQUIRY: u8 = 0x31;
}

/// One transaction's inputs. Time and randomness come from the caller:
/// the kernel reads no clock and has no random source (DESIGN rule 1).
#[derive(Debug, Clone)]
pub struct TransactionParams {
    pub interface: Interface,
    /// Amount authorised in minor units (9F02).
    pub amount: u64,
    /// Amount other / cashback (9F03).
    pub other_amount: u64,
    /// 9C.
    pub transaction_type: u8,
    /// 9A, YYMMDD in BCD.
    pub date: [u8; 3],
    /// 9F21, HHMMSS in BCD.
    pub time: [u8; 3],
    /// 9F37.
    pub unpredictable_number: [u8; 4],
    /// 1..=99: the draw for random transaction selection.
    pub random_selection: u8,
    /// Random bytes for enciphered PIN padding.
    pub entropy: [u8; 32],
    /// 9F41.
    pub sequence_counter: u32,
    /// The merchant forces the transaction online.
    pub force_online: bool,
}

/// What the kernel asks of its caller next.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send this command APDU to the card and hand back its response.
    Transmit(Vec<u8>),
    /// Show a message (no answer expected); poll again.
    Message(Message),
    /// Let the cardholder choose (or confirm, if there is one) an application;
    /// answer with [`Input::Application`] or [`Input::Cancel`].
    SelectApplication(Vec<Candidate>),
    /// Collect the PIN; answer with [`Input::Pin`].
    NeedPin(PinRequest),
    /// Authorise online with this ICC data; answer with [`Input::Online`].
    NeedOnlineAuthorisation(OnlineRequest),
    /// The session is over.
    Done(Box<Outcome>),
}

/// Messages for the cardholder and cashier (EMV Book 4 11.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    Processing,
    EnterPin,
    IncorrectPin,
    LastPinTry,
    PinOk,
    TryAgain,
    Approved,
    Declined,
    NotAccepted,
    RemoveCard,
    SeePhone,
    InsertOrSwipe,
    CardError,
}

impl Message {
    pub fn text(self) -> &'static str {
        match self {
            Message::Processing => "Processing, please wait",
            Message::EnterPin => "Enter PIN",
            Message::IncorrectPin => "Incorrect PIN",
            Message::LastPinTry => "Last PIN try",
            Message::PinOk => "PIN OK",
            Message::TryAgain => "Try again",
            Message::Approved => "Approved",
            Message::Declined => "Declined",
            Message::NotAccepted => "Card not accepted",
            Message::RemoveCard => "Remove card",
            Message::SeePhone => "See phone for instructions",
            Message::InsertOrSwipe => "Insert or swipe card",
            Message::CardError => "Card error",
        }
    }
}

/// Which PIN the kernel needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinKind {
    /// Encrypted by the PIN pad for the host; the kernel never sees it.
    Online,
    /// Verified by the card, sent in plaintext to it.
    OfflinePlaintext,
    /// Verified by the card, RSA-enciphered for it.
    OfflineEnciphered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinRequest {
    pub kind: PinKind,
    /// Offline PIN tries left, when the card tells.
    pub tries_left: Option<u8>,
}

/// The cardholder's answer to a PIN request.
#[derive(Debug, Clone)]
pub enum PinEntry {
    /// Online PIN captured by the PIN pad (the block goes to the host
    /// outside the kernel).
    Online,
    /// An offline PIN for the card.
    Offline(Pin),
    /// The cardholder bypassed PIN entry.
    Bypassed,
    /// The PIN pad is missing or broken.
    PinPadUnavailable,
}

/// What the host is asked to authorise.
#[derive(Debug, Clone)]
pub struct OnlineRequest {
    /// ICC data for field 55.
    pub field55: Vec<u8>,
    /// PAN, track 2 and other card data for the message.
    pub card: crate::outcome::CardholderData,
    /// The cardholder entered an online PIN for this authorisation.
    pub online_pin: bool,
}

/// The host's answer.
#[derive(Debug, Clone, Default)]
pub struct OnlineResponse {
    /// The host (not the card) approved.
    pub approved: bool,
    /// Authorisation response code (8A), two ASCII characters, e.g. "00".
    pub response_code: [u8; 2],
    /// Issuer authentication data (91).
    pub issuer_authentication_data: Option<Vec<u8>>,
    /// Issuer script templates 71 and 72, raw.
    pub issuer_scripts: Vec<u8>,
    /// No answer came back (network down, timeout): the kernel decides with
    /// the default action codes.
    pub unreachable: bool,
}

/// Answers to the kernel's requests.
#[derive(Debug, Clone)]
pub enum Input {
    /// The index into the offered candidates.
    Application(usize),
    Pin(PinEntry),
    Online(OnlineResponse),
    Cancel,
}
