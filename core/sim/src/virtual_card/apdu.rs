//! Command APDUs in, response APDUs out (ISO/IEC 7816-4 short length,
//! EMV 4.3 Book 1 9.4 / Book 3 6.3).

/// A status word. Book 3 6.3.5 lists the ones an EMV card uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sw(pub u16);

impl Sw {
    pub const OK: Sw = Sw(0x9000);
    /// Selected file invalidated: a blocked application still answers
    /// SELECT with its FCI (Book 1 12.3.2).
    pub const SELECTED_FILE_INVALIDATED: Sw = Sw(0x6283);
    /// EXTERNAL AUTHENTICATE: the ARPC did not verify.
    pub const AUTHENTICATION_FAILED: Sw = Sw(0x6300);
    pub const WRONG_LENGTH: Sw = Sw(0x6700);
    pub const SECURITY_STATUS: Sw = Sw(0x6982);
    /// VERIFY: the PIN try counter is zero.
    pub const PIN_BLOCKED: Sw = Sw(0x6983);
    pub const CONDITIONS_NOT_SATISFIED: Sw = Sw(0x6985);
    /// Issuer script: the MAC did not verify.
    pub const SM_DATA_INCORRECT: Sw = Sw(0x6988);
    pub const INCORRECT_DATA: Sw = Sw(0x6A80);
    /// The card is blocked: no application can be selected.
    pub const FUNCTION_NOT_SUPPORTED: Sw = Sw(0x6A81);
    pub const FILE_NOT_FOUND: Sw = Sw(0x6A82);
    pub const RECORD_NOT_FOUND: Sw = Sw(0x6A83);
    pub const INCORRECT_P1_P2: Sw = Sw(0x6A86);
    pub const DATA_NOT_FOUND: Sw = Sw(0x6A88);
    pub const INS_NOT_SUPPORTED: Sw = Sw(0x6D00);
    pub const CLA_NOT_SUPPORTED: Sw = Sw(0x6E00);
    /// An internal error with no precise diagnosis (ISO 7816-4 5.1.3).
    pub const NO_DIAGNOSIS: Sw = Sw(0x6F00);

    /// VERIFY with a wrong PIN: 63Cx, x tries left (Book 3 6.5.12.4).
    pub fn tries_left(tries: u8) -> Sw {
        Sw(0x63C0 | u16::from(tries.min(15)))
    }

    pub fn bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }
}

/// A parsed command APDU, borrowing its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: &'a [u8],
    /// Present for cases 2 and 4; 0 stands for 256.
    pub le: Option<u8>,
}

impl<'a> Command<'a> {
    /// Reads a short-length APDU: case 1 (header), 2 (header Le), 3 (header
    /// Lc data) or 4 (header Lc data Le). EMV cards do not use extended
    /// lengths (Book 1 9.4.1), so Lc = 00 followed by more bytes is refused.
    pub fn parse(bytes: &'a [u8]) -> Result<Command<'a>, Sw> {
        let [cla, ins, p1, p2, rest @ ..] = bytes else {
            return Err(Sw::WRONG_LENGTH);
        };
        let (data, le) = match rest {
            [] => (&[][..], None),
            [le] => (&[][..], Some(*le)),
            [0, ..] => return Err(Sw::WRONG_LENGTH),
            [lc, body @ ..] => {
                let lc = usize::from(*lc);
                match body.len() {
                    n if n == lc => (body, None),
                    n if n == lc + 1 => (&body[..lc], body.last().copied()),
                    _ => return Err(Sw::WRONG_LENGTH),
                }
            }
        };
        Ok(Command {
            cla: *cla,
            ins: *ins,
            p1: *p1,
            p2: *p2,
            data,
            le,
        })
    }

    pub fn p1p2(&self) -> u16 {
        u16::from_be_bytes([self.p1, self.p2])
    }
}

/// A response: data then the status word.
pub fn respond(data: &[u8], sw: Sw) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 2);
    out.extend_from_slice(data);
    out.extend_from_slice(&sw.bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_cases() {
        let c = Command::parse(&[0x00, 0x84, 0x00, 0x00]).unwrap();
        assert_eq!((c.data, c.le), (&[][..], None));
        let c = Command::parse(&[0x00, 0x84, 0x00, 0x00, 0x00]).unwrap();
        assert_eq!(c.le, Some(0));
        let c = Command::parse(&[0x00, 0x20, 0x00, 0x80, 0x02, 0xAA, 0xBB]).unwrap();
        assert_eq!((c.data, c.le), (&[0xAA, 0xBB][..], None));
        let c = Command::parse(&[0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00]).unwrap();
        assert_eq!((c.data, c.le), (&[0x83, 0x00][..], Some(0)));
    }

    #[test]
    fn bad_lengths_are_6700() {
        for bad in [
            &[0x00][..],
            &[0x00, 0xA4, 0x04],
            &[0x00, 0xA4, 0x04, 0x00, 0x05, 0x01],
            &[0x00, 0xA4, 0x04, 0x00, 0x01, 0x01, 0x02, 0x03],
            &[0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x01, 0x01],
        ] {
            assert_eq!(Command::parse(bad), Err(Sw::WRONG_LENGTH), "{bad:02X?}");
        }
    }
}
