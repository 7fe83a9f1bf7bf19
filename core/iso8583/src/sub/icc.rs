//! Field 55: the ICC data objects the kernel exchanges with the issuer
//! (ARQC and its inputs out; ARPC, issuer scripts 71/72 in), as BER-TLV.

use poskit_tlv::{Tag, TlvIter, write_tlv};

use crate::error::CodecError;

/// The top-level data objects of field 55, in order. Templates (71, 72
/// issuer scripts) come back whole: their value is the encoded content,
/// ready to hand to the kernel.
pub fn field55_tlvs(data: &[u8]) -> Result<Vec<(Tag, Vec<u8>)>, CodecError> {
    TlvIter::new(data)
        .map(|item| {
            item.map(|tlv| (tlv.tag(), tlv.value().to_vec()))
                .map_err(|e| CodecError::field(55, e.to_string()))
        })
        .collect()
}

/// Encodes data objects for field 55, in the order given.
pub fn build_field55<'a>(objects: impl IntoIterator<Item = (Tag, &'a [u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, value) in objects {
        write_tlv(tag, value, &mut out);
    }
    out
}
