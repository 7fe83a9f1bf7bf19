//! `posctl`: the PosKit command line. `posctl demo` runs a merchant's day
//! against the built-in simulators; the other commands are the offline kit
//! a payment engineer reaches for.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 a bad argument (the
//! message on stderr names it).

mod binding_cmd;
mod card_cmd;
mod crypto_cmd;
mod demo;
mod input;
mod iso_cmd;
mod qr_cmd;
mod tlv_cmd;

use std::fmt;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crypto_cmd::{MacAlg, MkOption};

#[derive(Parser)]
#[command(
    name = "posctl",
    version,
    about = "PosKit: payment acceptance core - demo, toolbox and simulators"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a merchant's day against the built-in simulators
    Demo(demo::DemoArgs),
    /// BER-TLV tools
    #[command(subcommand)]
    Tlv(TlvCommand),
    /// Payment cryptography tools
    #[command(subcommand)]
    Crypto(CryptoCommand),
    /// Card tools: read a recorded card, simulate a transaction
    #[command(subcommand)]
    Card(CardCommand),
    /// The terminal's lifecycle with the merchant platform (needs POSKIT_PASSPHRASE)
    Binding(binding_cmd::BindingArgs),
    /// Simulators for integration testing
    #[command(subcommand)]
    Sim(SimCommand),
    /// ISO 8583 (UnionPay POS dialect) tools
    #[command(subcommand)]
    Iso8583(IsoCommand),
    /// QR tools: EMVCo merchant- and consumer-presented codes, wallet payment codes
    #[command(subcommand)]
    Qr(QrCommand),
}

#[derive(Subcommand)]
enum QrCommand {
    /// Decode an EMVCo code (merchant-presented, or consumer-presented base64) and check it;
    /// exit 1 with the reason when it is not valid
    Decode {
        #[arg(value_name = "STRING")]
        code: String,
        /// Print JSON: {"valid","crc","problems","objects":{"54":"88.80","62":{"01":"..."}}}
        #[arg(long)]
        json: bool,
    },
    /// Encode a merchant-presented code from JSON keyed by two-digit id (templates as
    /// objects keyed by sub-id); objects are ordered by id and the CRC computed
    Encode {
        #[arg(long, value_name = "FILE")]
        json: String,
    },
    /// Name the wallet of a payment code (WeChat Pay, Alipay, UnionPay QR), or say why it is not one
    Classify {
        #[arg(value_name = "CODE")]
        code: String,
    },
    /// Draw a QR code: Unicode half blocks on the terminal, or a PNG with --png
    Render {
        #[arg(value_name = "STRING")]
        text: String,
        /// Write a PNG here instead of printing
        #[arg(long, value_name = "FILE")]
        png: Option<String>,
        /// PNG pixels per module (1 to 32)
        #[arg(long, default_value_t = 8)]
        scale: u32,
        /// The terminal has a light background (dark text)
        #[arg(long)]
        light: bool,
    },
}

#[derive(Subcommand)]
enum IsoCommand {
    /// Decode TPDU + header + message (or a bare message with --no-header)
    Decode {
        #[arg(value_name = "HEX")]
        hex: String,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        no_header: bool,
    },
    /// Encode a JSON message ({"tpdu","header","mti","fields"}) to hex
    Encode {
        #[arg(long, value_name = "FILE")]
        json: String,
    },
}

#[derive(Subcommand)]
enum SimCommand {
    /// Run the merchant platform simulator (HTTPS JSON)
    Platform {
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7443")]
        listen: std::net::SocketAddr,
    },
    /// Run the QR payment gateway simulator (signed HTTPS JSON) with a demo terminal
    Gateway {
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7444")]
        listen: std::net::SocketAddr,
    },
    /// Run the acquirer (card host) simulator, ISO 8583 over TCP or TLS
    Acquirer {
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7583")]
        listen: std::net::SocketAddr,
        /// Serve TLS (with the simulators' test certificate)
        #[arg(long)]
        tls: bool,
    },
}

#[derive(Subcommand)]
enum CardCommand {
    /// Select and read a card from a recorded transcript (no transaction)
    Read {
        /// A transcript: send:/resp: lines of hex, # comments
        #[arg(long, value_name = "FILE")]
        transcript: String,
        #[arg(long)]
        json: bool,
        /// Print the APDU exchanges on stderr
        #[arg(long)]
        trace: bool,
    },
    /// Run a whole transaction against a virtual card, with an issuer that approves
    Simulate {
        /// visa-contact, visa-contactless, mastercard-contact, mastercard-contactless,
        /// unionpay-contact, unionpay-qpboc, expired, revoked-capk, bad-cert,
        /// offline-decline, online-pin, pulled
        #[arg(long)]
        profile: String,
        /// Amount in minor units
        #[arg(long, default_value_t = 12_345)]
        amount: u64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TlvCommand {
    /// Decode BER-TLV into a tree with EMV tag names
    Decode {
        /// The TLV data in hex
        #[arg(value_name = "HEX")]
        hex: String,
        /// Print JSON: [{"tag":"9F02","len":6,"value":"..."}], templates with "children"
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CryptoCommand {
    /// Key check value (DES/TDES: 3 bytes of E(0); AES: 5 bytes of CMAC(0))
    Kcv {
        #[arg(long, value_name = "HEX")]
        key: String,
        /// The key is AES
        #[arg(long)]
        aes: bool,
    },
    /// ISO 9564 PIN blocks
    #[command(subcommand)]
    Pinblock(PinblockCommand),
    /// MAC over data: retail (X9.19), cup-ecb (UnionPay field 64) or cmac (AES)
    Mac {
        #[arg(long, value_enum)]
        alg: MacAlg,
        #[arg(long, value_name = "HEX")]
        key: String,
        #[arg(long, value_name = "HEX")]
        data: String,
        /// ISO 9797-1 padding method for retail (1 or 2)
        #[arg(long, default_value_t = 1)]
        padding: u8,
    },
    /// DUKPT keys for a KSN: initial key, transaction key (AES: the
    /// intermediate derivation key) and PIN key
    Dukpt {
        #[arg(long, value_name = "HEX")]
        bdk: String,
        #[arg(long, value_name = "HEX")]
        ksn: String,
        /// AES DUKPT (ANSI X9.24-3) instead of TDES (X9.24-1)
        #[arg(long)]
        aes: bool,
        #[arg(long)]
        json: bool,
    },
    /// EMV ICC master key from an issuer master key (Book 2 A1.4)
    IccMk {
        #[arg(long, value_enum)]
        option: MkOption,
        #[arg(long, value_name = "HEX")]
        imk: String,
        #[arg(long)]
        pan: String,
        /// PAN sequence number, two digits
        #[arg(long, value_name = "NN")]
        psn: String,
    },
    /// EMV common session key (Book 2 A1.3)
    SessionKey {
        #[arg(long, value_name = "HEX")]
        key: String,
        #[arg(long, value_name = "HEX")]
        diversifier: String,
        #[arg(long)]
        aes: bool,
    },
    /// EMV application cryptogram (TDES: retail MAC; AES: CMAC)
    Ac {
        #[arg(long, value_name = "HEX")]
        key: String,
        #[arg(long, value_name = "HEX")]
        data: String,
        /// ISO 9797-1 padding method for TDES (EMV uses 2; Visa CVN 10 uses 1)
        #[arg(long, default_value_t = 2)]
        padding: u8,
        #[arg(long)]
        aes: bool,
    },
    /// ARPC: method 1 (--arc) or method 2 (--csu [--pad])
    Arpc {
        #[arg(long)]
        method: u8,
        #[arg(long, value_name = "HEX")]
        key: String,
        #[arg(long, value_name = "HEX")]
        arqc: String,
        #[arg(long, value_name = "HEX")]
        arc: Option<String>,
        #[arg(long, value_name = "HEX")]
        csu: Option<String>,
        /// Proprietary authentication data (method 2)
        #[arg(long, value_name = "HEX")]
        pad: Option<String>,
    },
    /// Raw RSA public-key recovery: data^exponent mod modulus
    RsaRecover {
        #[arg(long, value_name = "HEX")]
        modulus: String,
        #[arg(long, value_name = "HEX")]
        exponent: String,
        #[arg(long, value_name = "HEX")]
        data: String,
    },
}

#[derive(Subcommand)]
enum PinblockCommand {
    /// Build a PIN block; clear, or encrypted with --key (TDES for 0/1/3, AES for 4)
    Encode(PinEncodeArgs),
    /// Recover the PIN from a PIN block
    Decode {
        #[arg(long)]
        format: u8,
        #[arg(long, value_name = "HEX")]
        block: String,
        #[arg(long)]
        pan: Option<String>,
        #[arg(long, value_name = "HEX")]
        key: Option<String>,
    },
}

#[derive(Args)]
struct PinEncodeArgs {
    /// ISO 9564 format: 0, 1, 3 or 4
    #[arg(long)]
    format: u8,
    #[arg(long)]
    pin: String,
    #[arg(long)]
    pan: Option<String>,
    #[arg(long, value_name = "HEX")]
    key: Option<String>,
    /// Encrypt under the DUKPT PIN key of this base derivation key
    #[arg(long, value_name = "HEX", requires = "ksn")]
    dukpt_bdk: Option<String>,
    #[arg(long, value_name = "HEX", requires = "dukpt_bdk")]
    ksn: Option<String>,
    /// AES DUKPT (format 4)
    #[arg(long)]
    aes: bool,
}

/// A command failure. With `arg` set it is a bad argument (exit 2).
#[derive(Debug)]
pub struct CliError {
    arg: Option<&'static str>,
    message: String,
    /// Printed on stdout before the error (e.g. a decoded code that
    /// breaks a rule).
    output: Option<String>,
}

impl CliError {
    pub fn arg(arg: &'static str, message: impl Into<String>) -> Self {
        Self {
            arg: Some(arg),
            message: message.into(),
            output: None,
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            arg: None,
            message: message.into(),
            output: None,
        }
    }

    pub fn with_output(mut self, output: String) -> Self {
        self.output = Some(output);
        self
    }

    fn exit_code(&self) -> u8 {
        if self.arg.is_some() { 2 } else { 1 }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.arg {
            Some(arg) => write!(f, "{arg}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// How a simulator's run ended: it serves until the process is killed, so
/// it ends only when it cannot serve.
fn served(listen: std::net::SocketAddr, outcome: std::io::Result<()>) -> Result<String, CliError> {
    outcome
        .map(|()| String::new())
        .map_err(|e| CliError::arg("--listen", format!("cannot serve on {listen}: {e}")))
}

fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Iso8583(IsoCommand::Decode { hex, json, no_header }) => {
            iso_cmd::decode(&hex, json, no_header)
        }
        Command::Iso8583(IsoCommand::Encode { json }) => iso_cmd::encode(&json),
        Command::Qr(QrCommand::Decode { code, json }) => qr_cmd::decode(&code, json),
        Command::Qr(QrCommand::Encode { json }) => qr_cmd::encode(&json),
        Command::Qr(QrCommand::Classify { code }) => qr_cmd::classify_cmd(&code),
        Command::Qr(QrCommand::Render {
            text,
            png,
            scale,
            light,
        }) => qr_cmd::render(qr_cmd::Render {
            text: &text,
            png: png.as_deref(),
            scale,
            light_background: light,
        }),
        Command::Binding(args) => binding_cmd::run(args),
        Command::Sim(SimCommand::Acquirer { listen, tls }) => served(
            listen,
            poskit_sim::acquirer::run_forever(
                listen,
                tls,
                poskit_sim::acquirer::AcquirerSimConfig::default(),
            ),
        ),
        Command::Sim(SimCommand::Gateway { listen }) => served(
            listen,
            poskit_sim::gateway::run_forever(listen, poskit_sim::gateway::GatewaySimConfig::default()),
        ),
        Command::Sim(SimCommand::Platform { listen }) => served(
            listen,
            poskit_sim::platform::run_forever(listen, poskit_sim::platform::PlatformSimConfig::default()),
        ),
        Command::Tlv(TlvCommand::Decode { hex, json }) => tlv_cmd::decode(&hex, json),
        Command::Card(CardCommand::Read {
            transcript,
            json,
            trace,
        }) => card_cmd::read(&transcript, json, trace),
        Command::Card(CardCommand::Simulate {
            profile,
            amount,
            json,
        }) => card_cmd::simulate(&profile, amount, json),
        Command::Crypto(cmd) => match cmd {
            CryptoCommand::Kcv { key, aes } => crypto_cmd::kcv_cmd(&key, aes),
            CryptoCommand::Mac {
                alg,
                key,
                data,
                padding,
            } => crypto_cmd::mac_cmd(alg, &key, &data, padding),
            CryptoCommand::Pinblock(PinblockCommand::Encode(a)) => {
                let dukpt = match (&a.dukpt_bdk, &a.ksn) {
                    (Some(bdk), Some(ksn)) => Some(crypto_cmd::Dukpt { bdk, ksn, aes: a.aes }),
                    _ => None,
                };
                crypto_cmd::pinblock_encode(crypto_cmd::PinEncode {
                    format: a.format,
                    pin: &a.pin,
                    pan: a.pan.as_deref(),
                    key: a.key.as_deref(),
                    dukpt,
                })
            }
            CryptoCommand::Pinblock(PinblockCommand::Decode {
                format,
                block,
                pan,
                key,
            }) => crypto_cmd::pinblock_decode(format, &block, pan.as_deref(), key.as_deref()),
            CryptoCommand::Dukpt { bdk, ksn, aes, json } => crypto_cmd::dukpt_cmd(
                crypto_cmd::Dukpt {
                    bdk: &bdk,
                    ksn: &ksn,
                    aes,
                },
                json,
            ),
            CryptoCommand::IccMk {
                option,
                imk,
                pan,
                psn,
            } => crypto_cmd::icc_mk(option, &imk, &pan, &psn),
            CryptoCommand::SessionKey {
                key,
                diversifier,
                aes,
            } => crypto_cmd::session_key(&key, &diversifier, aes),
            CryptoCommand::Ac {
                key,
                data,
                padding,
                aes,
            } => crypto_cmd::ac(&key, &data, padding, aes),
            CryptoCommand::Arpc {
                method,
                key,
                arqc,
                arc,
                csu,
                pad,
            } => crypto_cmd::arpc(crypto_cmd::Arpc {
                method,
                key: &key,
                arqc: &arqc,
                arc: arc.as_deref(),
                csu: csu.as_deref(),
                pad: pad.as_deref(),
            }),
            CryptoCommand::RsaRecover {
                modulus,
                exponent,
                data,
            } => crypto_cmd::rsa_recover(&modulus, &exponent, &data),
        },
    }
}

/// Writes to stdout; a reader that went away (`posctl ... | head`) is not an
/// error worth a panic, so a failed write is ignored.
fn print_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(out) => {
            print_out(&out);
            ExitCode::SUCCESS
        }
        Err(e) => {
            if let Some(out) = &e.output {
                print_out(out);
            }
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
