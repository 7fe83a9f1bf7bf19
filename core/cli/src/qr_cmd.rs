//! `posctl qr decode|encode|classify|render`: EMVCo codes and wallet
//! payment codes.
//!
//! JSON for a merchant-presented code: an object keyed by two-digit id,
//! every value the exact string it is in the code (`"88.80"`, never a
//! number), a template a nested object keyed by sub-id. `decode --json`
//! wraps it as `{"valid","crc","problems","objects"}`; `encode --json`
//! takes it bare or wrapped the same way.

use poskit_qr::cpm::{ConsumerPresented, CpmTemplate};
use poskit_qr::mpm::{DataObject, MerchantPresented, MpmBuilder, Path, Value, name};
use poskit_qr::{Background, QrMatrix, classify};
use serde_json::{Map, Value as Json, json};

use crate::CliError;
use crate::input::upper_hex;

pub fn decode(code: &str, json: bool) -> Result<String, CliError> {
    let code = code.trim();
    // An MPM code starts with its payload format indicator, `00`; a CPM
    // code is base64 and starts `hQ` (tag 85).
    if code.starts_with(|c: char| c.is_ascii_digit()) {
        decode_mpm(code, json)
    } else {
        decode_cpm(code, json)
    }
}

fn decode_mpm(code: &str, json: bool) -> Result<String, CliError> {
    let mpm =
        MerchantPresented::parse(code).map_err(|e| CliError::failed(format!("not a valid code: {e}")))?;
    let problems = mpm.problems();
    let crc = mpm.crc();
    let out = if json {
        let doc = json!({
            "mode": "merchant-presented",
            "valid": problems.is_empty(),
            "crc": {"found": crc.found, "expected": crc.expected, "valid": crc.is_valid()},
            "problems": problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "objects": objects_json(mpm.objects()),
        });
        serde_json::to_string_pretty(&doc).expect("serializable")
    } else {
        let mut out = String::new();
        describe(mpm.objects(), &[], &mut out);
        match (&crc.found, &crc.expected) {
            (Some(found), _) if crc.is_valid() => out.push_str(&format!("CRC valid ({found})")),
            (Some(found), Some(expected)) => out.push_str(&format!(
                "CRC NOT valid: the code says {found}, its content computes to {expected}"
            )),
            _ => out.push_str("CRC missing: data object 63 must come last, four hex digits"),
        }
        out
    };
    match problems.first() {
        None => Ok(out),
        Some(first) => {
            let more = match problems.len() {
                1 => String::new(),
                n => format!(" (and {} more problem{})", n - 1, if n == 2 { "" } else { "s" }),
            };
            Err(CliError::failed(format!("not a valid code: {first}{more}")).with_output(out))
        }
    }
}

fn objects_json(objects: &[DataObject]) -> Json {
    let map: Map<String, Json> = objects
        .iter()
        .map(|o| {
            let value = match o.value() {
                Value::Text(t) => Json::String(t.clone()),
                Value::Template(children) => objects_json(children),
            };
            (format!("{:02}", o.id()), value)
        })
        .collect();
    Json::Object(map)
}

fn describe(objects: &[DataObject], parent: &[u8], out: &mut String) {
    for o in objects {
        let path: Vec<u8> = parent.iter().copied().chain([o.id()]).collect();
        let indent = "  ".repeat(parent.len());
        let label = format!("{indent}{:02}  {}", o.id(), name(&path));
        match o.value() {
            Value::Text(t) => out.push_str(&format!("{label:<54} {t}\n")),
            Value::Template(children) => {
                out.push_str(&label);
                out.push('\n');
                describe(children, &path, out);
            }
        }
    }
}

fn decode_cpm(code: &str, json: bool) -> Result<String, CliError> {
    let cpm =
        ConsumerPresented::decode(code).map_err(|e| CliError::failed(format!("not a valid code: {e}")))?;
    if json {
        let apps: Vec<Json> = (0..cpm.applications().len())
            .map(|i| {
                let mut app = template_json(&cpm.applications()[i]);
                app["pan"] = json!(cpm.masked_pan(i));
                app
            })
            .collect();
        let doc = json!({
            "mode": "consumer-presented",
            "valid": true,
            "applications": apps,
            "common": cpm.common().map(template_json),
        });
        return Ok(serde_json::to_string_pretty(&doc).expect("serializable"));
    }
    let mut out = String::from("EMVCo consumer-presented code (CPV01)\n");
    for (i, app) in cpm.applications().iter().enumerate() {
        out.push_str(&format!("application {}\n", i + 1));
        describe_template(app, &mut out);
        if let Some(pan) = cpm.masked_pan(i) {
            out.push_str(&format!("  {:<28} {pan}\n", "PAN (masked)"));
        }
    }
    if let Some(common) = cpm.common() {
        out.push_str("common data\n");
        describe_template(common, &mut out);
    }
    Ok(out.trim_end().to_owned())
}

/// What a template shows: never the PAN, track 2 or name in clear.
fn template_json(t: &CpmTemplate) -> Json {
    let elements = |list: &[(poskit_tlv::Tag, Vec<u8>)]| -> Map<String, Json> {
        list.iter()
            .map(|(tag, v)| (tag.to_string(), Json::String(upper_hex(v))))
            .collect()
    };
    json!({
        "aid": t.aid.as_deref().map(upper_hex),
        "label": t.label,
        "pan": t.masked_pan(),
        "language_preference": t.language_preference,
        "pan_last4": t.pan_last4,
        "transparent": elements(&t.transparent),
        "other_tags": t.other.iter().map(|(tag, _)| tag.to_string()).collect::<Vec<_>>(),
    })
}

fn describe_template(t: &CpmTemplate, out: &mut String) {
    let mut line = |what: &str, value: String| out.push_str(&format!("  {what:<28} {value}\n"));
    if let Some(aid) = &t.aid {
        line("4F ADF name", upper_hex(aid));
    }
    if let Some(label) = &t.label {
        line("50 application label", label.clone());
    }
    if t.track2.is_some() {
        line("57 track 2 equivalent data", "(card data, not shown)".into());
    }
    if t.pan.is_some() {
        line("5A PAN", t.masked_pan().unwrap_or_default());
    }
    if t.cardholder_name.is_some() {
        line("5F20 cardholder name", "(card data, not shown)".into());
    }
    if let Some(lang) = &t.language_preference {
        line("5F2D language preference", lang.clone());
    }
    if let Some(last4) = &t.pan_last4 {
        line("9F25 last 4 digits of PAN", last4.clone());
    }
    for (tag, value) in &t.transparent {
        line(&format!("{tag} (transparent)"), upper_hex(value));
    }
    for (tag, _) in &t.other {
        line(&tag.to_string(), "(present)".into());
    }
}

pub fn encode(file: &str) -> Result<String, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::arg("--json", format!("cannot read {file}: {e}")))?;
    let doc: Json =
        serde_json::from_str(&text).map_err(|e| CliError::arg("--json", format!("not JSON: {e}")))?;
    let objects = match &doc {
        Json::Object(map) => match map.get("objects") {
            Some(Json::Object(inner)) => inner,
            _ => map,
        },
        _ => {
            return Err(CliError::arg(
                "--json",
                "give an object keyed by data object id, e.g. {\"54\": \"88.80\"}",
            ));
        }
    };
    let mut builder = MpmBuilder::new();
    for object in objects_from_json(objects, None)? {
        builder = builder.set(object);
    }
    let code = builder
        .build()
        .map_err(|e| CliError::arg("--json", e.to_string()))?;
    Ok(code.encode())
}

fn objects_from_json(map: &Map<String, Json>, parent: Option<Path>) -> Result<Vec<DataObject>, CliError> {
    map.iter()
        .map(|(key, value)| {
            let id = match key.as_bytes() {
                [h @ b'0'..=b'9', l @ b'0'..=b'9'] => (h - b'0') * 10 + (l - b'0'),
                _ => {
                    return Err(CliError::arg(
                        "--json",
                        format!("\"{key}\" is not a data object id: ids are two digits, e.g. \"05\""),
                    ));
                }
            };
            let path = parent.map_or(Path::root(id), |p| p.child(id));
            match value {
                Json::String(text) => Ok(DataObject::text(id, text.clone())),
                Json::Object(inner) => Ok(DataObject::template(id, objects_from_json(inner, Some(path))?)),
                _ => Err(CliError::arg(
                    "--json",
                    format!("data object {path}: give the value as a string as it stands in the code, e.g. \"88.80\", or a template as an object"),
                )),
            }
        })
        .collect()
}

pub fn classify_cmd(code: &str) -> Result<String, CliError> {
    let code = classify(code).map_err(|e| CliError::failed(format!("not a payment code: {e}")))?;
    Ok(format!("{} payment code {}", code.wallet(), code.masked()))
}

pub struct Render<'a> {
    pub text: &'a str,
    pub png: Option<&'a str>,
    pub scale: u32,
    pub light_background: bool,
}

pub fn render(r: Render<'_>) -> Result<String, CliError> {
    let qr = QrMatrix::encode(r.text).map_err(|e| CliError::arg("STRING", e.to_string()))?;
    let Some(file) = r.png else {
        let background = if r.light_background {
            Background::Light
        } else {
            Background::Dark
        };
        return Ok(qr.to_text(background).trim_end().to_owned());
    };
    let png = qr
        .to_png(r.scale)
        .map_err(|e| CliError::arg("--scale", e.to_string()))?;
    std::fs::write(file, &png).map_err(|e| CliError::failed(format!("cannot write {file}: {e}")))?;
    let side = (qr.width() + 2 * poskit_qr::render::QUIET_ZONE) as u32 * r.scale;
    Ok(format!(
        "wrote {file}: {side}x{side} pixels, {0}x{0} modules and the quiet zone, {1} bytes",
        qr.width(),
        png.len()
    ))
}
