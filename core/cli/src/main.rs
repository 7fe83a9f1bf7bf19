//! `posctl`: the PosKit command line. `posctl demo` runs a merchant's day
//! against the built-in simulators; the other commands are the offline kit
//! a payment engineer reaches for.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 a bad argument (the
//! message on stderr names it).

mod crypto_cmd;
mod input;
mod tlv_cmd;

use std::fmt;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crypto_cmd::MacAlg;

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
    Demo,
    /// BER-TLV tools
    #[command(subcommand)]
    Tlv(TlvCommand),
    /// Payment cryptography tools
    #[command(subcommand)]
    Crypto(CryptoCommand),
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
}

/// A command failure. With `arg` set it is a bad argument (exit 2).
#[derive(Debug)]
pub struct CliError {
    arg: Option<&'static str>,
    message: String,
}

impl CliError {
    pub fn arg(arg: &'static str, message: impl Into<String>) -> Self {
        Self {
            arg: Some(arg),
            message: message.into(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            arg: None,
            message: message.into(),
        }
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

fn demo() -> Result<String, CliError> {
    Ok(
        "posctl demo: the merchant's day against the built-in simulators arrives with the \
        Terminal (issue 7).\nAvailable now: posctl tlv decode, posctl crypto \
        (kcv, pinblock, mac). See posctl --help."
            .to_owned(),
    )
}

fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::Demo => demo(),
        Command::Tlv(TlvCommand::Decode { hex, json }) => tlv_cmd::decode(&hex, json),
        Command::Crypto(cmd) => match cmd {
            CryptoCommand::Kcv { key, aes } => crypto_cmd::kcv_cmd(&key, aes),
            CryptoCommand::Mac {
                alg,
                key,
                data,
                padding,
            } => crypto_cmd::mac_cmd(alg, &key, &data, padding),
            CryptoCommand::Pinblock(PinblockCommand::Encode(a)) => {
                crypto_cmd::pinblock_encode(crypto_cmd::PinEncode {
                    format: a.format,
                    pin: &a.pin,
                    pan: a.pan.as_deref(),
                    key: None,
                    key_text: a.key.as_deref(),
                })
            }
            CryptoCommand::Pinblock(PinblockCommand::Decode {
                format,
                block,
                pan,
                key,
            }) => crypto_cmd::pinblock_decode(format, &block, pan.as_deref(), key.as_deref()),
        },
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
