//! Cross-check with an independent implementation, pyiso8583, driven by
//! scripts/iso8583_crosscheck.py (which holds its own copy of the cup
//! table, written from the spec):
//!
//! 1. we pack hand-made and seeded random messages into
//!    `<target>/test-data/iso8583-crosscheck/rust/`, with the values as
//!    JSON; the script decodes them with pyiso8583, compares every field
//!    and re-encodes them to the same bytes;
//! 2. the script encodes messages of its own into `.../python/`; we unpack
//!    them and compare with the values it wrote beside them.
//!
//! The files hold made-up card numbers and tracks, never a test card's.
//! They are written under test-data so the suite's card-data scan sees
//! them, and removed when the check passes (set POSKIT_KEEP_CROSSCHECK=1
//! to keep them); a failure leaves them for a look.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use poskit_iso8583::{Format, Length, Message, Value, cup};

/// `$POSKIT_TEST_DATA_DIR`, else `<target>/test-data`, the same root
/// poskit-store's testing module gives every test that writes files.
fn test_data_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("POSKIT_TEST_DATA_DIR") {
        return PathBuf::from(dir);
    }
    // Test binaries live in <target>/<profile>/deps/.
    if let Ok(exe) = std::env::current_exe() {
        let target = exe.parent().and_then(Path::parent).and_then(Path::parent);
        if let Some(target) = target {
            if target.join("CACHEDIR.TAG").exists() || target.join(".rustc_info.json").exists() {
                return target.join("test-data");
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-data")
}

/// xorshift64*: a few lines of seeded randomness, so every run writes the
/// same messages and a disagreement can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick(&mut self, set: &[u8]) -> u8 {
        set[self.below(set.len())]
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ";
/// GBK for 银联商务消费: what field 63 carries from UnionPay hosts.
const GBK_CHARS: [[u8; 2]; 6] = [
    [0xD2, 0xF8],
    [0xC1, 0xAA],
    [0xC9, 0xCC],
    [0xCE, 0xF1],
    [0xCF, 0xFB],
    [0xB7, 0xD1],
];

fn random_message(rng: &mut Rng) -> Message {
    let mut msg = Message::new(rng.below(10_000) as u16);
    for spec in cup().specs() {
        if rng.below(2) == 0 {
            continue;
        }
        let size = match spec.length {
            Length::Fixed(n) => n as usize,
            Length::LlVar(max) | Length::LllVar(max) => rng.below(max as usize + 1),
        };
        let chars =
            |rng: &mut Rng, set: &[u8]| -> String { (0..size).map(|_| rng.pick(set) as char).collect() };
        let value = match spec.format {
            Format::N => Value::Digits(chars(rng, b"0123456789")),
            Format::Z => Value::Digits(chars(rng, b"0123456789D")),
            Format::An => Value::Text(chars(rng, ALNUM)),
            Format::Ans if spec.number == 63 => {
                let mut bytes = Vec::with_capacity(size);
                while bytes.len() < size {
                    if bytes.len() + 2 <= size && rng.below(3) == 0 {
                        bytes.extend_from_slice(&GBK_CHARS[rng.below(GBK_CHARS.len())]);
                    } else {
                        bytes.push(0x20 + rng.below(0x5F) as u8);
                    }
                }
                Value::from_text_bytes(&bytes)
            }
            Format::Ans => Value::Text(
                (0..size)
                    .map(|_| (0x20 + rng.below(0x5F) as u8) as char)
                    .collect(),
            ),
            Format::B => Value::Binary((0..size).map(|_| rng.next() as u8).collect()),
        };
        msg.set(spec.number, value);
    }
    msg
}

fn hand_made() -> Vec<(&'static str, Message)> {
    let mut sale = Message::new(200);
    sale.set_digits(2, "6200987654321098765")
        .set_digits(3, "000000")
        .set_digits(4, "000000001000")
        .set_digits(11, "000123")
        .set_digits(14, "3012")
        .set_digits(22, "051")
        .set_digits(23, "001")
        .set_digits(25, "00")
        .set_digits(26, "12")
        .set_digits(35, "6200987654321098765D30122011234567890")
        .set_text(41, "12345678")
        .set_text(42, "123456789012345")
        .set_text(49, "156")
        .set_binary(52, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
        .set_digits(53, "2600000000000000")
        .set_binary(
            55,
            hex::decode("9F26080102030405060708 9F270180".replace(' ', "")).unwrap(),
        )
        .set_digits(60, "22000001000")
        .set_binary(64, *b"A1B2C3D4");

    let mut response = Message::new(210);
    response
        .set_digits(3, "000000")
        .set_digits(4, "000000001000")
        .set_digits(11, "000123")
        .set_digits(32, "48020000")
        .set_text(37, "123456789012")
        .set_text(38, "AB12") // short: padded to an6
        .set_text(39, "00")
        .set_text(41, "12345678")
        .set_text(42, "123456789012345")
        .set_text(44, "01020000   48020000   ")
        .set_text(54, "1002156C000000001000")
        .set_text_bytes(63, [&b"CUP"[..], &[0xD2, 0xF8, 0xC1, 0xAA]].concat());

    let mut settlement = Message::new(500);
    settlement
        .set_digits(11, "000050")
        .set_text(41, "12345678")
        .set_text(42, "123456789012345")
        .set_digits(48, "0000001234560120000000010000010".repeat(2))
        .set_text(49, "156")
        .set_digits(60, "00000001201")
        .set_text(63, "01 ");

    let mut void = Message::new(200);
    void.set_digits(3, "200000")
        .set_digits(22, "021")
        .set_digits(36, "996200987654321098765D156156000000000000000300000021")
        .set_digits(61, "000001000123")
        .set_binary(62, [0u8; 0]);

    vec![
        ("sale_0200", sale),
        ("response_0210_gbk", response),
        ("settlement_0500", settlement),
        ("void_0200", void),
    ]
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn to_json(msg: &Message) -> String {
    let mut out = format!("{{\"mti\": \"{}\", \"fields\": {{", msg.mti);
    for (i, (n, value)) in msg.fields().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "\"{n}\": {{");
        match value {
            Value::Digits(d) => {
                out.push_str("\"digits\": ");
                json_string(d, &mut out);
            }
            Value::Text(t) => {
                // What goes on the wire: short fixed text is space-padded.
                let width = match cup().field(n).map(|spec| spec.length) {
                    Some(Length::Fixed(width)) => width as usize,
                    _ => 0,
                };
                out.push_str("\"text\": ");
                json_string(&format!("{t:<width$}"), &mut out);
            }
            Value::TextBytes(b) => {
                let _ = write!(out, "\"text_bytes\": \"{}\"", hex::encode_upper(b));
            }
            Value::Binary(b) => {
                let _ = write!(out, "\"binary\": \"{}\"", hex::encode_upper(b));
            }
        }
        out.push('}');
    }
    out.push_str("}}\n");
    out
}

/// Reads the script's `.fields` file into the message it describes.
fn from_fields(text: &str) -> Message {
    let mut lines = text.lines();
    let mti = lines
        .next()
        .and_then(|l| l.strip_prefix("mti "))
        .expect("mti line");
    let mut msg = Message::new(mti.parse().expect("MTI digits"));
    for line in lines {
        let mut parts = line.splitn(3, ' ');
        let (n, kind, value) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap_or(""),
        );
        let n: u8 = n.parse().expect("field number");
        let value = match kind {
            "digits" => Value::Digits(value.to_string()),
            "text" => Value::from_text_bytes(&hex::decode(value).unwrap()),
            "binary" => Value::Binary(hex::decode(value).unwrap()),
            other => panic!("unknown kind {other} in a .fields line"),
        };
        msg.set(n, value);
    }
    msg
}

fn pyiso8583_available() -> bool {
    Command::new("python3")
        .args(["-c", "import iso8583"])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn pyiso8583_agrees_with_our_codec() {
    assert!(
        pyiso8583_available(),
        "the ISO 8583 cross-check needs python3 with pyiso8583: run \
         `python3 -m pip install --user pyiso8583` (scripts/install-deps.sh does)"
    );
    let dir = test_data_root().join("iso8583-crosscheck");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("rust")).unwrap();

    // 1. Ours, for pyiso8583 to decode.
    let mut ours: Vec<(String, Message)> = hand_made().into_iter().map(|(n, m)| (n.to_string(), m)).collect();
    let mut rng = Rng(0x8583_2026_C0DE_CAFE);
    ours.extend((0..200).map(|i| (format!("random_{i:03}"), random_message(&mut rng))));
    for (name, msg) in &ours {
        let packed = cup().pack(msg).unwrap_or_else(|e| panic!("{name}: {e}"));
        fs::write(
            dir.join("rust").join(format!("{name}.hex")),
            hex::encode_upper(&packed),
        )
        .unwrap();
        fs::write(dir.join("rust").join(format!("{name}.json")), to_json(msg)).unwrap();
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/iso8583_crosscheck.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stdout}{stderr}",
        script.display(),
        out.status
    );
    eprint!("{stdout}");

    // 2. Theirs, for us to decode.
    let mut theirs = 0;
    let mut names: Vec<PathBuf> = fs::read_dir(dir.join("python"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "fields"))
        .collect();
    names.sort();
    for fields_path in names {
        let expected = from_fields(&fs::read_to_string(&fields_path).unwrap());
        let hex_path = fields_path.with_extension("hex");
        let wire = hex::decode(fs::read_to_string(&hex_path).unwrap().trim()).unwrap();
        let name = fields_path.file_stem().unwrap().to_string_lossy().into_owned();
        let got = cup()
            .unpack(&wire)
            .unwrap_or_else(|e| panic!("python/{name}: {e}"));
        assert_eq!(got, expected, "python/{name}");
        // And we encode what they meant to the same bytes.
        assert_eq!(
            cup().pack(&expected).unwrap(),
            wire,
            "python/{name} packs differently"
        );
        theirs += 1;
    }
    assert!(theirs >= 200, "only {theirs} messages from pyiso8583");
    eprintln!("crosscheck: unpacked {theirs} pyiso8583 messages identically");

    if std::env::var_os("POSKIT_KEEP_CROSSCHECK").is_none() {
        let _ = fs::remove_dir_all(&dir);
    }
}
