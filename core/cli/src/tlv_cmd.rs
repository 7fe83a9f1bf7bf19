//! `posctl tlv decode`: a readable tree with tag names, or JSON.

use poskit_tlv::{Format, Tlv, TlvIter, dictionary};
use serde::Serialize;

use crate::CliError;
use crate::input::{hex_arg, upper_hex};

#[derive(Serialize)]
struct JsonTlv {
    tag: String,
    len: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    children: Option<Vec<JsonTlv>>,
}

fn to_json(iter: TlvIter<'_>) -> Result<Vec<JsonTlv>, CliError> {
    iter.map(|t| {
        let t = t.map_err(|e| CliError::arg("HEX", e.to_string()))?;
        Ok(JsonTlv {
            tag: t.tag().to_string(),
            len: t.value().len(),
            value: (!t.is_constructed()).then(|| upper_hex(t.value())),
            children: if t.is_constructed() {
                Some(to_json(t.children())?)
            } else {
                None
            },
        })
    })
    .collect()
}

fn describe(t: &Tlv<'_>) -> String {
    let info = dictionary::lookup(t.tag());
    let name = info.map_or("unknown tag", |i| i.name);
    let n = t.value().len();
    let mut line = format!("{} {} ({n} byte{})", t.tag(), name, if n == 1 { "" } else { "s" });
    if !t.is_constructed() {
        line.push_str(": ");
        line.push_str(&upper_hex(t.value()));
        let textual = matches!(info.map(|i| i.format), Some(Format::An | Format::Ans));
        if textual && t.value().iter().all(|b| (0x20..0x7F).contains(b)) {
            line.push_str(&format!(" \"{}\"", String::from_utf8_lossy(t.value())));
        }
    }
    line
}

fn to_tree(iter: TlvIter<'_>, depth: usize, out: &mut String) -> Result<(), CliError> {
    for t in iter {
        let t = t.map_err(|e| CliError::arg("HEX", e.to_string()))?;
        out.push_str(&"  ".repeat(depth));
        out.push_str(&describe(&t));
        out.push('\n');
        if t.is_constructed() {
            to_tree(t.children(), depth + 1, out)?;
        }
    }
    Ok(())
}

pub fn decode(hex: &str, json: bool) -> Result<String, CliError> {
    let data = hex_arg("HEX", hex)?;
    // Validate the whole tree first so nothing half-printed precedes an error.
    poskit_tlv::validate(&data).map_err(|e| CliError::arg("HEX", e.to_string()))?;
    if json {
        let tree = to_json(TlvIter::new(&data))?;
        Ok(serde_json::to_string_pretty(&tree).expect("serializable"))
    } else {
        let mut out = String::new();
        to_tree(TlvIter::new(&data), 0, &mut out)?;
        Ok(out.trim_end().to_owned())
    }
}
