//! Card session transcripts: `send:` / `resp:` lines of hex, `#` comments.
//! A recorder writes them from a live card; a replayer answers from them,
//! so a session recorded at a merchant can be replayed in the lab.

use std::fmt::Write as _;

use crate::card::{Card, CardError};

/// One recorded exchange. `command` is None for an empty `send:` (the
/// recording did not keep the command): it answers any command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub command: Option<Vec<u8>>,
    pub response: Vec<u8>,
}

/// Why a transcript could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscriptError {
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
}

fn err(line: usize, reason: impl Into<String>) -> TranscriptError {
    TranscriptError::Line {
        line,
        reason: reason.into(),
    }
}

fn parse_hex(text: &str, line: usize) -> Result<Vec<u8>, TranscriptError> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(err(line, "odd number of hex digits"));
    }
    digits
        .chunks(2)
        .map(|p| {
            let s = std::str::from_utf8(p).map_err(|_| err(line, "not hex"))?;
            u8::from_str_radix(s, 16).map_err(|_| err(line, format!("'{s}' is not hex")))
        })
        .collect()
}

/// A parsed transcript.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    pub exchanges: Vec<Exchange>,
}

impl Transcript {
    pub fn parse(text: &str) -> Result<Self, TranscriptError> {
        let mut exchanges = Vec::new();
        let mut pending: Option<Option<Vec<u8>>> = None;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (kind, rest) = line
                .split_once(':')
                .ok_or_else(|| err(n, "expected 'send:' or 'resp:'"))?;
            match kind.trim().to_ascii_lowercase().as_str() {
                "send" => {
                    if pending.is_some() {
                        return Err(err(n, "'send:' follows a 'send:' without 'resp:'"));
                    }
                    let command = parse_hex(rest, n)?;
                    pending = Some((!command.is_empty()).then_some(command));
                }
                "resp" => {
                    let command = pending
                        .take()
                        .ok_or_else(|| err(n, "'resp:' without a 'send:' before it"))?;
                    let response = parse_hex(rest, n)?;
                    if response.len() < 2 {
                        return Err(err(n, "a response needs at least SW1 SW2"));
                    }
                    exchanges.push(Exchange { command, response });
                }
                other => return Err(err(n, format!("unknown line kind '{other}'"))),
            }
        }
        if pending.is_some() {
            return Err(err(text.lines().count(), "the last 'send:' has no 'resp:'"));
        }
        Ok(Transcript { exchanges })
    }

    /// The text form, one `send:`/`resp:` pair per exchange.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for e in &self.exchanges {
            let _ = writeln!(
                out,
                "send: {}",
                spaced_hex(e.command.as_deref().unwrap_or_default())
            );
            let _ = writeln!(out, "resp: {}", spaced_hex(&e.response));
        }
        out
    }
}

fn spaced_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Answers each command with the next unused recorded response whose
/// command header (CLA INS P1 P2) matches, or whose command was not
/// recorded; `6A 82` when nothing is left.
#[derive(Debug, Clone)]
pub struct ReplayCard {
    exchanges: Vec<Exchange>,
    used: Vec<bool>,
}

impl ReplayCard {
    pub fn new(transcript: Transcript) -> Self {
        let used = vec![false; transcript.exchanges.len()];
        Self {
            exchanges: transcript.exchanges,
            used,
        }
    }

    pub fn from_text(text: &str) -> Result<Self, TranscriptError> {
        Ok(Self::new(Transcript::parse(text)?))
    }

    /// Recorded exchanges not answered yet.
    pub fn remaining(&self) -> usize {
        self.used.iter().filter(|u| !**u).count()
    }
}

impl Card for ReplayCard {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        let header = command.get(..4);
        let found = self.exchanges.iter().enumerate().position(|(i, e)| {
            !self.used[i]
                && match &e.command {
                    None => true,
                    Some(recorded) => header.is_some() && recorded.get(..4) == header,
                }
        });
        match found {
            Some(i) => {
                self.used[i] = true;
                Ok(self.exchanges[i].response.clone())
            }
            None => Ok(vec![0x6A, 0x82]),
        }
    }
}

/// Wraps a card and records every exchange with it. Comments can be added
/// between exchanges (what the kernel was doing).
pub struct Recorder<C: Card> {
    inner: C,
    text: String,
    transcript: Transcript,
}

impl<C: Card> Recorder<C> {
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            text: String::new(),
            transcript: Transcript::default(),
        }
    }

    pub fn comment(&mut self, text: &str) {
        for line in text.lines() {
            let _ = writeln!(self.text, "# {line}");
        }
    }

    /// The session so far in the transcript format, comments included.
    pub fn to_text(&self) -> String {
        self.text.clone()
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    pub fn into_inner(self) -> C {
        self.inner
    }
}

/// VERIFY carries the PIN: a recording keeps only its header, so no PIN or
/// PIN block ever reaches a transcript (DESIGN rule 5).
fn recordable(command: &[u8]) -> Vec<u8> {
    if command.get(1) == Some(&0x20) {
        command[..command.len().min(4)].to_vec()
    } else {
        command.to_vec()
    }
}

impl<C: Card> Card for Recorder<C> {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        let response = self.inner.transceive(command)?;
        let kept = recordable(command);
        let _ = writeln!(self.text, "send: {}", spaced_hex(&kept));
        let _ = writeln!(self.text, "resp: {}", spaced_hex(&response));
        self.transcript.exchanges.push(Exchange {
            command: Some(kept),
            response: response.clone(),
        });
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_comments_empty_sends_and_spacing() {
        let t = Transcript::parse(
            "# header\nsend: 00 A4 04 00 02 3F 00 # select\nresp:6F00 90 00\nsend:\nresp: 67 00\n",
        )
        .unwrap();
        assert_eq!(t.exchanges.len(), 2);
        assert_eq!(
            t.exchanges[0].command.as_deref(),
            Some(&[0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00][..])
        );
        assert_eq!(t.exchanges[1].command, None);
        assert_eq!(Transcript::parse(&t.to_text()).unwrap(), t);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            Transcript::parse("send: 00\nsend: 01").unwrap_err().to_string(),
            "line 2: 'send:' follows a 'send:' without 'resp:'"
        );
        assert!(
            Transcript::parse("resp: 9000")
                .unwrap_err()
                .to_string()
                .starts_with("line 1")
        );
        assert!(Transcript::parse("send: 0G\nresp: 9000").is_err());
        assert!(Transcript::parse("send: 00\n").is_err());
    }

    #[test]
    fn replay_matches_headers_in_order() {
        let mut card = ReplayCard::from_text(
            "send: 80 CA 9F 7F 00\nresp: 6A 88\nsend: 00 A4 04 00 01 AA\nresp: 61 05\n\
             send:\nresp: 67 00\nsend: 00 A4 04 00 01 BB\nresp: 90 00\n",
        )
        .unwrap();
        // A SELECT takes the first unused SELECT, skipping the GET DATA.
        assert_eq!(
            card.transceive(&[0x00, 0xA4, 0x04, 0x00, 0x01, 0xCC]).unwrap(),
            [0x61, 0x05]
        );
        // The empty send answers anything.
        assert_eq!(card.transceive(&[0x80, 0xA8, 0x00, 0x00]).unwrap(), [0x67, 0x00]);
        assert_eq!(card.transceive(&[0x00, 0xA4, 0x04, 0x00]).unwrap(), [0x90, 0x00]);
        assert_eq!(
            card.transceive(&[0x00, 0xB2, 0x01, 0x0C, 0x00]).unwrap(),
            [0x6A, 0x82]
        );
        assert_eq!(card.remaining(), 1);
    }

    #[test]
    fn recorder_round_trips_and_hides_pins() {
        let inner = ReplayCard::from_text("send: 00 20 00 80 08 24 12 34 FF FF FF FF FF\nresp: 90 00\nsend: 00 84 00 00 00\nresp: 01 02 90 00").unwrap();
        let mut rec = Recorder::new(inner);
        rec.comment("offline PIN");
        rec.transceive(&[
            0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ])
        .unwrap();
        rec.transceive(&[0x00, 0x84, 0x00, 0x00, 0x00]).unwrap();
        let text = rec.to_text();
        assert!(text.starts_with("# offline PIN\nsend: 00 20 00 80\n"), "{text}");
        assert!(!text.contains("12 34"));
        let mut replay = ReplayCard::from_text(&text).unwrap();
        assert_eq!(
            replay.transceive(&[0x00, 0x84, 0x00, 0x00, 0x00]).unwrap(),
            [0x01, 0x02, 0x90, 0x00]
        );
    }

    #[test]
    fn every_fixture_transcript_parses() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/cards/devnied"
        );
        let Ok(entries) = std::fs::read_dir(dir) else {
            return; // fixtures live beside the repository; absent in a bare clone
        };
        let mut count = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "trace") {
                let text = std::fs::read_to_string(&path).unwrap();
                Transcript::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                count += 1;
            }
        }
        assert!(count >= 19, "read {count} transcripts");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}", cmd in proptest::collection::vec(any::<u8>(), 0..10)) {
            if let Ok(mut card) = ReplayCard::from_text(&text) {
                let _ = card.transceive(&cmd);
            }
        }
    }
}
