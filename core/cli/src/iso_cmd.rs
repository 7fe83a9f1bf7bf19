//! `posctl iso8583 decode|encode`: the `cup` dialect as JSON.
//!
//! JSON: `{"tpdu","header","mti","fields":{"3":"000000",...}}`; n and z
//! fields as digit strings (track separator `D`), text fields as text,
//! binary fields (and non-ASCII text) as uppercase hex.

use std::collections::BTreeMap;

use poskit_iso8583::frame::{self, Tpdu};
use poskit_iso8583::{Format, Message, Value, cup};
use serde::{Deserialize, Serialize};

use crate::CliError;
use crate::input::{hex_arg, upper_hex};

#[derive(Serialize, Deserialize)]
struct JsonMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tpdu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    header: Option<String>,
    mti: String,
    fields: BTreeMap<u8, String>,
}

fn field_text(value: &Value) -> String {
    match value {
        Value::Digits(d) => d.clone(),
        Value::Text(t) => t.clone(),
        Value::TextBytes(b) | Value::Binary(b) => upper_hex(b),
    }
}

fn describe(message: &Message, tpdu: Option<&Tpdu>, header: Option<&[u8; 6]>, json: bool) -> String {
    if json {
        let out = JsonMessage {
            tpdu: tpdu.map(|t| upper_hex(&t.to_bytes())),
            header: header.map(|h| upper_hex(h)),
            mti: message.mti.to_string(),
            fields: message.fields().map(|(n, v)| (n, field_text(v))).collect(),
        };
        return serde_json::to_string_pretty(&out).expect("serializable");
    }
    let mut out = String::new();
    if let Some(t) = tpdu {
        out.push_str(&format!("TPDU    {}\n", upper_hex(&t.to_bytes())));
    }
    if let Some(h) = header {
        out.push_str(&format!("header  {}\n", upper_hex(h)));
    }
    out.push_str(&format!("MTI     {}\n", message.mti));
    for (n, v) in message.fields() {
        let name = cup().field(n).map_or("", |s| s.name);
        out.push_str(&format!("{n:>3}     {:<44} {}\n", name, field_text(v)));
    }
    out.trim_end().to_owned()
}

pub fn decode(hex: &str, json: bool, no_header: bool) -> Result<String, CliError> {
    let bytes = hex_arg("HEX", hex)?;
    let bad = |e: poskit_iso8583::CodecError| CliError::arg("HEX", e.to_string());
    if no_header {
        let message = cup().unpack(&bytes).map_err(bad)?;
        return Ok(describe(&message, None, None, json));
    }
    let framed = frame::parse(&bytes).map_err(bad)?;
    let message = cup().unpack(framed.message).map_err(bad)?;
    Ok(describe(&message, Some(&framed.tpdu), Some(&framed.header), json))
}

pub fn encode(file: &str) -> Result<String, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::arg("--json", format!("cannot read {file}: {e}")))?;
    let input: JsonMessage =
        serde_json::from_str(&text).map_err(|e| CliError::arg("--json", format!("not a message: {e}")))?;
    let mti = input
        .mti
        .parse::<u16>()
        .ok()
        .filter(|_| input.mti.len() == 4 && input.mti.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| CliError::arg("--json", "mti must be 4 digits, e.g. \"0200\""))?;
    let mut message = Message::new(mti);
    for (&n, value) in &input.fields {
        let spec = cup()
            .field(n)
            .ok_or_else(|| CliError::arg("--json", format!("field {n} is not in the cup dialect")))?;
        match spec.format {
            Format::N | Format::Z => message.set_digits(n, value.clone()),
            Format::An | Format::Ans => message.set_text(n, value.clone()),
            Format::B => message.set_binary(
                n,
                hex_arg("--json", value).map_err(|e| CliError::arg("--json", format!("field {n}: {e}")))?,
            ),
        };
    }
    let packed = cup()
        .pack(&message)
        .map_err(|e| CliError::arg("--json", e.to_string()))?;
    let prefix = match (&input.tpdu, &input.header) {
        (Some(t), Some(h)) => {
            let t = hex_arg("--json", t)?;
            let h = hex_arg("--json", h)?;
            let tpdu: [u8; 5] = t
                .try_into()
                .map_err(|_| CliError::arg("--json", "tpdu is 5 bytes"))?;
            let header: [u8; 6] = h
                .try_into()
                .map_err(|_| CliError::arg("--json", "header is 6 bytes"))?;
            let tpdu = Tpdu::from_bytes(&tpdu).map_err(|e| CliError::arg("--json", e.to_string()))?;
            let mut framed = tpdu.to_bytes().to_vec();
            framed.extend_from_slice(&header);
            framed
        }
        (None, None) => Vec::new(),
        _ => return Err(CliError::arg("--json", "give both tpdu and header, or neither")),
    };
    Ok(upper_hex(&[prefix, packed].concat()))
}
