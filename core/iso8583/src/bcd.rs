//! Packed BCD: digits two to a byte, the `D` track separator, and the
//! BCD length prefixes of LLVAR and LLLVAR fields.

use crate::dialect::Align;
use crate::error::CodecError;

/// The nibble for a digit character; in track (`z`) data also `D`/`=`.
#[inline]
fn nibble(c: u8, track: bool) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'D' | b'd' | b'=' if track => Some(0xD),
        _ => None,
    }
}

/// Checks that `digits` holds only what the field may carry. The error
/// gives the position, never the character: it may be part of a PAN.
pub(crate) fn check_digits(field: u8, digits: &[u8], track: bool) -> Result<(), CodecError> {
    match digits.iter().position(|&c| nibble(c, track).is_none()) {
        None => Ok(()),
        Some(at) if track => Err(CodecError::field(
            field,
            format!("character {} is not a digit or the track separator D (=)", at + 1),
        )),
        Some(at) => Err(CodecError::field(
            field,
            format!("character {} is not a digit", at + 1),
        )),
    }
}

/// Packs checked digits; an odd count gets a `0` pad nibble at the end
/// `align` leaves free (first for `Right`, last for `Left`).
pub(crate) fn write_digits(digits: &[u8], align: Align, track: bool, out: &mut Vec<u8>) {
    // Digits were checked, so the fallback nibble is never used.
    let nib = |c: u8| nibble(c, track).unwrap_or(0);
    let mut rest = digits;
    if digits.len() % 2 == 1 && align == Align::Right {
        out.push(nib(digits[0]));
        rest = &digits[1..];
    }
    let mut pairs = rest.chunks_exact(2);
    for pair in &mut pairs {
        out.push((nib(pair[0]) << 4) | nib(pair[1]));
    }
    if let [last] = pairs.remainder() {
        out.push(nib(*last) << 4);
    }
}

/// Unpacks `count` digits from `bytes` (exactly `(count + 1) / 2` of them).
/// Digit nibbles must be 0-9 (and D in track data); the pad nibble of an
/// odd count may be 0 or F, since some hosts pad track data with F.
pub(crate) fn read_digits(
    field: u8,
    bytes: &[u8],
    count: usize,
    align: Align,
    track: bool,
) -> Result<String, CodecError> {
    let mut out = String::with_capacity(count);
    let skip_first = count % 2 == 1 && align == Align::Right;
    let nibbles = bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]);
    for (i, n) in nibbles.enumerate() {
        let is_pad = if skip_first { i == 0 } else { i == count };
        if is_pad {
            if n != 0 && n != 0xF {
                return Err(CodecError::field(
                    field,
                    format!("pad nibble of an odd-length value is {n:X}, expected 0"),
                ));
            }
            continue;
        }
        match n {
            0..=9 => out.push((b'0' + n) as char),
            0xD if track => out.push('D'),
            _ => {
                let what = if track { "a digit or D" } else { "a digit" };
                return Err(CodecError::field(
                    field,
                    format!("nibble {} is {n:X}, not {what}", i + 1),
                ));
            }
        }
    }
    Ok(out)
}

/// The value of BCD bytes (a length prefix or the MTI), `None` if any
/// nibble is above 9.
#[inline]
pub(crate) fn bcd_value(bytes: &[u8]) -> Option<usize> {
    bytes.iter().try_fold(0usize, |acc, &b| {
        let (hi, lo) = (b >> 4, b & 0x0F);
        (hi <= 9 && lo <= 9).then_some(acc * 100 + (hi * 10 + lo) as usize)
    })
}

/// Writes `value` as `width` BCD bytes; the caller keeps it below 100^width.
#[inline]
pub(crate) fn write_bcd(value: usize, width: usize, out: &mut Vec<u8>) {
    for i in (0..width).rev() {
        let pair = (value / 100usize.pow(i as u32)) % 100;
        out.push((((pair / 10) << 4) | (pair % 10)) as u8);
    }
}
