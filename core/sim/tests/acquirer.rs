//! The acquirer simulator over real TLS on loopback, driven with raw frames
//! built by the `cup` conventions of poskit-iso8583 (no terminal code):
//! sign-in, EMV sales with genuine cryptograms, the amount rules, MACs,
//! duplicates, reversals, voids, refunds, pre-authorisations, inquiries,
//! settlement with and without batch upload, and parameter download.

use std::sync::Arc;
use std::time::Duration;

use poskit_crypto::pin::{Pan, Pin, PinBlockFormat, encrypt_pin_block};
use poskit_crypto::{Algorithm, FixedRandom, SymmetricKey, kcv};
use poskit_emv::{
    Action, Decision, Input, Kernel, OnlineRequest, OnlineResponse, TransactionParams, Tsi, TvrBit,
};
use poskit_iso8583::cup::{self as conv, CardFields, EntryMode, Original, TerminalIds, network};
use poskit_iso8583::frame::{self, Tpdu};
use poskit_iso8583::sub::{Field48, Field60, Totals, TypeCode, field55_tlvs};
use poskit_iso8583::{Message, Mti, cup};
use poskit_sim::acquirer::{
    AcquirerSim, AcquirerSimConfig, EntrySource, EntryState, params, parse_balance_field, request_mti,
};
use poskit_sim::card::Card;
use poskit_sim::driver::{Cardholder, ScriptedCardholder, drive, unreachable_issuer};
use poskit_sim::issuer::PutDataScript;
use poskit_sim::virtual_card::VirtualCard;
use poskit_sim::virtual_card::crypto::{arpc, icc_master_key};
use poskit_tlv::Tag;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

const TID: &str = "10000001";
const MID: &str = "898310012345678";
const VISA_PAN: &str = "4761739001010010";
const VISA_PIN: &str = "1234";
const TPDU: Tpdu = Tpdu {
    destination: [0x00, 0x01],
    source: [0x00, 0x02],
};
const HEADER: [u8; 6] = [0x60, 0x31, 0x00, 0x31, 0x01, 0x00];

fn tmk() -> SymmetricKey {
    SymmetricKey::tdes(&hex::decode("0123456789ABCDEF1122334455667788").unwrap()).unwrap()
}

fn ids() -> TerminalIds {
    TerminalIds {
        terminal_id: TID.into(),
        merchant_id: MID.into(),
    }
}

// ---- a raw client ----

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Client {
    stream: Box<dyn Io>,
}

impl Client {
    async fn connect(sim: &AcquirerSim) -> Client {
        let tcp = TcpStream::connect(sim.addr()).await.unwrap();
        if !sim.is_tls() {
            return Client {
                stream: Box::new(tcp),
            };
        }
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut poskit_sim::platform::test_ca_pem().as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let stream = connector.connect(name, tcp).await.unwrap();
        Client {
            stream: Box::new(stream),
        }
    }

    async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    async fn send(&mut self, packed: &[u8]) {
        let framed = frame::wrap(&TPDU, &HEADER, packed).unwrap();
        self.send_bytes(&framed).await;
    }

    /// The next answer's message bytes, or `None` if nothing comes in
    /// `wait` or the server closed the connection.
    async fn recv(&mut self, wait: Duration) -> Option<Vec<u8>> {
        let read = async {
            let mut len = [0u8; 2];
            self.stream.read_exact(&mut len).await.ok()?;
            let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
            self.stream.read_exact(&mut body).await.ok()?;
            Some(body)
        };
        let body = tokio::time::timeout(wait, read).await.ok()??;
        let parsed = frame::parse(&body).unwrap();
        assert_eq!(parsed.tpdu, TPDU.swapped(), "the answer swaps the TPDU addresses");
        assert_eq!(parsed.header, HEADER, "the answer keeps the header");
        Some(parsed.message.to_vec())
    }

    async fn exchange(&mut self, packed: &[u8]) -> Vec<u8> {
        self.send(packed).await;
        self.recv(Duration::from_secs(10)).await.expect("an answer")
    }
}

// ---- a terminal by hand ----

struct Term {
    client: Client,
    ids: TerminalIds,
    pin_key: SymmetricKey,
    mac_key: SymmetricKey,
    stan: u32,
    batch: u32,
}

fn with_mti(mut m: Message, mti: u16) -> Message {
    // The builders of poskit_iso8583::cup write MTIs as hex literals
    // (0x0200), which the codec packs as the decimal digits of their value;
    // the wire wants 0200, i.e. Mti(200).
    m.mti = Mti(mti);
    m
}

fn unpack(packed: &[u8]) -> Message {
    cup().unpack(packed).unwrap()
}

async fn sign_in(client: &mut Client, ids: &TerminalIds, stan: u32) -> Message {
    let m = with_mti(
        conv::network_management(ids, stan, 1, network::SIGN_IN, "01").unwrap(),
        800,
    );
    unpack(&client.exchange(&cup().pack(&m).unwrap()).await)
}

impl Term {
    async fn start(sim: &AcquirerSim) -> Term {
        let mut client = Client::connect(sim).await;
        let answer = sign_in(&mut client, &ids(), 1).await;
        assert_eq!(answer.text(39), Some("00"));
        let (pin, mac, _) = conv::parse_key_block(answer.binary(62).unwrap()).unwrap();
        let unwrap = |k: &conv::WrappedKey, name| {
            kcv::unwrap_working_key(&tmk(), Algorithm::Tdes, &k.encrypted, &k.check_value, name).unwrap()
        };
        let batch = Field60::from_value(answer.get(60))
            .unwrap()
            .batch
            .parse()
            .unwrap();
        Term {
            client,
            ids: ids(),
            pin_key: unwrap(&pin, "PIN key"),
            mac_key: unwrap(&mac, "MAC key"),
            stan: 1,
            batch,
        }
    }

    fn next_stan(&mut self) -> u32 {
        self.stan += 1;
        self.stan
    }

    fn request(
        &mut self,
        kind: TypeCode,
        amount: u64,
        card: &CardFields,
        original: Option<&Original>,
    ) -> Message {
        let stan = self.next_stan();
        let m = conv::financial(kind, &self.ids, stan, self.batch, amount, card, original, "156").unwrap();
        with_mti(m, request_mti(kind))
    }

    fn seal(&self, m: &mut Message) -> Vec<u8> {
        conv::seal(cup(), m, &self.mac_key).unwrap()
    }

    /// Sends a MACed request; checks the answer's MAC and that it answers it.
    async fn call(&mut self, mut m: Message) -> (Message, Message) {
        let packed = self.seal(&mut m);
        let answer = self.client.exchange(&packed).await;
        assert!(conv::verify(&answer, &self.mac_key), "the answer's MAC verifies");
        let answer = unpack(&answer);
        assert!(conv::answers(&m, &answer), "{answer:?} answers {m:?}");
        (m, answer)
    }

    fn pin_block(&self, pan: &str, pin: &str) -> [u8; 8] {
        let block = encrypt_pin_block(
            &self.pin_key,
            PinBlockFormat::Iso0,
            &Pin::new(pin).unwrap(),
            Some(&Pan::new(pan).unwrap()),
            &mut FixedRandom(vec![]),
        )
        .unwrap();
        block.try_into().unwrap()
    }

    fn manual(&self, pan: &str, pin: Option<&str>) -> CardFields {
        CardFields {
            pan: Some(pan.into()),
            expiry: Some("3012".into()),
            entry_mode: Some(EntryMode::Manual),
            pin_block: pin.map(|p| self.pin_block(pan, p)),
            ..CardFields::default()
        }
    }

    async fn sale(&mut self, amount: u64) -> (Message, Message) {
        let card = self.manual(VISA_PAN, Some(VISA_PIN));
        let m = self.request(TypeCode::Sale, amount, &card, None);
        self.call(m).await
    }

    fn original_of(&self, request: &Message, answer: &Message) -> Original {
        Original {
            batch: format!("{:06}", self.batch),
            stan: request.digits(11).unwrap().into(),
            date: String::new(),
            rrn: answer.text(37).unwrap().into(),
            auth_code: answer.text(38).unwrap_or_default().into(),
        }
    }
}

async fn sim_with(config: AcquirerSimConfig) -> AcquirerSim {
    let (sim, _) = AcquirerSim::start(config).await.unwrap();
    sim.add_terminal(TID, MID, tmk());
    sim
}

async fn sim() -> AcquirerSim {
    sim_with(AcquirerSimConfig::default()).await
}

fn code(m: &Message) -> &str {
    m.text(39).unwrap()
}

// ---- sign-in ----

#[tokio::test]
async fn sign_in_delivers_working_keys_under_the_terminal_master_key() {
    let sim = sim().await;
    let mut client = Client::connect(&sim).await;
    let answer = sign_in(&mut client, &ids(), 7).await;
    assert_eq!(answer.mti, Mti(810));
    assert_eq!(code(&answer), "00");
    assert_eq!(answer.digits(11), Some("000007"));
    assert_eq!(answer.text(37).unwrap().len(), 12);
    assert_eq!(answer.digits(13).unwrap().len(), 4);
    assert_eq!(answer.digits(60), Some("00000001003"), "60.2 is the batch number");
    let block = answer.binary(62).unwrap();
    assert_eq!(block.len(), 60);
    let (pin, mac, track) = conv::parse_key_block(block).unwrap();
    let track = track.expect("a track key too");
    let keys = sim.working_keys(TID).unwrap();
    for (wrapped, expected, name) in [
        (&pin, &keys.pin_key, "PIN key"),
        (&mac, &keys.mac_key, "MAC key"),
        (&track, &keys.track_key, "track key"),
    ] {
        assert_eq!(wrapped.check_value.len(), 4);
        let key = kcv::unwrap_working_key(
            &tmk(),
            Algorithm::Tdes,
            &wrapped.encrypted,
            &wrapped.check_value,
            name,
        )
        .expect("the check value matches under the TMK");
        assert_eq!(&key, expected);
        assert_eq!(key.len(), 16);
        let other_tmk = SymmetricKey::tdes(&[0x5A; 16]).unwrap();
        assert!(
            kcv::unwrap_working_key(
                &other_tmk,
                Algorithm::Tdes,
                &wrapped.encrypted,
                &wrapped.check_value,
                name
            )
            .is_err()
        );
    }
    assert_ne!(keys.pin_key, keys.mac_key);

    // A second sign-in gives fresh keys.
    let again = sign_in(&mut client, &ids(), 8).await;
    assert_ne!(again.binary(62), answer.binary(62));
    assert_ne!(sim.working_keys(TID).unwrap(), keys);

    // Unknown terminal: 97. Wrong merchant: 03.
    let stranger = TerminalIds {
        terminal_id: "99999999".into(),
        merchant_id: MID.into(),
    };
    assert_eq!(code(&sign_in(&mut client, &stranger, 9).await), "97");
    let wrong_merchant = TerminalIds {
        terminal_id: TID.into(),
        merchant_id: "898310000000000".into(),
    };
    assert_eq!(code(&sign_in(&mut client, &wrong_merchant, 10).await), "03");
}

#[tokio::test]
async fn a_platform_terminal_signs_in_with_the_key_the_platform_issued() {
    let (sim, _) = AcquirerSim::start(AcquirerSimConfig::default()).await.unwrap();
    let record = poskit_sim::platform::TerminalRecord {
        terminal_id: TID.into(),
        merchant_id: MID.into(),
        device_serial: None,
        first_bound_day: 0,
        master_key: tmk(),
    };
    sim.add_platform_terminal(&record);
    let term = Term::start(&sim).await;
    assert_eq!(term.mac_key, sim.working_keys(TID).unwrap().mac_key);
}

// ---- EMV sale with a genuine cryptogram ----

fn txn(amount: u64) -> TransactionParams {
    TransactionParams {
        interface: poskit_emv::Interface::Contact,
        amount,
        other_amount: 0,
        transaction_type: 0x00,
        date: [0x26, 0x11, 0x21],
        time: [0x10, 0x30, 0x00],
        unpredictable_number: [0xA1, 0xB2, 0xC3, 0xD4],
        random_selection: 99,
        entropy: [0x5A; 32],
        sequence_counter: 7,
        force_online: false,
    }
}

/// Runs the kernel against the card until it asks to go online.
fn until_online(
    kernel: &mut Kernel,
    card: &mut VirtualCard,
    cardholder: &mut ScriptedCardholder,
) -> OnlineRequest {
    loop {
        match kernel.poll().expect("the kernel has something to do") {
            Action::Transmit(command) => kernel.handle_response(&card.transceive(&command).unwrap()),
            Action::Message(_) => {}
            Action::SelectApplication(_) => kernel.provide(Input::Application(0)),
            Action::NeedPin(request) => kernel.provide(Input::Pin(cardholder.pin(&request))),
            Action::NeedOnlineAuthorisation(request) => return request,
            Action::Done(outcome) => panic!("finished offline: {:?}", outcome.reason),
        }
    }
}

fn chip_fields(request: &OnlineRequest, pin_block: Option<[u8; 8]>) -> CardFields {
    let mut track2 = hex::encode_upper(&*request.card.track2);
    while track2.ends_with('F') {
        track2.pop();
    }
    CardFields {
        pan: Some(request.card.pan.to_string()),
        expiry: Some(request.card.expiry.clone()),
        track2: Some(track2),
        psn: request.card.psn.as_ref().map(|p| format!("0{p}")),
        entry_mode: Some(EntryMode::Chip),
        pin_block,
        field55: Some(request.field55.clone()),
    }
}

fn online_response(answer: &Message) -> OnlineResponse {
    let code = answer.text(39).unwrap();
    let mut response = OnlineResponse {
        approved: code == "00",
        response_code: code.as_bytes().try_into().unwrap(),
        ..OnlineResponse::default()
    };
    for (tag, value) in field55_tlvs(answer.binary(55).unwrap_or_default()).unwrap() {
        match tag.0 {
            0x91 => response.issuer_authentication_data = Some(value),
            0x71 | 0x72 => response.issuer_scripts.extend(poskit_tlv::encode(tag, &value)),
            _ => {}
        }
    }
    response
}

#[tokio::test]
async fn a_chip_sale_with_a_genuine_arqc_is_approved_with_an_arpc_the_card_accepts() {
    let sim = sim().await;
    sim.set_put_data(Some(PutDataScript {
        tag: 0x9F14,
        value: vec![0x02],
        after_final: false,
        bad_mac: false,
    }));
    let mut term = Term::start(&sim).await;
    let mut card = VirtualCard::named("visa-contact").unwrap();
    let mut kernel = Kernel::new(Arc::new(poskit_sim::ca::test_config()));
    let mut cardholder = ScriptedCardholder::with_pins(&[VISA_PIN]);
    kernel.start(txn(50_000));
    let online = until_online(&mut kernel, &mut card, &mut cardholder);

    let fields = chip_fields(&online, None);
    let m = term.request(TypeCode::Sale, 50_000, &fields, None);
    let (request, answer) = term.call(m).await;
    assert_eq!(code(&answer), "00");
    assert_eq!(answer.text(38).unwrap().len(), 6);
    assert_eq!(answer.text(37).unwrap().len(), 12);

    // The ARPC checks out with the issuer's keys, independently of the sim.
    let icc = answer.binary(55).unwrap();
    let iad = poskit_tlv::find(icc, Tag(0x91))
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    assert_eq!(&iad[8..], b"00");
    let sent = poskit_tlv::primitives(&online.field55).unwrap();
    let value = |tag: u32| {
        sent.iter()
            .find(|t| t.tag() == Tag(tag))
            .unwrap()
            .value()
            .to_vec()
    };
    let psn = value(0x5F34)[0];
    let mk = icc_master_key(card.issuer_master_key(), VISA_PAN, psn).unwrap();
    let atc = u16::from_be_bytes(value(0x9F36).try_into().unwrap());
    assert_eq!(iad[..8], arpc(&mk, atc, &value(0x9F26), b"00").unwrap());
    assert!(
        poskit_tlv::find(icc, Tag(0x71)).unwrap().is_some(),
        "the PUT DATA script"
    );

    // The card accepts it: issuer authentication passes, the script runs.
    kernel.provide(Input::Online(online_response(&answer)));
    let session = drive(&mut kernel, &mut card, &mut cardholder, &mut unreachable_issuer());
    let o = session.outcome;
    assert_eq!(o.decision, Decision::Approved, "{:?}", o.reason);
    assert!(o.tsi.is_set(Tsi::ISSUER_AUTHENTICATION_PERFORMED));
    assert!(!o.tvr.is_set(TvrBit::ISSUER_AUTHENTICATION_FAILED));
    assert_eq!(card.scripts_applied(), 1);

    let ledger = sim.ledger(TID);
    assert_eq!(ledger.len(), 1);
    let e = &ledger[0];
    assert_eq!(
        (e.kind, e.amount, e.state, e.arqc_verified),
        (TypeCode::Sale, 50_000, EntryState::Approved, true)
    );
    assert_eq!(e.masked_pan, "476173******0010");
    assert_eq!(e.stan, request.digits(11).unwrap());
    assert_eq!(e.rrn, answer.text(37).unwrap());
    assert!(!format!("{ledger:?}").contains(VISA_PAN));

    // A cryptogram that does not verify: 05 and no ARPC.
    let mut kernel = Kernel::new(Arc::new(poskit_sim::ca::test_config()));
    let mut cardholder = ScriptedCardholder::with_pins(&[VISA_PIN]);
    kernel.start(txn(40_000));
    let online = until_online(&mut kernel, &mut card, &mut cardholder);
    let mut fields = chip_fields(&online, None);
    let icc = fields.field55.as_mut().unwrap();
    let at = icc.windows(2).position(|w| w == [0x9F, 0x26]).unwrap() + 3;
    icc[at] ^= 0x01;
    let m = term.request(TypeCode::Sale, 40_000, &fields, None);
    let (_, answer) = term.call(m).await;
    assert_eq!(code(&answer), "05");
    assert!(answer.binary(55).is_none());
    assert_eq!(sim.ledger(TID).len(), 1);
}

#[tokio::test]
async fn online_pin_is_checked_against_the_card_profile() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    let card = term.manual(VISA_PAN, Some(VISA_PIN));
    let m = term.request(TypeCode::Sale, 1_000, &card, None);
    assert_eq!(code(&term.call(m).await.1), "00");
    let card = term.manual(VISA_PAN, Some("9999"));
    let m = term.request(TypeCode::Sale, 1_000, &card, None);
    assert_eq!(code(&term.call(m).await.1), "55");
    // A block that is not format 0 under the PIN key: 99.
    let mut card = term.manual(VISA_PAN, None);
    card.pin_block = Some([0x13; 8]);
    let m = term.request(TypeCode::Sale, 1_000, &card, None);
    assert_eq!(code(&term.call(m).await.1), "99");
    // A card no profile has: 14.
    let card = term.manual("6222020000000000009", None);
    let m = term.request(TypeCode::Sale, 1_000, &card, None);
    assert_eq!(code(&term.call(m).await.1), "14");

    // The online-pin card with its profile's PIN, through track 2 only.
    let pan = "6230580000000000039";
    let pin = VirtualCard::named("online-pin").unwrap().profile().pin.clone();
    let card = CardFields {
        track2: Some(format!("{pan}D30122010000000000")),
        entry_mode: Some(EntryMode::Swipe),
        pin_block: Some(term.pin_block(pan, &pin)),
        ..CardFields::default()
    };
    let m = term.request(TypeCode::Sale, 2_000, &card, None);
    assert_eq!(code(&term.call(m).await.1), "00");
    assert_eq!(sim.ledger(TID).len(), 2);
}

// ---- the amount rules ----

#[tokio::test]
async fn amounts_ending_51_55_91_are_declined_with_those_codes() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    for (amount, expected) in [(1_051, "51"), (2_055, "55"), (391, "91"), (1_000, "00")] {
        let (_, answer) = term.sale(amount).await;
        assert_eq!(code(&answer), expected, "amount {amount}");
        assert_eq!(answer.text(38).is_some(), expected == "00");
    }
    assert_eq!(sim.ledger(TID).len(), 1);
    // Over the balance: 51 too.
    sim.set_balance(VISA_PAN, 500);
    assert_eq!(code(&term.sale(600).await.1), "51");
    assert_eq!(code(&term.sale(500).await.1), "00");
    assert_eq!(sim.balance(VISA_PAN), 0);
}

#[tokio::test]
async fn amount_98_is_never_answered_and_its_reversal_unwinds_it() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    let card = term.manual(VISA_PAN, Some(VISA_PIN));
    let mut m = term.request(TypeCode::Sale, 12_398, &card, None);
    let packed = term.seal(&mut m);
    term.client.send(&packed).await;
    assert!(
        term.client.recv(Duration::from_millis(1500)).await.is_none(),
        "no answer at all"
    );
    // The host did process it.
    let ledger = sim.ledger(TID);
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].state, EntryState::Approved);
    assert_eq!(sim.balance(VISA_PAN), 100_000_000 - 12_398);

    // The terminal gives up and reverses, on the same connection.
    let reversal = conv::reversal(&m, conv::response::REVERSAL_TIMEOUT);
    let (_, answer) = term.call(with_mti(reversal, 400)).await;
    assert_eq!(answer.mti, Mti(410));
    assert_eq!(code(&answer), "00");
    assert_eq!(sim.ledger(TID)[0].state, EntryState::Reversed);
    assert_eq!(sim.balance(VISA_PAN), 100_000_000);
}

#[tokio::test]
async fn amount_99_is_answered_with_a_bad_mac() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    let card = term.manual(VISA_PAN, None);
    let mut m = term.request(TypeCode::Sale, 4_599, &card, None);
    let packed = term.seal(&mut m);
    let answer = term.client.exchange(&packed).await;
    assert!(!conv::verify(&answer, &term.mac_key), "the MAC must not verify");
    let answer = unpack(&answer);
    assert_eq!(code(&answer), "00");
    assert!(conv::answers(&m, &answer));
    // The terminal reverses with A0.
    let reversal = conv::reversal(&m, conv::response::REVERSAL_BAD_MAC);
    assert_eq!(code(&term.call(with_mti(reversal, 400)).await.1), "00");
    assert_eq!(sim.ledger(TID)[0].state, EntryState::Reversed);
}

// ---- MACs ----

#[tokio::test]
async fn a_request_with_a_bad_mac_is_answered_a0_and_not_processed() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    let card = term.manual(VISA_PAN, Some(VISA_PIN));
    let mut m = term.request(TypeCode::Sale, 1_000, &card, None);
    let mut packed = term.seal(&mut m);
    let n = packed.len();
    packed[n - 3] ^= 0x40;
    let answer = term.client.exchange(&packed).await;
    assert!(conv::verify(&answer, &term.mac_key));
    assert_eq!(code(&unpack(&answer)), "A0");
    // No MAC at all: A0 too.
    let mut bare = term.request(TypeCode::Sale, 1_000, &card, None);
    bare.remove(64);
    let answer = unpack(&term.client.exchange(&cup().pack(&bare).unwrap()).await);
    assert_eq!(code(&answer), "A0");
    assert!(sim.ledger(TID).is_empty());
    assert_eq!(sim.balance(VISA_PAN), 100_000_000);

    // Signed out: A0 without a MAC, until the next sign-in.
    let stan = term.next_stan();
    let out = with_mti(
        conv::network_management(&term.ids, stan, 1, network::SIGN_OUT, "01").unwrap(),
        800,
    );
    assert_eq!(
        code(&unpack(&term.client.exchange(&cup().pack(&out).unwrap()).await)),
        "00"
    );
    assert!(sim.working_keys(TID).is_none());
    let mut m = term.request(TypeCode::Sale, 1_000, &card, None);
    let packed = term.seal(&mut m);
    let answer = unpack(&term.client.exchange(&packed).await);
    assert_eq!(code(&answer), "A0");
    assert!(answer.get(64).is_none());
}

// ---- duplicates and reversals ----

#[tokio::test]
async fn a_retransmitted_request_is_processed_once_and_answered_the_same() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    let card = term.manual(VISA_PAN, Some(VISA_PIN));
    let mut m = term.request(TypeCode::Sale, 2_500, &card, None);
    let packed = term.seal(&mut m);
    let first = term.client.exchange(&packed).await;
    // Again, on another connection (the terminal reconnected).
    let mut other = Client::connect(&sim).await;
    let second = other.exchange(&packed).await;
    assert_eq!(first, second, "the very same answer");
    assert_eq!(sim.duplicates_detected(), 1);
    assert_eq!(sim.ledger(TID).len(), 1);
    assert_eq!(sim.balance(VISA_PAN), 100_000_000 - 2_500);
    // Same STAN, other content: 94.
    let mut clash = conv::financial(
        TypeCode::Sale,
        &term.ids,
        term.stan,
        term.batch,
        9_000,
        &card,
        None,
        "156",
    )
    .unwrap();
    clash.mti = Mti(200);
    let (_, answer) = term.call(clash).await;
    assert_eq!(code(&answer), "94");
    assert_eq!(sim.ledger(TID).len(), 1);
    assert!(sim.responses_sent() >= 4);
}

#[tokio::test]
async fn reversals_unwind_approved_sales_and_are_idempotent() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    let (sale, _) = term.sale(7_700).await;
    assert_eq!(sim.balance(VISA_PAN), 100_000_000 - 7_700);
    let mut reversal = with_mti(conv::reversal(&sale, conv::response::REVERSAL_CARD_DECLINED), 400);
    let packed = term.seal(&mut reversal);
    let answer = term.client.exchange(&packed).await;
    assert_eq!(code(&unpack(&answer)), "00");
    assert_eq!(sim.ledger(TID)[0].state, EntryState::Reversed);
    assert_eq!(sim.balance(VISA_PAN), 100_000_000);
    // Sent again: the same answer, nothing undone twice.
    assert_eq!(term.client.exchange(&packed).await, answer);
    assert_eq!(sim.balance(VISA_PAN), 100_000_000);
    // A reversal of something the host never saw is acknowledged.
    let card = term.manual(VISA_PAN, None);
    let never = term.request(TypeCode::Sale, 1_000, &card, None);
    let (_, answer) = term.call(with_mti(conv::reversal(&never, "98"), 400)).await;
    assert_eq!(code(&answer), "00");
    assert_eq!(sim.ledger(TID).len(), 1);
    // A declined sale's reversal too, and it changes nothing.
    let (declined, _) = term.sale(1_051).await;
    let (_, answer) = term.call(with_mti(conv::reversal(&declined, "98"), 400)).await;
    assert_eq!(code(&answer), "00");
    assert_eq!(sim.balance(VISA_PAN), 100_000_000);
}

// ---- void, refund, pre-authorisation, inquiry ----

#[tokio::test]
async fn void_and_refund_find_their_originals() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    let (sale, answer) = term.sale(10_000).await;
    let original = term.original_of(&sale, &answer);
    let card = term.manual(VISA_PAN, None);
    let void = term.request(TypeCode::Void, 10_000, &card, Some(&original));
    let (_, answer) = term.call(void).await;
    assert_eq!(code(&answer), "00");
    let ledger = sim.ledger(TID);
    assert_eq!(ledger[0].state, EntryState::Voided);
    assert_eq!(ledger[1].kind, TypeCode::Void);
    assert_eq!(
        ledger[1].original.as_ref().unwrap().stan,
        sale.digits(11).unwrap()
    );
    assert_eq!(sim.balance(VISA_PAN), 100_000_000);
    // Voided already: 12.
    let again = term.request(TypeCode::Void, 10_000, &card, Some(&original));
    assert_eq!(code(&term.call(again).await.1), "12");
    // Nothing to void: 25.
    let nothing = Original {
        batch: "000001".into(),
        stan: "999999".into(),
        ..Original::default()
    };
    let ghost = term.request(TypeCode::Void, 10_000, &card, Some(&nothing));
    assert_eq!(code(&term.call(ghost).await.1), "25");

    // Refund: partial, then too much, then the rest; found by RRN alone.
    let (sale, answer) = term.sale(30_000).await;
    let mut original = term.original_of(&sale, &answer);
    original.date = "0101".into();
    let refund = term.request(TypeCode::Refund, 10_000, &card, Some(&original));
    assert_eq!(refund.mti, Mti(220));
    assert_eq!(code(&term.call(refund).await.1), "00");
    let by_rrn = Original {
        rrn: original.rrn.clone(),
        ..Original::default()
    };
    let mut too_much = term.request(TypeCode::Refund, 25_000, &card, None);
    too_much.set_text(37, by_rrn.rrn.clone());
    assert_eq!(code(&term.call(too_much).await.1), "13");
    let mut rest = term.request(TypeCode::Refund, 20_000, &card, None);
    rest.set_text(37, by_rrn.rrn.clone());
    assert_eq!(code(&term.call(rest).await.1), "00");
    let ledger = sim.ledger(TID);
    let sale_entry = ledger
        .iter()
        .find(|e| e.stan == sale.digits(11).unwrap())
        .unwrap();
    assert_eq!(
        (sale_entry.state, sale_entry.refunded_amount),
        (EntryState::Refunded, 30_000)
    );
    assert_eq!(sim.balance(VISA_PAN), 100_000_000);
    // Refunds count as credits, the refunded sale still as a debit, the
    // voided one not at all.
    let totals = sim.totals(TID, 1);
    assert_eq!(
        (
            totals.debit_amount,
            totals.debit_count,
            totals.credit_amount,
            totals.credit_count
        ),
        (30_000, 1, 30_000, 2)
    );
}

#[tokio::test]
async fn pre_authorisation_completion_and_their_voids() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    let card = term.manual(VISA_PAN, Some(VISA_PIN));
    let pre = term.request(TypeCode::PreAuth, 100_000, &card, None);
    assert_eq!(pre.mti, Mti(100));
    let (pre, answer) = term.call(pre).await;
    assert_eq!(answer.mti, Mti(110));
    assert_eq!(code(&answer), "00");
    assert_eq!(sim.balance(VISA_PAN), 100_000_000, "a pre-auth holds nothing");
    let original = term.original_of(&pre, &answer);
    let bare = term.manual(VISA_PAN, None);
    // Over 115 %: 13.
    let greedy = term.request(TypeCode::Completion, 120_000, &bare, Some(&original));
    assert_eq!(code(&term.call(greedy).await.1), "13");
    let completion = term.request(TypeCode::Completion, 90_000, &bare, Some(&original));
    let (completion, answer) = term.call(completion).await;
    assert_eq!(code(&answer), "00");
    let ledger = sim.ledger(TID);
    assert_eq!(ledger[0].state, EntryState::Completed);
    assert_eq!(ledger[1].kind, TypeCode::Completion);
    assert_eq!(sim.balance(VISA_PAN), 100_000_000 - 90_000);
    // Completed pre-auths cannot be completed or voided again.
    let twice = term.request(TypeCode::Completion, 90_000, &bare, Some(&original));
    assert_eq!(code(&term.call(twice).await.1), "12");
    // Completion void frees the pre-auth; then the pre-auth is voided.
    let completion_original = term.original_of(&completion, &answer);
    let cv = term.request(
        TypeCode::CompletionVoid,
        90_000,
        &bare,
        Some(&completion_original),
    );
    assert_eq!(code(&term.call(cv).await.1), "00");
    let ledger = sim.ledger(TID);
    assert_eq!(ledger[1].state, EntryState::Voided);
    assert_eq!(ledger[0].state, EntryState::Approved);
    assert_eq!(sim.balance(VISA_PAN), 100_000_000);
    let pv = term.request(TypeCode::PreAuthVoid, 100_000, &bare, Some(&original));
    assert_eq!(pv.mti, Mti(100));
    assert_eq!(code(&term.call(pv).await.1), "00");
    assert_eq!(sim.ledger(TID)[0].state, EntryState::Voided);
    assert_eq!(sim.totals(TID, 1), Totals::default());
}

#[tokio::test]
async fn balance_inquiry_answers_field_54() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    sim.set_balance(VISA_PAN, 123_456);
    let card = term.manual(VISA_PAN, Some(VISA_PIN));
    let inquiry = term.request(TypeCode::Inquiry, 0, &card, None);
    assert!(inquiry.get(4).is_none());
    let (_, answer) = term.call(inquiry).await;
    assert_eq!(code(&answer), "00");
    assert_eq!(answer.text(54), Some("1002156C000000123456"));
    assert_eq!(parse_balance_field(answer.text(54).unwrap()), Some(123_456));
    term.sale(23_456).await;
    let inquiry = term.request(TypeCode::Inquiry, 0, &card, None);
    let (_, answer) = term.call(inquiry).await;
    assert_eq!(parse_balance_field(answer.text(54).unwrap()), Some(100_000));
    // Wrong PIN: 55, no balance.
    let card = term.manual(VISA_PAN, Some("0000"));
    let inquiry = term.request(TypeCode::Inquiry, 0, &card, None);
    let (_, answer) = term.call(inquiry).await;
    assert_eq!(code(&answer), "55");
    assert!(answer.get(54).is_none());
}

// ---- advices ----

#[tokio::test]
async fn offline_advices_and_script_results_are_recorded() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    // An offline approval the host never saw.
    let card = term.manual(VISA_PAN, None);
    let offline = term.request(TypeCode::Sale, 3_300, &card, None);
    let advice = with_mti(conv::advice(&offline, None, network::TC_UPLOAD).unwrap(), 320);
    let (advice, answer) = term.call(advice).await;
    assert_eq!(answer.mti, Mti(330));
    assert_eq!(code(&answer), "00");
    let ledger = sim.ledger(TID);
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (ledger[0].source, ledger[0].amount, ledger[0].state),
        (EntrySource::OfflineAdvice, 3_300, EntryState::Approved)
    );
    // The same advice again: a duplicate, not a second entry.
    let packed = conv::seal(cup(), &mut advice.clone(), &term.mac_key).unwrap();
    term.client.exchange(&packed).await;
    assert_eq!(sim.ledger(TID).len(), 1);
    assert_eq!(sim.duplicates_detected(), 1);
    // A TC advice of an online sale marks it.
    let (sale, answer) = term.sale(4_400).await;
    let tc = with_mti(
        conv::advice(&sale, answer.text(37), network::TC_UPLOAD).unwrap(),
        320,
    );
    assert_eq!(code(&term.call(tc).await.1), "00");
    let ledger = sim.ledger(TID);
    assert_eq!(ledger.len(), 2);
    assert!(ledger[1].tc_advised);
    assert_eq!(sim.totals(TID, 1).debit_amount, 7_700);

    // Script result advice (0620).
    let mut result = Message::new(620);
    result
        .set_digits(3, "000000")
        .set_digits(11, format!("{:06}", term.next_stan()))
        .set_text(41, TID)
        .set_text(42, MID)
        .set_binary(55, vec![0xDF, 0x31, 0x05, 0x20, 0, 0, 0, 0])
        .set_digits(60, "22000001951");
    let (_, answer) = term.call(result).await;
    assert_eq!((answer.mti, code(&answer)), (Mti(630), "00"));
    let results = sim.script_results(TID);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].field55[..2], [0xDF, 0x31]);
}

// ---- settlement ----

fn field48(domestic: Totals) -> Field48 {
    Field48 {
        domestic,
        foreign: Totals::default(),
    }
}

#[tokio::test]
async fn settlement_with_matching_totals_is_balanced() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    term.sale(10_000).await;
    let (voided, answer) = term.sale(20_000).await;
    let original = term.original_of(&voided, &answer);
    let card = term.manual(VISA_PAN, None);
    let void = term.request(TypeCode::Void, 20_000, &card, Some(&original));
    term.call(void).await;
    let (reversed, _) = term.sale(40_000).await;
    term.call(with_mti(conv::reversal(&reversed, "98"), 400)).await;
    let (refunded, answer) = term.sale(5_000).await;
    let original = term.original_of(&refunded, &answer);
    let refund = term.request(TypeCode::Refund, 1_500, &card, Some(&original));
    term.call(refund).await;

    let expected = Totals {
        debit_amount: 15_000,
        debit_count: 2,
        credit_amount: 1_500,
        credit_count: 1,
        result: 0,
    };
    assert_eq!(sim.totals(TID, 1), expected);
    let stan = term.next_stan();
    let m = with_mti(
        conv::settlement(&term.ids, stan, 1, &field48(expected), "156").unwrap(),
        500,
    );
    let (_, answer) = term.call(m).await;
    assert_eq!((answer.mti, code(&answer)), (Mti(510), "00"));
    let verdict = Field48::unpack(answer.digits(48).unwrap()).unwrap();
    assert_eq!(verdict.domestic.result, Totals::BALANCED);
    assert_eq!(verdict.domestic.debit_amount, 15_000);
    assert_eq!(sim.closed_batches(TID), vec![1]);
    assert_eq!(sim.batch(TID), Some(2));
    // The next sign-in hands out the new batch number.
    let answer = sign_in(&mut term.client, &term.ids, 99).await;
    assert_eq!(Field60::from_value(answer.get(60)).unwrap().batch, "000002");
}

#[tokio::test]
async fn unbalanced_settlement_then_batch_upload_and_settlement_end() {
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    let (sale, answer) = term.sale(10_000).await;
    // The terminal also approved 50.00 offline and never advised it.
    let offline_stan = term.next_stan();
    let theirs = Totals {
        debit_amount: 15_000,
        debit_count: 2,
        ..Totals::default()
    };
    let stan = term.next_stan();
    let m = with_mti(
        conv::settlement(&term.ids, stan, 1, &field48(theirs), "156").unwrap(),
        500,
    );
    let (_, answer_48) = term.call(m).await;
    assert_eq!(code(&answer_48), "00");
    let verdict = Field48::unpack(answer_48.digits(48).unwrap()).unwrap();
    assert_eq!(verdict.domestic.result, Totals::NOT_BALANCED);
    assert!(sim.closed_batches(TID).is_empty());

    // Batch upload of both, then settlement end.
    let lines = [
        (
            sale.digits(11).unwrap().parse::<u32>().unwrap(),
            10_000,
            answer.text(37).unwrap().to_owned(),
        ),
        (offline_stan, 5_000, String::new()),
    ];
    for (original_stan, amount, rrn) in &lines {
        let stan = term.next_stan();
        let upload = conv::batch_upload(
            &term.ids,
            stan,
            1,
            TypeCode::Sale,
            *original_stan,
            *amount,
            "476173******0010",
            rrn,
        )
        .unwrap();
        let (_, answer) = term.call(with_mti(upload, 320)).await;
        assert_eq!((answer.mti, code(&answer)), (Mti(330), "00"));
    }
    let uploads = sim.batch_uploads(TID);
    assert_eq!(uploads.len(), 2);
    assert_eq!(uploads[1].original_stan, format!("{offline_stan:06}"));
    assert_eq!(uploads[1].kind, Some(TypeCode::Sale));
    assert_eq!(uploads[1].masked_pan, "476173******0010");
    let ledger = sim.ledger(TID);
    assert_eq!(ledger.len(), 2, "the unknown offline sale joined the ledger");
    assert_eq!(ledger[1].source, EntrySource::BatchUpload);
    assert_eq!(sim.totals(TID, 1), theirs);

    let stan = term.next_stan();
    let end = with_mti(conv::settlement_end(&term.ids, stan, 1, 2).unwrap(), 320);
    let (_, answer) = term.call(end).await;
    assert_eq!(code(&answer), "00");
    assert_eq!(
        Field60::from_value(answer.get(60)).unwrap().batch,
        "000002",
        "the next batch number"
    );
    assert_eq!(sim.closed_batches(TID), vec![1]);
    assert_eq!(sim.batch(TID), Some(2));
}

// ---- parameter download ----

/// Downloads a table to the end; returns it and how many messages it took.
async fn download(term: &mut Term, code: &str) -> (params::Part, usize) {
    let mut all = params::Part::default();
    let mut messages = 0;
    loop {
        let stan = term.next_stan();
        let mut m = with_mti(
            conv::network_management(&term.ids, stan, term.batch, code, "01").unwrap(),
            800,
        );
        if !all.is_empty() {
            m.set_binary(62, all.len().to_string().into_bytes());
        }
        let answer = unpack(&term.client.exchange(&cup().pack(&m).unwrap()).await);
        assert_eq!(answer.text(39), Some("00"));
        let part = params::parse_part(answer.binary(62).unwrap()).unwrap();
        assert!(!part.is_empty() || !part.more);
        messages += 1;
        all.aids.extend(part.aids);
        all.ca_keys.extend(part.ca_keys);
        if !part.more {
            break;
        }
        assert!(messages < 50, "the download ends");
    }
    (all, messages)
}

#[tokio::test]
async fn parameter_download_in_several_parts_reassembles_the_config() {
    let config = poskit_sim::ca::test_config();
    let small = sim_with(AcquirerSimConfig {
        max_parameter_bytes: 150,
        ..AcquirerSimConfig::default()
    })
    .await;
    let mut term = Term::start(&small).await;
    let (aids, messages) = download(&mut term, network::AID_DOWNLOAD).await;
    assert_eq!(messages, config.aids.len(), "one AID per message");
    let expected: Vec<_> = config
        .aids
        .iter()
        .map(|a| poskit_emv::AidParams {
            name: String::new(),
            default_tdol: Vec::new(),
            ..a.clone()
        })
        .collect();
    assert_eq!(aids.aids, expected);
    assert!(aids.ca_keys.is_empty());
    let (keys, messages) = download(&mut term, network::CAPK_DOWNLOAD).await;
    assert_eq!(messages, config.ca_keys.len(), "one CA key per message");
    assert_eq!(keys.ca_keys, config.ca_keys);
    for key in &keys.ca_keys {
        key.validate().unwrap();
    }

    // With the full 511 bytes per message.
    let sim = sim().await;
    let mut term = Term::start(&sim).await;
    let (keys, messages) = download(&mut term, network::CAPK_DOWNLOAD).await;
    assert_eq!(keys.ca_keys, config.ca_keys);
    assert!(messages > 1, "the CA keys do not fit one field 62");
    let (aids, _) = download(&mut term, network::AID_DOWNLOAD).await;
    assert_eq!(aids.aids.len(), config.aids.len());
}

// ---- robustness and transport ----

#[tokio::test]
async fn garbled_frames_close_the_connection_and_unreadable_messages_get_30() {
    let sim = sim().await;
    // A TPDU that does not start with 60: closed.
    let mut client = Client::connect(&sim).await;
    client
        .send_bytes(&[0x00, 0x0C, 0x61, 0, 1, 0, 2, 0x60, 0x31, 0, 0x31, 1, 0, 0x02])
        .await;
    assert!(client.recv(Duration::from_secs(5)).await.is_none());
    // A zero length: closed.
    let mut client = Client::connect(&sim).await;
    client.send_bytes(&[0x00, 0x00]).await;
    assert!(client.recv(Duration::from_secs(5)).await.is_none());
    // A readable request MTI with a broken body: 30.
    let mut client = Client::connect(&sim).await;
    let answer = client.exchange(&[0x02, 0x00, 0xFF, 0xFF]).await;
    let answer = unpack(&answer);
    assert_eq!((answer.mti, code(&answer)), (Mti(210), "30"));
    // Random junk after a valid frame layout: never a panic, and the
    // server still serves.
    for seed in 0u8..40 {
        let junk: Vec<u8> = (0..(seed as usize * 3 + 2))
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed.wrapping_mul(17)))
            .collect();
        let mut client = Client::connect(&sim).await;
        client.send(&junk).await;
        let _ = client.recv(Duration::from_millis(500)).await;
    }
    let term = Term::start(&sim).await;
    assert!(sim.working_keys(TID).is_some());
    drop(term);
}

#[tokio::test]
async fn plain_tcp_and_shutdown() {
    let sim = sim_with(AcquirerSimConfig {
        tls: false,
        ..AcquirerSimConfig::default()
    })
    .await;
    assert!(!sim.is_tls());
    let mut term = Term::start(&sim).await;
    assert_eq!(code(&term.sale(1_000).await.1), "00");
    let addr = sim.addr();
    drop(sim);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Connections are closed and nothing listens any more.
    assert!(term.client.recv(Duration::from_secs(2)).await.is_none());
    assert!(TcpStream::connect(addr).await.is_err());
}
