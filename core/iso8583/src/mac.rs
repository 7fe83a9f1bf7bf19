//! The MAC block (MAB) of the UnionPay "ECB" MAC: the bytes from the MTI up
//! to, not including, field 64. Computing the MAC itself needs the MAC key
//! and lives in poskit-crypto; this module only says which bytes it covers.

/// The MAC block of a packed message (MTI onwards, no frame).
///
/// With `has_field_64`, field 64 is the last 8 bytes (it is the last field
/// of the cup dialect, and fixed `b8`), so they are left out. To MAC an
/// outgoing message, pack it with eight zero bytes in field 64, take this
/// block, compute the MAC and write it over the last 8 bytes. A "packed
/// message" shorter than 8 bytes with field 64 gives an empty block rather
/// than a panic; no real message is that short (MTI and bitmap are 10).
pub fn mab(packed: &[u8], has_field_64: bool) -> &[u8] {
    if has_field_64 {
        &packed[..packed.len().saturating_sub(8)]
    } else {
        packed
    }
}

/// Whether a packed message's primary bitmap has bit 64 set: lets a
/// receiver find the MAC without unpacking. `None` if too short to tell.
pub fn has_field_64(packed: &[u8]) -> Option<bool> {
    packed.get(9).map(|last_bitmap_byte| last_bitmap_byte & 0x01 != 0)
}
