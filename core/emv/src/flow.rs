//! The state a card session carries from one exchange to the next.

use std::collections::VecDeque;

use poskit_crypto::pin::Pin;

use crate::afl::AflEntry;
use crate::cvm::CvmList;
use crate::outcome::CryptogramType;
use crate::select::Candidate;
use crate::transaction::{OnlineResponse, PinKind};

/// The command a card response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    SelectPse,
    PseRecord,
    SelectFromList,
    FinalSelect,
    Gpo,
    ReadRecord,
    InternalAuthenticate,
    GetPinTryCounter,
    GetChallenge,
    Verify,
    GetAtc,
    GetLastOnlineAtc,
    GenerateAc,
    ExternalAuthenticate,
    Script,
    SelectPpse,
}

/// What the kernel waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Awaiting {
    Nothing,
    Card(Step),
    Application,
    Pin(PinKind),
    Online,
    Done,
}

/// The offline data authentication method chosen (Book 3 10.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum OdaMethod {
    #[default]
    None,
    Sda,
    Dda,
    Cda,
    Fdda,
}

/// One issuer script command waiting to be sent.
#[derive(Debug, Clone)]
pub(crate) struct ScriptCommand {
    pub script_id: [u8; 4],
    pub command: Vec<u8>,
    /// Position of the command in its script (for 9F5B), 1-based.
    pub sequence: u8,
    pub last_of_script: bool,
}

#[derive(Default)]
pub(crate) struct Flow {
    /// A card read, not a transaction.
    pub read_only: bool,
    pub gpo_retried: bool,
    /// Every candidate found, for the outcome.
    pub all_candidates: Vec<Candidate>,
    pub candidates: Vec<Candidate>,
    pub selected: Option<Candidate>,
    pub list_index: usize,
    pub list_next: bool,
    pub pse_sfi: u8,
    pub pse_record: u8,
    pub pdol_data: Vec<u8>,
    pub gpo_done: bool,
    pub afl: Vec<AflEntry>,
    pub afl_entry: usize,
    pub afl_record: u8,
    /// Records signed for ODA: (SFI, record template as read).
    pub oda_records: Vec<(u8, Vec<u8>)>,
    pub oda_records_bad: bool,
    pub oda: OdaMethod,
    pub oda_failed: bool,
    pub oda_error: Option<String>,
    pub ddol_data: Vec<u8>,
    pub icc_key: Option<crate::oda::IccPublicKey>,
    pub cvm_list: Option<CvmList>,
    pub cvm_rule: usize,
    pub pin_tries: Option<u8>,
    pub pin: Option<Pin>,
    pub atc: Option<u16>,
    pub last_online_atc: Option<u16>,
    pub requested: Option<CryptogramType>,
    pub cdol_data: Vec<u8>,
    /// CDOL1 data of the first GENERATE AC: CDA on the second one hashes it
    /// before the CDOL2 data (Book 2 6.6.2).
    pub cdol1_data: Vec<u8>,
    pub second_ac: bool,
    pub cryptogram: Option<(CryptogramType, [u8; 8])>,
    /// The cryptogram of the second GENERATE AC.
    pub final_kind: Option<CryptogramType>,
    pub went_online: bool,
    pub online: Option<OnlineResponse>,
    pub scripts: VecDeque<ScriptCommand>,
    pub scripts_before_final: bool,
    pub script_results: Vec<u8>,
}
