//! BER-TLV decoding for foreign callers: the tree of a card or host
//! response as plain records.

use poskit_tlv::{Tlv, TlvError};

use crate::error::PosKitError;

/// One decoded data object.
///
/// A primitive object has its `value` and no `children`; a constructed one
/// (a template such as `6F` or `70`) has its `children` and an empty
/// `value`, so the bytes cross the boundary once.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TlvNode {
    /// The tag in uppercase hex, e.g. `9F02`.
    pub tag: String,
    pub constructed: bool,
    pub value: Vec<u8>,
    pub children: Vec<TlvNode>,
}

impl TryFrom<Tlv<'_>> for TlvNode {
    type Error = TlvError;

    // Recursion is bounded: poskit-tlv refuses nesting beyond MAX_DEPTH.
    fn try_from(tlv: Tlv<'_>) -> Result<Self, TlvError> {
        let constructed = tlv.is_constructed();
        Ok(Self {
            tag: tlv.tag().to_string(),
            constructed,
            value: if constructed {
                Vec::new()
            } else {
                tlv.value().to_vec()
            },
            children: tlv
                .children()
                .map(|c| c.and_then(TlvNode::try_from))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Decodes BER-TLV data (a whole card response or record) into its tree.
/// Fails with `MalformedData` if any object, at any depth, is malformed.
#[uniffi::export]
pub fn decode_tlv(data: Vec<u8>) -> Result<Vec<TlvNode>, PosKitError> {
    Ok(poskit_tlv::parse(&data)?
        .into_iter()
        .map(TlvNode::try_from)
        .collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_template_into_a_tree() {
        // FCI: 6F { 84 = AID A0000000031010, A5 { 50 = "VISA" } }
        let data = hex::decode("6F1184 07A0000000031010 A506 5004 56495341".replace(' ', "")).unwrap();
        let nodes = decode_tlv(data).unwrap();
        assert_eq!(nodes.len(), 1);
        let fci = &nodes[0];
        assert_eq!(
            (fci.tag.as_str(), fci.constructed, fci.value.len()),
            ("6F", true, 0)
        );
        assert_eq!(fci.children[0].tag, "84");
        assert_eq!(fci.children[0].value, hex::decode("A0000000031010").unwrap());
        let a5 = &fci.children[1];
        assert_eq!(a5.children[0].tag, "50");
        assert_eq!(a5.children[0].value, b"VISA");
    }

    #[test]
    fn malformed_child_fails_the_whole_decode() {
        // 70 { 5A announces 8 bytes, 2 follow }
        let err = decode_tlv(vec![0x70, 0x04, 0x5A, 0x08, 0x12, 0x34]).unwrap_err();
        assert_eq!(err.code(), 1100);
    }
}
