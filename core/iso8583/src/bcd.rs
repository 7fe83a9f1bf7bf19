//! Packed BCD: digits two to a byte, the `D` track separator, and the
//! BCD length prefixes of LLVAR and LLLVAR fields.

use crate::dialect::Align;
use crate::error::CodecError;

/// Marks a character that is not allowed, in the tables below.
const BAD: u8 = 0xFF;

/// The nibble of each character: digits only...
const TO_NIBBLE: [u8; 256] = nibble_table(false);
/// ...and in track (`z`) data also the separator, `D` or `=`.
const TO_NIBBLE_TRACK: [u8; 256] = nibble_table(true);

const fn nibble_table(track: bool) -> [u8; 256] {
    let mut table = [BAD; 256];
    let mut c = 0;
    while c < 10 {
        table[b'0' as usize + c] = c as u8;
        c += 1;
    }
    if track {
        table[b'D' as usize] = 0xD;
        table[b'd' as usize] = 0xD;
        table[b'=' as usize] = 0xD;
    }
    table
}

/// Packs `digits`; an odd count gets a `0` pad nibble at the end `align`
/// leaves free (first for `Right`, last for `Left`). One pass checks and
/// packs. The error gives the position, never the character: it may be
/// part of a PAN.
pub(crate) fn write_digits(
    field: u8,
    digits: &[u8],
    align: Align,
    track: bool,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let table = if track { &TO_NIBBLE_TRACK } else { &TO_NIBBLE };
    let nib = |c: &u8| table[*c as usize];
    let mut bad = 0;
    let mut rest = digits;
    if let (1, Align::Right, Some((first, tail))) = (digits.len() % 2, align, digits.split_first()) {
        bad |= nib(first);
        out.push(nib(first));
        rest = tail;
    }
    let pairs = rest.chunks_exact(2);
    let last = pairs.remainder().first();
    // Sized once and written in place, without a capacity check per byte:
    // this loop is most of pack's time.
    let start = out.len();
    out.resize(start + rest.len() / 2, 0);
    for (slot, pair) in out[start..].iter_mut().zip(pairs) {
        let (hi, lo) = (nib(&pair[0]), nib(&pair[1]));
        bad |= hi | lo;
        *slot = (hi << 4) | (lo & 0x0F);
    }
    if let Some(last) = last {
        bad |= nib(last);
        out.push(nib(last) << 4);
    }
    // Every valid nibble is below 0x10, so any BAD shows in the high bits.
    if bad & 0xF0 == 0 {
        return Ok(());
    }
    let at = digits.iter().position(|c| nib(c) == BAD).unwrap_or(0) + 1;
    let what = if track {
        "a digit or the track separator D (=)"
    } else {
        "a digit"
    };
    Err(CodecError::field(field, format!("character {at} is not {what}")))
}

/// ASCII for each nibble of numeric data. A nibble that is not a digit
/// becomes 0x80, which is not UTF-8 on its own: the UTF-8 check that
/// makes the `String` finds it without a pass of its own.
const NUMERIC: [u8; 16] = *b"0123456789\x80\x80\x80\x80\x80\x80";
/// Track data adds `D`, the field separator.
const TRACK: [u8; 16] = *b"0123456789\x80\x80\x80D\x80\x80";
/// Both nibbles of every byte at once, for the loop over whole bytes.
const NUMERIC_PAIRS: [[u8; 2]; 256] = pair_table(&NUMERIC);
const TRACK_PAIRS: [[u8; 2]; 256] = pair_table(&TRACK);

const fn pair_table(nibbles: &[u8; 16]) -> [[u8; 2]; 256] {
    let mut table = [[0; 2]; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = [nibbles[b >> 4], nibbles[b & 0x0F]];
        b += 1;
    }
    table
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
    let (table, pairs) = if track {
        (&TRACK, &TRACK_PAIRS)
    } else {
        (&NUMERIC, &NUMERIC_PAIRS)
    };
    let bad_pad = |pad: u8| {
        CodecError::field(
            field,
            format!("pad nibble of an odd-length value is {pad:X}, expected 0"),
        )
    };
    let odd = count % 2 == 1;
    let mut out = Vec::with_capacity(count);
    let mut body = bytes;
    let mut tail = None;
    if odd {
        match align {
            Align::Right => {
                if let Some((first, rest)) = body.split_first() {
                    if !matches!(first >> 4, 0 | 0xF) {
                        return Err(bad_pad(first >> 4));
                    }
                    out.push(table[(first & 0x0F) as usize]);
                    body = rest;
                }
            }
            Align::Left => {
                if let Some((last, rest)) = body.split_last() {
                    if !matches!(last & 0x0F, 0 | 0xF) {
                        return Err(bad_pad(last & 0x0F));
                    }
                    tail = Some(table[(last >> 4) as usize]);
                    body = rest;
                }
            }
        }
    }
    // Whole bytes: both digits at once from the pair table.
    for &b in body {
        out.extend_from_slice(&pairs[b as usize]);
    }
    out.extend(tail);
    String::from_utf8(out).map_err(|e| {
        // The first non-digit: its nibble number in the field's bytes.
        let digit = e.utf8_error().valid_up_to();
        let i = digit + usize::from(odd && align == Align::Right);
        let byte = bytes.get(i / 2).copied().unwrap_or(0);
        let n = if i % 2 == 0 { byte >> 4 } else { byte & 0x0F };
        let what = if track { "a digit or D" } else { "a digit" };
        CodecError::field(field, format!("nibble {} is {n:X}, not {what}", i + 1))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(digits: &str, align: Align, track: bool) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        write_digits(7, digits.as_bytes(), align, track, &mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    fn unpack(bytes: &[u8], count: usize, align: Align, track: bool) -> Result<String, String> {
        read_digits(7, bytes, count, align, track).map_err(|e| e.to_string())
    }

    #[test]
    fn odd_counts_pad_on_the_free_side() {
        assert_eq!(pack("123", Align::Right, false).unwrap(), [0x01, 0x23]);
        assert_eq!(pack("123", Align::Left, false).unwrap(), [0x12, 0x30]);
        assert_eq!(pack("1", Align::Right, false).unwrap(), [0x01]);
        assert_eq!(pack("", Align::Left, false).unwrap(), [] as [u8; 0]);
        assert_eq!(unpack(&[0x01, 0x23], 3, Align::Right, false).unwrap(), "123");
        assert_eq!(unpack(&[0x12, 0x30], 3, Align::Left, false).unwrap(), "123");
        assert_eq!(unpack(&[0xF1, 0x23], 3, Align::Right, false).unwrap(), "123");
        assert_eq!(unpack(&[0x12, 0x3F], 3, Align::Left, false).unwrap(), "123");
    }

    #[test]
    fn track_separator_both_ways() {
        assert_eq!(pack("12=4", Align::Left, true).unwrap(), [0x12, 0xD4]);
        assert_eq!(pack("12d4", Align::Left, true).unwrap(), [0x12, 0xD4]);
        assert_eq!(unpack(&[0x12, 0xD4], 4, Align::Left, true).unwrap(), "12D4");
        assert_eq!(
            unpack(&[0x12, 0xD4], 4, Align::Left, false).unwrap_err(),
            "field 7: nibble 3 is D, not a digit"
        );
    }

    #[test]
    fn errors_point_at_the_bad_character_or_nibble() {
        assert_eq!(
            pack("12A", Align::Right, false).unwrap_err(),
            "field 7: character 3 is not a digit"
        );
        assert_eq!(
            pack("A23", Align::Right, false).unwrap_err(),
            "field 7: character 1 is not a digit"
        );
        assert_eq!(
            pack("12=", Align::Left, false).unwrap_err(),
            "field 7: character 3 is not a digit"
        );
        assert_eq!(
            pack("1X", Align::Left, true).unwrap_err(),
            "field 7: character 2 is not a digit or the track separator D (=)"
        );
        // Right-aligned odd: nibble 1 is the pad, the digits start at 2.
        assert_eq!(
            unpack(&[0x0A, 0x23], 3, Align::Right, false).unwrap_err(),
            "field 7: nibble 2 is A, not a digit"
        );
        assert_eq!(
            unpack(&[0x12, 0xB0], 3, Align::Left, false).unwrap_err(),
            "field 7: nibble 3 is B, not a digit"
        );
        assert_eq!(
            unpack(&[0x12, 0x35], 3, Align::Left, false).unwrap_err(),
            "field 7: pad nibble of an odd-length value is 5, expected 0"
        );
        assert_eq!(
            unpack(&[0x51, 0x23], 3, Align::Right, false).unwrap_err(),
            "field 7: pad nibble of an odd-length value is 5, expected 0"
        );
    }

    #[test]
    fn bcd_lengths() {
        let mut out = Vec::new();
        write_bcd(322, 2, &mut out);
        write_bcd(19, 1, &mut out);
        assert_eq!(out, [0x03, 0x22, 0x19]);
        assert_eq!(bcd_value(&[0x03, 0x22]), Some(322));
        assert_eq!(bcd_value(&[0x0A]), None);
        assert_eq!(bcd_value(&[]), Some(0));
    }
}
