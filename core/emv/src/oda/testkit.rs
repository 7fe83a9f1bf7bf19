//! Test-only card personalisation: RSA keys generated once with `openssl
//! genrsa` (private exponents included, for these tests only; they protect
//! nothing), and an issuer's tools that build certificates and signatures
//! as Book 2 lays them out. Tests make good data, then break one field.

use num_bigint::BigUint;
use poskit_crypto::hash::sha1;

use crate::config::CaPublicKey;

// Test CA key, 1408 bits, e = 3.
const CA_N: &str = "\
    CA8D589B776BEED1B8E100272B8C571A9891BDCB13D354A38D6040D8F59DB810\
    BED47F4DB5B2FC8F980E47B838A160C4E0B0FAA1012241E195A6EA1ABFEF2404\
    192C07764481BF0412018D280B50209AEA590AEDB2E3D38726DCDA198A519A84\
    0B8DF6FC9EDE4DF271C2DDC0B03A69021CFAE390E8C5D9165E661B979DC6C875\
    0AB7830A79F2625D8AC6E6A9F7913C307861DE5AAA83C3B89DB5C5E1861B245E\
    B34D3B1DC2241C0413D43148B64574ED";
const CA_D: &str = "\
    8708E5BCFA47F48BD096001A1D083A11BB0BD3DCB7E2386D08EAD5E5F913D00B\
    29E2FF8923CCA85FBAB42FD025C0EB2DEB20A71600C181410E6F46BC7FF4C2AD\
    661D5A4ED8567F580C0108C55CE015BC9C3B5C9E77428D0393D707A972A94E5A\
    5091689FE09AC4F4BBF29F25C660579C40F5ABE2BEEBF1384F9AFD6C67B03672\
    97D707B130962629D412451B5971A17C5FAE837C5B25A8F536CBE73BF7226CC4\
    2B91A828362298E456C63A60C2C3726B";

// Test issuer key, 1152 bits, e = 3: longer than N_CA - 36, so it needs a remainder.
const ISSUER_N: &str = "\
    A937F972D3909132FC1B326C4D6EF63DB8D7015CB18F322030A8290EE1F05A02\
    700FA5A09FC3DEFAB3E3CF4F3AE7398A731192DBABDE30F5C7F96ABDE3C51571\
    F70079D11B28C92280D834E7364923F2FEC8780F8B4BD762B2D6CD0C1267D499\
    FB2EAC87B19F79921B97FA1D93B64E349D2799C5FBC4BDA337345616E676993C\
    7FD3656E529C389DDDA324702437BE61";
const ISSUER_D: &str = "\
    70CFFBA1E26060CCA812219D88F4A42925E4AB93210A216ACB1AC609EBF59156\
    F55FC3C06A8294A72297DF8A2744D106F7610C92729420A3DAA64729428363A1\
    4F55A68B67708615EA864551C51077D3572D1AB18487D5E0A895913ED7BCFECE\
    C7E069F8FD2BA1F9FB53757F2811760A5D5F99B3D170580EA04AF19FEB836323\
    2CB3CF507C8F76F538438E82ACA965CB";

// Test ICC key, 1024 bits, e = 65537: longer than N_I - 42, so it needs a remainder.
const ICC_N: &str = "\
    E363C08EB34A4211B649CC00C2D94644510A740384428A6776A17AB67C79386D\
    4664FAD0B54345EC06902C4093176E186AAA9C32EB2968E41C32340CFD918CD2\
    CF960641F122E098B828697D5531A129A36CF0E8A146FE89E1CCBE477309E509\
    B884E2C8040804EADB7CC5F23F768513962F6B52C9019CED0BD1DBF67CF5506D";
const ICC_D: &str = "\
    5DEC5017215B64DAE80EA7631118A9FB81F5ED619E79D5AD52C4F468F8152207\
    90F218DFA85F773C3CA1C4858FBC37CF820FA2A12D9D572411B972E282C26205\
    D233B4F12D792EB4C54AC84345BE02AF12C85EA8B3869C5E9C7E8CCF356B017D\
    6EC03CF1EA40ECF01ECD3E56F6AFD0E1D16D084F031C0F1C5DD1760A135CA4C1";

// Small test ICC key, 768 bits, e = 3: fits in its certificate with BB padding.
const ICC768_N: &str = "\
    ABBC0F7CBB147A688BEDD9E45E518C941689A77402044BD2D32C800BEB51E5E9\
    2E7F0363ACCB1A4E61EE40A9E9DB11FCE9851A86900680B1C02258A7EA30E156\
    42717FBD95B90CF8341F5BF1B2F856AC651F7EA81501788B205B6D6AE06D6F61";
const ICC768_D: &str = "\
    727D5FA87CB8519B07F3E6983EE10862B9B11A4D56AD87E1E21DAAB29CE143F0\
    C9AA024273321189969ED5C69BE761522DD1143B9EF53A33CC8380973A358E26\
    989D74FD2270E51E737D75E638932F94A75A85742098444C4F2BF4EF9B2E932B";

/// An RSA key pair used to sign test certificates and data.
pub struct TestKey {
    n: BigUint,
    d: BigUint,
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
}

impl TestKey {
    fn from_hex(n: &str, d: &str, exponent: &[u8]) -> TestKey {
        let modulus = hex::decode(n).unwrap();
        TestKey {
            n: BigUint::from_bytes_be(&modulus),
            d: BigUint::from_bytes_be(&hex::decode(d).unwrap()),
            modulus,
            exponent: exponent.to_vec(),
        }
    }

    pub fn ca() -> TestKey {
        Self::from_hex(CA_N, CA_D, &[3])
    }

    pub fn issuer() -> TestKey {
        Self::from_hex(ISSUER_N, ISSUER_D, &[3])
    }

    pub fn icc() -> TestKey {
        Self::from_hex(ICC_N, ICC_D, &[1, 0, 1])
    }

    pub fn small_icc() -> TestKey {
        Self::from_hex(ICC768_N, ICC768_D, &[3])
    }

    pub fn len(&self) -> usize {
        self.modulus.len()
    }

    /// The RSA private operation, left-padded to the modulus length.
    pub fn sign(&self, block: &[u8]) -> Vec<u8> {
        assert_eq!(block.len(), self.len());
        let s = BigUint::from_bytes_be(block)
            .modpow(&self.d, &self.n)
            .to_bytes_be();
        let mut out = vec![0; self.len() - s.len()];
        out.extend(s);
        out
    }

    /// Signs header 6A, the fields, the hash and trailer BC: the layout of
    /// every Book 2 certificate and signature.
    pub fn sign_frame(&self, fields: &[u8], hash: &[u8; 20]) -> Vec<u8> {
        let block = [&[0x6A][..], fields, hash, &[0xBC]].concat();
        self.sign(&block)
    }

    /// This key as a terminal's CA key entry, checksum included.
    pub fn as_ca_key(&self, rid: [u8; 5], index: u8, expiry: &str) -> CaPublicKey {
        let mut input = rid.to_vec();
        input.push(index);
        input.extend(&self.modulus);
        input.extend(&self.exponent);
        CaPublicKey {
            rid,
            index,
            modulus: self.modulus.clone(),
            exponent: self.exponent.clone(),
            expiry: expiry.into(),
            checksum: sha1(&input).to_vec(),
        }
    }
}

fn hash_of(parts: &[&[u8]], corrupt: bool) -> [u8; 20] {
    let mut hash = sha1(&parts.concat());
    if corrupt {
        hash[7] ^= 0x01;
    }
    hash
}

/// The fields of an issuer (Book 2 table 6) or ICC (table 14) public key
/// certificate before the signer signs them.
#[derive(Clone)]
pub struct Cert {
    pub format: u8,
    /// Issuer identifier (4 bytes) or Application PAN (10 bytes).
    pub subject: Vec<u8>,
    pub expiry: [u8; 2],
    pub serial: [u8; 3],
    pub hash_algorithm: u8,
    pub key_algorithm: u8,
    /// Replaces the real key length in the certificate when set.
    pub key_len: Option<u8>,
    pub corrupt_hash: bool,
}

/// A signed certificate and the key remainder the card carries next to it.
pub struct Issued {
    pub certificate: Vec<u8>,
    pub remainder: Vec<u8>,
}

impl Issued {
    /// The remainder as the card gives it: absent when empty.
    pub fn remainder(&self) -> Option<&[u8]> {
        (!self.remainder.is_empty()).then_some(&self.remainder[..])
    }
}

impl Cert {
    pub fn issuer(identifier: [u8; 4], expiry: [u8; 2], serial: [u8; 3]) -> Cert {
        Cert {
            format: 0x02,
            subject: identifier.to_vec(),
            expiry,
            serial,
            hash_algorithm: 0x01,
            key_algorithm: 0x01,
            key_len: None,
            corrupt_hash: false,
        }
    }

    pub fn icc(pan: &[u8], expiry: [u8; 2]) -> Cert {
        let mut subject = pan.to_vec();
        subject.resize(10, 0xFF);
        Cert {
            format: 0x04,
            subject,
            serial: [0x00, 0x00, 0x07],
            ..Cert::issuer([0; 4], expiry, [0; 3])
        }
    }

    /// `signer` certifies `subject`'s public key; `extra` is hashed after
    /// the exponent (the static data, for an ICC certificate).
    pub fn issue(&self, signer: &TestKey, subject: &TestKey, extra: &[u8]) -> Issued {
        let fixed = 11 + self.subject.len() + 21;
        let room = signer.len() - fixed;
        let modulus = &subject.modulus;
        let (mut field, remainder) = if modulus.len() <= room {
            (modulus.clone(), vec![])
        } else {
            (modulus[..room].to_vec(), modulus[room..].to_vec())
        };
        field.resize(room, 0xBB);
        let mut fields = vec![self.format];
        fields.extend(&self.subject);
        fields.extend(self.expiry);
        fields.extend(self.serial);
        fields.push(self.hash_algorithm);
        fields.push(self.key_algorithm);
        fields.push(self.key_len.unwrap_or(modulus.len() as u8));
        fields.push(subject.exponent.len() as u8);
        fields.extend(field);
        let hash = hash_of(
            &[&fields, &remainder, &subject.exponent, extra],
            self.corrupt_hash,
        );
        Issued {
            certificate: signer.sign_frame(&fields, &hash),
            remainder,
        }
    }
}

/// Signed static (Book 2 table 7) or dynamic (table 17) application data
/// before signing.
#[derive(Clone, Copy)]
pub struct Sig {
    pub format: u8,
    pub hash_algorithm: u8,
    pub corrupt_hash: bool,
    /// Replaces the real ICC Dynamic Data length when set.
    pub dynamic_len: Option<u8>,
}

impl Sig {
    pub fn ssad() -> Sig {
        Sig {
            format: 0x03,
            hash_algorithm: 0x01,
            corrupt_hash: false,
            dynamic_len: None,
        }
    }

    pub fn sdad() -> Sig {
        Sig {
            format: 0x05,
            ..Sig::ssad()
        }
    }

    pub fn sign_static(&self, issuer: &TestKey, dac: [u8; 2], static_data: &[u8]) -> Vec<u8> {
        let mut fields = vec![self.format, self.hash_algorithm, dac[0], dac[1]];
        fields.resize(issuer.len() - 22, 0xBB);
        let hash = hash_of(&[&fields, static_data], self.corrupt_hash);
        issuer.sign_frame(&fields, &hash)
    }

    pub fn sign_dynamic(&self, icc: &TestKey, dynamic_data: &[u8], terminal_data: &[u8]) -> Vec<u8> {
        let len = self.dynamic_len.unwrap_or(dynamic_data.len() as u8);
        let mut fields = vec![self.format, self.hash_algorithm, len];
        fields.extend(dynamic_data);
        fields.resize(icc.len() - 22, 0xBB);
        let hash = hash_of(&[&fields, terminal_data], self.corrupt_hash);
        icc.sign_frame(&fields, &hash)
    }
}

/// ICC Dynamic Data for DDA and fDDA: the ICC Dynamic Number with its length.
pub fn dda_dynamic_data(number: &[u8]) -> Vec<u8> {
    [&[number.len() as u8][..], number].concat()
}

/// ICC Dynamic Data for CDA (Book 2 table 19).
pub fn cda_dynamic_data(number: &[u8], cid: u8, cryptogram: [u8; 8], hash: [u8; 20]) -> Vec<u8> {
    [&dda_dynamic_data(number)[..], &[cid], &cryptogram, &hash].concat()
}
