//! The transport frame around a message (spec "Frame"): a 2-byte
//! big-endian length, the 5-byte TPDU, the 6-byte header, then the message.
//! Reading from a socket is the host crate's job; this module only cuts
//! and builds frames.

use crate::error::CodecError;

/// The TPDU's first byte: "transaction" PDU.
pub const TPDU_ID: u8 = 0x60;
/// TPDU plus header: what precedes the MTI inside the length.
pub const OVERHEAD: usize = 5 + 6;
/// The largest message a 2-byte length can carry after TPDU and header.
pub const MAX_MESSAGE_LEN: usize = u16::MAX as usize - OVERHEAD;

/// Transport protocol data unit: `60`, destination NII, source NII.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tpdu {
    pub destination: [u8; 2],
    pub source: [u8; 2],
}

impl Tpdu {
    pub fn to_bytes(&self) -> [u8; 5] {
        let [d0, d1] = self.destination;
        let [s0, s1] = self.source;
        [TPDU_ID, d0, d1, s0, s1]
    }

    /// The TPDU of the response: a host answers with the addresses swapped.
    pub fn swapped(&self) -> Tpdu {
        Tpdu {
            destination: self.source,
            source: self.destination,
        }
    }

    pub fn from_bytes(bytes: &[u8; 5]) -> Result<Tpdu, CodecError> {
        if bytes[0] != TPDU_ID {
            return Err(CodecError::message(format!(
                "TPDU starts with {:02X}, expected {TPDU_ID:02X}",
                bytes[0]
            )));
        }
        Ok(Tpdu {
            destination: [bytes[1], bytes[2]],
            source: [bytes[3], bytes[4]],
        })
    }
}

/// Length, TPDU, header and message, ready to send. Refuses a message that
/// the 2-byte length cannot cover.
pub fn wrap(tpdu: &Tpdu, header: &[u8; 6], message: &[u8]) -> Result<Vec<u8>, CodecError> {
    if message.len() > MAX_MESSAGE_LEN {
        return Err(CodecError::message(format!(
            "message of {} bytes is longer than a frame can carry ({MAX_MESSAGE_LEN})",
            message.len()
        )));
    }
    let body = OVERHEAD + message.len();
    let mut out = Vec::with_capacity(2 + body);
    out.extend_from_slice(&(body as u16).to_be_bytes());
    out.extend_from_slice(&tpdu.to_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(message);
    Ok(out)
}

/// A received frame, borrowing the message from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub tpdu: Tpdu,
    pub header: [u8; 6],
    pub message: &'a [u8],
}

/// Splits a frame body (what follows the 2-byte length) into TPDU, header
/// and message. The message itself is left to [`crate::Dialect::unpack`].
pub fn parse(frame_without_length: &[u8]) -> Result<Frame<'_>, CodecError> {
    let Some((tpdu, rest)) = frame_without_length.split_first_chunk::<5>() else {
        return Err(CodecError::message(format!(
            "frame of {} bytes is shorter than its 5-byte TPDU",
            frame_without_length.len()
        )));
    };
    let tpdu = Tpdu::from_bytes(tpdu)?;
    let Some((header, message)) = rest.split_first_chunk::<6>() else {
        return Err(CodecError::message("frame ends inside its 6-byte header"));
    };
    if message.is_empty() {
        return Err(CodecError::message("frame has no message after its header"));
    }
    Ok(Frame {
        tpdu,
        header: *header,
        message,
    })
}

/// For reassembling frames from a stream: once `buf` holds the 2-byte
/// length, the body length and the prefix length; `None` until then.
/// The frame is complete when `buf.len() >= prefix + body`.
pub fn split_length(buf: &[u8]) -> Option<(usize, usize)> {
    let (len, _) = buf.split_first_chunk::<2>()?;
    Some((u16::from_be_bytes(*len) as usize, 2))
}
