//! Packing and unpacking whole messages with a dialect's table:
//! MTI (2 BCD bytes), primary bitmap, secondary bitmap when a field above
//! 64 is present, then the fields in number order.

use crate::bcd;
use crate::dialect::{Align, Dialect, FieldSpec, Format, Length};
use crate::error::CodecError;
use crate::message::{Message, Value};

impl Dialect {
    /// Encodes `msg`. Every field must be defined in this dialect and its
    /// value must fit it: digits for `n`/`z`, text for `an`/`ans`, binary
    /// for `b`, within the length. A fixed numeric value of the wrong
    /// length is refused rather than padded (which end would be a guess);
    /// short fixed text is padded with spaces as the spec says.
    pub fn pack(&self, msg: &Message) -> Result<Vec<u8>, CodecError> {
        if msg.mti.0 > 9999 {
            return Err(CodecError::message(format!(
                "MTI {} has more than 4 digits",
                msg.mti.0
            )));
        }
        let mut bitmap = [0u8; 16];
        let mut size = 2 + 8;
        for (n, value) in msg.fields() {
            let spec = self.spec_for(n)?;
            bitmap[(n as usize - 1) / 8] |= 0x80 >> ((n - 1) % 8);
            size += estimate(spec, value);
        }
        let secondary = bitmap[8..].iter().any(|&b| b != 0);
        if secondary {
            bitmap[0] |= 0x80;
            size += 8;
        }

        let mut out = Vec::with_capacity(size);
        bcd::write_bcd(msg.mti.0 as usize, 2, &mut out);
        out.extend_from_slice(&bitmap[..if secondary { 16 } else { 8 }]);
        for (n, value) in msg.fields() {
            // spec_for succeeded for every field in the first pass.
            let spec = self.spec_for(n)?;
            pack_field(spec, value, &mut out)?;
        }
        Ok(out)
    }

    /// Decodes one message (MTI onwards, no frame). Refuses bitmap bits for
    /// fields this dialect does not define (their length is unknown, so
    /// nothing after them could be read), length prefixes that are not BCD
    /// or exceed the field's maximum, non-digit nibbles in `n`/`z` fields,
    /// truncation, and bytes left over after the last field.
    pub fn unpack(&self, bytes: &[u8]) -> Result<Message, CodecError> {
        let mti = bytes
            .get(..2)
            .ok_or_else(|| CodecError::message("message shorter than its 2-byte MTI"))?;
        let mti =
            bcd::bcd_value(mti).ok_or_else(|| CodecError::message("MTI is not BCD (4 digits in 2 bytes)"))?;

        let primary = bytes
            .get(2..10)
            .ok_or_else(|| CodecError::message("message ends inside the primary bitmap"))?;
        let mut bitmap = [0u8; 16];
        bitmap[..8].copy_from_slice(primary);
        let mut pos = 10;
        if primary[0] & 0x80 != 0 {
            let secondary = bytes
                .get(10..18)
                .ok_or_else(|| CodecError::message("message ends inside the secondary bitmap"))?;
            bitmap[8..].copy_from_slice(secondary);
            pos = 18;
        }

        // The bitmap yields fields in ascending order: this vector becomes
        // the message's field list as it is.
        let count = bitmap.iter().map(|b| b.count_ones() as usize).sum();
        let mut fields = Vec::with_capacity(count);
        for n in present(&bitmap) {
            let spec = self.field(n).ok_or_else(|| {
                CodecError::field(
                    n,
                    format!("present in the bitmap but not defined in dialect {}", self.name),
                )
            })?;
            let value = unpack_field(spec, bytes, &mut pos)?;
            fields.push((n, value));
        }
        if pos != bytes.len() {
            let after = match fields.last() {
                Some((n, _)) => format!("field {n}"),
                None => "the bitmap".to_string(),
            };
            return Err(CodecError::message(format!(
                "{} bytes left over after {after}",
                bytes.len() - pos
            )));
        }
        Ok(Message::from_sorted(mti as u16, fields))
    }

    fn spec_for(&self, n: u8) -> Result<&FieldSpec, CodecError> {
        match self.field(n) {
            Some(spec) => Ok(spec),
            None if n == 1 => Err(CodecError::field(
                1,
                "is the secondary bitmap, which pack sets itself; it cannot be set",
            )),
            None => Err(CodecError::field(
                n,
                format!("not defined in dialect {}", self.name),
            )),
        }
    }
}

/// The field numbers set in a 128-bit bitmap, bit 1 (the secondary
/// bitmap flag) left out, in ascending order.
fn present(bitmap: &[u8; 16]) -> impl Iterator<Item = u8> {
    let halves = [
        u64::from_be_bytes(bitmap[..8].try_into().unwrap_or([0; 8])) & !(1 << 63),
        u64::from_be_bytes(bitmap[8..].try_into().unwrap_or([0; 8])),
    ];
    halves.into_iter().enumerate().flat_map(|(half, mut bits)| {
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let skip = bits.leading_zeros();
            bits &= !(1u64 << (63 - skip));
            Some((half * 64) as u8 + skip as u8 + 1)
        })
    })
}

/// Bytes a field will take, for one allocation per message.
fn estimate(spec: &FieldSpec, value: &Value) -> usize {
    let len = match value {
        Value::Digits(d) => d.len().div_ceil(2),
        Value::Text(t) => t.len(),
        Value::TextBytes(b) | Value::Binary(b) => b.len(),
    };
    let prefix = match spec.length {
        Length::Fixed(n) => return n as usize,
        Length::LlVar(_) => 1,
        Length::LllVar(_) => 2,
    };
    prefix + len
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::N => "n",
        Format::Z => "z",
        Format::An => "an",
        Format::Ans => "ans",
        Format::B => "b",
    }
}

fn wrong_kind(spec: &FieldSpec, value: &Value, wanted: &str) -> CodecError {
    CodecError::field(
        spec.number,
        format!(
            "{} field needs {wanted}, got {}",
            format_name(spec.format),
            value.kind()
        ),
    )
}

/// Checks `len` against the field's length and writes the prefix, if any.
/// `unit` is "digits" or "bytes", for the error.
fn write_length(spec: &FieldSpec, len: usize, unit: &str, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let (max, width) = match spec.length {
        Length::Fixed(n) => {
            return if len == n as usize {
                Ok(())
            } else {
                Err(CodecError::field(
                    spec.number,
                    format!("needs exactly {n} {unit}, got {len}"),
                ))
            };
        }
        Length::LlVar(max) => (max, 1),
        Length::LllVar(max) => (max, 2),
    };
    if len > max as usize {
        return Err(CodecError::field(
            spec.number,
            format!("{len} {unit} is more than the maximum of {max}"),
        ));
    }
    bcd::write_bcd(len, width, out);
    Ok(())
}

fn pack_field(spec: &FieldSpec, value: &Value, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let n = spec.number;
    match spec.format {
        Format::N | Format::Z => {
            let Value::Digits(digits) = value else {
                return Err(wrong_kind(spec, value, "digits"));
            };
            let track = spec.format == Format::Z;
            write_length(spec, digits.len(), "digits", out)?;
            bcd::write_digits(n, digits.as_bytes(), spec.align, track, out)?;
        }
        Format::An | Format::Ans => {
            let bytes = match value {
                Value::Text(text) => {
                    check_text(spec, text)?;
                    text.as_bytes()
                }
                // Raw (GBK) text: the caller vouches for the bytes.
                Value::TextBytes(bytes) => bytes,
                _ => return Err(wrong_kind(spec, value, "text")),
            };
            if let Length::Fixed(width) = spec.length {
                // Short fixed text is padded with spaces (spec: "fixed ones
                // are right-padded with spaces"); long text is refused.
                let pad = (width as usize).checked_sub(bytes.len()).ok_or_else(|| {
                    CodecError::field(
                        n,
                        format!("{} bytes do not fit the fixed length of {width}", bytes.len()),
                    )
                })?;
                let spaces = std::iter::repeat_n(b' ', pad);
                match spec.align {
                    Align::Left => {
                        out.extend_from_slice(bytes);
                        out.extend(spaces);
                    }
                    Align::Right => {
                        out.extend(spaces);
                        out.extend_from_slice(bytes);
                    }
                }
            } else {
                write_length(spec, bytes.len(), "bytes", out)?;
                out.extend_from_slice(bytes);
            }
        }
        Format::B => {
            let Value::Binary(bytes) = value else {
                return Err(wrong_kind(spec, value, "binary"));
            };
            write_length(spec, bytes.len(), "bytes", out)?;
            out.extend_from_slice(bytes);
        }
    }
    Ok(())
}

/// `an`: letters, digits and space; `ans`: any printable ASCII.
fn check_text(spec: &FieldSpec, text: &str) -> Result<(), CodecError> {
    let ok = |c: &u8| match spec.format {
        Format::An => c.is_ascii_alphanumeric() || *c == b' ',
        _ => (0x20..=0x7E).contains(c),
    };
    match text.bytes().position(|c| !ok(&c)) {
        None => Ok(()),
        Some(at) => {
            let allowed = if spec.format == Format::An {
                "letters, digits and spaces (an)"
            } else {
                "printable ASCII (ans); send GBK text as Value::TextBytes"
            };
            Err(CodecError::field(
                spec.number,
                format!("character {} is outside {allowed}", at + 1),
            ))
        }
    }
}

fn unpack_field(spec: &FieldSpec, bytes: &[u8], pos: &mut usize) -> Result<Value, CodecError> {
    let n = spec.number;
    let numeric = matches!(spec.format, Format::N | Format::Z);
    let unit = if numeric { "digits" } else { "bytes" };
    let (count, width) = match spec.length {
        Length::Fixed(len) => (len as usize, 0),
        Length::LlVar(max) | Length::LllVar(max) => {
            let width = if matches!(spec.length, Length::LlVar(_)) {
                1
            } else {
                2
            };
            let prefix = bytes
                .get(*pos..*pos + width)
                .ok_or_else(|| CodecError::field(n, "message ends inside the length prefix"))?;
            let count =
                bcd::bcd_value(prefix).ok_or_else(|| CodecError::field(n, "length prefix is not BCD"))?;
            if count > max as usize {
                return Err(CodecError::field(
                    n,
                    format!("length prefix says {count} {unit}, more than the maximum of {max}"),
                ));
            }
            (count, width)
        }
    };
    let start = *pos + width;
    let size = if numeric { count.div_ceil(2) } else { count };
    let data = bytes.get(start..start + size).ok_or_else(|| {
        CodecError::field(
            n,
            format!(
                "needs {size} bytes but the message has {} left",
                bytes.len().saturating_sub(start)
            ),
        )
    })?;
    *pos = start + size;
    Ok(match spec.format {
        Format::N | Format::Z => Value::Digits(bcd::read_digits(
            n,
            data,
            count,
            spec.align,
            spec.format == Format::Z,
        )?),
        Format::An | Format::Ans => Value::from_text_bytes(data),
        Format::B => Value::Binary(data.to_vec()),
    })
}
