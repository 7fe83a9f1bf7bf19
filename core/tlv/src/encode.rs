//! BER-TLV encoding, and an owned tree for building responses and messages.

use crate::decode::{Tlv, TlvIter};
use crate::error::TlvError;
use crate::tag::Tag;

/// Appends a length field in the shortest form.
pub fn write_length(len: usize, out: &mut Vec<u8>) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xFFFF => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        _ => out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]),
    }
}

/// Appends one object.
pub fn write_tlv(tag: Tag, value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&tag.to_bytes());
    write_length(value.len(), out);
    out.extend_from_slice(value);
}

/// One object, encoded.
pub fn encode(tag: Tag, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    write_tlv(tag, value, &mut out);
    out
}

/// An owned data object: a value, or (for a constructed tag) children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Primitive { tag: Tag, value: Vec<u8> },
    Constructed { tag: Tag, children: Vec<Node> },
}

impl Node {
    pub fn primitive(tag: Tag, value: impl Into<Vec<u8>>) -> Self {
        Node::Primitive {
            tag,
            value: value.into(),
        }
    }

    pub fn constructed(tag: Tag, children: Vec<Node>) -> Self {
        Node::Constructed { tag, children }
    }

    pub fn tag(&self) -> Tag {
        match self {
            Node::Primitive { tag, .. } | Node::Constructed { tag, .. } => *tag,
        }
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Node::Primitive { tag, value } => write_tlv(*tag, value, out),
            Node::Constructed { tag, children } => {
                let mut inner = Vec::new();
                children.iter().for_each(|c| c.write(&mut inner));
                write_tlv(*tag, &inner, out);
            }
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    /// An owned copy of a decoded object, children decoded too.
    pub fn from_tlv(tlv: &Tlv<'_>) -> Result<Self, TlvError> {
        if tlv.is_constructed() {
            Ok(Node::Constructed {
                tag: tlv.tag(),
                children: Node::parse_iter(tlv.children())?,
            })
        } else {
            Ok(Node::primitive(tlv.tag(), tlv.value()))
        }
    }

    /// Decodes a whole byte string into owned trees.
    pub fn parse_all(input: &[u8]) -> Result<Vec<Node>, TlvError> {
        Node::parse_iter(TlvIter::new(input))
    }

    fn parse_iter(iter: TlvIter<'_>) -> Result<Vec<Node>, TlvError> {
        iter.map(|t| Node::from_tlv(&t?)).collect()
    }
}

/// Encodes a sequence of nodes back to back.
pub fn encode_all(nodes: &[Node]) -> Vec<u8> {
    let mut out = Vec::new();
    nodes.iter().for_each(|n| n.write(&mut out));
    out
}
