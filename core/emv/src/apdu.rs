//! Command APDUs the kernel sends (EMV Book 3 section 6.5) and the parts of
//! a response APDU.

use crate::error::KernelError;

/// SELECT by DF name (Book 1 11.3). `next` asks for the next occurrence
/// (partial selection, Book 1 12.3.3).
pub fn select(name: &[u8], next: bool) -> Vec<u8> {
    with_data([0x00, 0xA4, 0x04, if next { 0x02 } else { 0x00 }], name, Some(0))
}

/// GET PROCESSING OPTIONS with the PDOL data in template 83.
pub fn get_processing_options(pdol_data: &[u8]) -> Vec<u8> {
    let mut body = vec![0x83];
    poskit_tlv::write_length(pdol_data.len(), &mut body);
    body.extend_from_slice(pdol_data);
    with_data([0x80, 0xA8, 0x00, 0x00], &body, Some(0))
}

/// READ RECORD `record` of short file `sfi`.
pub fn read_record(sfi: u8, record: u8) -> Vec<u8> {
    vec![0x00, 0xB2, record, (sfi << 3) | 0x04, 0x00]
}

/// GET DATA for a two-byte tag such as 9F36, 9F13, 9F17.
pub fn get_data(tag: u16) -> Vec<u8> {
    let [p1, p2] = tag.to_be_bytes();
    vec![0x80, 0xCA, p1, p2, 0x00]
}

pub fn get_challenge() -> Vec<u8> {
    vec![0x00, 0x84, 0x00, 0x00, 0x00]
}

/// VERIFY: P2 80 for a plaintext PIN block, 88 for an enciphered one.
pub fn verify(p2: u8, data: &[u8]) -> Vec<u8> {
    with_data([0x00, 0x20, 0x00, p2], data, None)
}

pub fn internal_authenticate(ddol_data: &[u8]) -> Vec<u8> {
    with_data([0x00, 0x88, 0x00, 0x00], ddol_data, Some(0))
}

/// GENERATE AC; `p1` is the reference control parameter (Book 3 table 12).
pub fn generate_ac(p1: u8, cdol_data: &[u8]) -> Vec<u8> {
    with_data([0x80, 0xAE, p1, 0x00], cdol_data, Some(0))
}

pub fn external_authenticate(issuer_authentication_data: &[u8]) -> Vec<u8> {
    with_data([0x00, 0x82, 0x00, 0x00], issuer_authentication_data, None)
}

/// GET RESPONSE after `61 xx` (T=0, Book 1 9.3.1.3).
pub fn get_response(le: u8) -> Vec<u8> {
    vec![0x00, 0xC0, 0x00, 0x00, le]
}

fn with_data(header: [u8; 4], data: &[u8], le: Option<u8>) -> Vec<u8> {
    let mut out = header.to_vec();
    // Short APDUs only: EMV data fields fit in 255 bytes.
    out.push(data.len().min(255) as u8);
    out.extend_from_slice(&data[..data.len().min(255)]);
    out.extend(le);
    out
}

/// The same command with its Le byte replaced (after `6C xx`).
pub fn with_le(command: &[u8], le: u8) -> Vec<u8> {
    let mut out = command.to_vec();
    match out.len() {
        0..=3 => {}
        4 => out.push(le),
        5 => out[4] = le,
        n => {
            let lc = out[4] as usize;
            if n == 5 + lc {
                out.push(le);
            } else {
                out[n - 1] = le;
            }
        }
    }
    out
}

/// Status words the kernel acts on.
pub mod sw {
    pub const OK: u16 = 0x9000;
    pub const FILE_NOT_FOUND: u16 = 0x6A82;
    pub const RECORD_NOT_FOUND: u16 = 0x6A83;
    pub const FUNCTION_NOT_SUPPORTED: u16 = 0x6A81;
    pub const CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
    pub const AUTH_METHOD_BLOCKED: u16 = 0x6983;
    pub const SELECTED_FILE_INVALIDATED: u16 = 0x6283;
    pub const WRONG_LENGTH: u16 = 0x6700;
}

/// A response APDU split into data and status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    pub data: &'a [u8],
    pub sw: u16,
}

impl<'a> Response<'a> {
    pub fn parse(rapdu: &'a [u8]) -> Result<Self, KernelError> {
        let Some((data, sw)) = rapdu.split_last_chunk::<2>() else {
            return Err(KernelError::CardProtocol(
                "card answered with fewer than two bytes",
            ));
        };
        Ok(Self {
            data,
            sw: u16::from_be_bytes(*sw),
        })
    }

    pub fn ok(&self) -> bool {
        self.sw == sw::OK
    }

    /// 63Cx: a wrong PIN with x tries left (Book 3 6.5.12).
    pub fn pin_tries_left(&self) -> Option<u8> {
        (self.sw & 0xFFF0 == 0x63C0).then_some((self.sw & 0x0F) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_well_formed() {
        assert_eq!(
            select(b"2PAY.SYS.DDF01", false),
            hex::decode("00A404000E325041592E5359532E444446303100").unwrap()
        );
        assert_eq!(
            get_processing_options(&[]),
            hex::decode("80A8000002830000").unwrap()
        );
        assert_eq!(read_record(1, 2), hex::decode("00B2020C00").unwrap());
        assert_eq!(get_data(0x9F36), hex::decode("80CA9F3600").unwrap());
        assert_eq!(
            verify(0x80, &[0x24, 0x12, 0x34]),
            hex::decode("0020008003241234").unwrap()
        );
        assert_eq!(
            with_le(&hex::decode("00A4040005A000000003").unwrap(), 1),
            hex::decode("00A4040005A00000000301").unwrap()
        );
        assert_eq!(
            with_le(&hex::decode("00A4040005A00000000300").unwrap(), 1),
            hex::decode("00A4040005A00000000301").unwrap()
        );
        assert_eq!(
            with_le(&[0x00, 0xB2, 0x01, 0x0C, 0x00], 0x20),
            [0x00, 0xB2, 0x01, 0x0C, 0x20]
        );
    }

    #[test]
    fn responses() {
        let r = Response::parse(&[0x63, 0xC2]).unwrap();
        assert_eq!(r.pin_tries_left(), Some(2));
        assert!(Response::parse(&[0x90]).is_err());
        assert!(Response::parse(&[0x6F, 0x00, 0x90, 0x00]).unwrap().ok());
    }
}
