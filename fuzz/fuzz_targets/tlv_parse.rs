//! Any bytes as a card response: decoding never panics, and whatever
//! decodes re-encodes to an equivalent tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poskit_tlv::{Node, Tag, encode_all, find, primitives, validate};

fuzz_target!(|data: &[u8]| {
    let _ = validate(data);
    let _ = primitives(data);
    let _ = find(data, Tag(0x9F02));
    if let Ok(nodes) = Node::parse_all(data) {
        let again = Node::parse_all(&encode_all(&nodes)).expect("re-encoded data decodes");
        assert_eq!(nodes, again);
    }
});
