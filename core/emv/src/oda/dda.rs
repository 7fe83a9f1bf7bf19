//! Dynamic signatures: DDA (EMV Book 2 6.5), CDA (6.6) and the contactless
//! fDDA of Visa qVSDC (Book C-3) and UnionPay qPBOC.
//!
//! All three sign the same frame, Signed Dynamic Application Data (9F4B,
//! Book 2 table 17); they differ in what the card puts in its ICC Dynamic
//! Data and in the terminal data appended before hashing.

use poskit_crypto::hash::sha1;
use poskit_tlv::parse;

use super::frame::{Recovered, SHA1_INDICATOR};
use super::icc::IccPublicKey;
use super::{OdaError, tags};

/// Signed Data Format of signed dynamic application data (Book 2 table 17).
const FORMAT: u8 = 0x05;
/// Header, format, hash algorithm, dynamic data length, hash, trailer.
const FIXED_LEN: usize = 25;

/// What a verified CDA signature vouches for (Book 2 table 19). The kernel
/// stores the dynamic number as 9F4C and the cryptogram as 9F26: with CDA,
/// the cryptogram is only trusted as it comes out of the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdaData {
    pub icc_dynamic_number: Vec<u8>,
    pub cid: u8,
    pub cryptogram: [u8; 8],
    pub transaction_data_hash: [u8; 20],
}

/// Steps 1 to 4 of 6.5.2 / 6.6.2 and the hash algorithm; returns the frame
/// and its ICC Dynamic Data.
fn open(icc: &IccPublicKey, sdad: &[u8]) -> Result<(Recovered, std::ops::Range<usize>), OdaError> {
    if sdad.is_empty() {
        return Err(OdaError::MissingData(tags::SDAD));
    }
    let signed = Recovered::open(
        &icc.modulus,
        &icc.exponent,
        sdad,
        FORMAT,
        FIXED_LEN,
        OdaError::Signature,
    )?;
    let b = signed.bytes();
    if b[2] != SHA1_INDICATOR {
        return Err(OdaError::Signature(
            "the hash algorithm indicator is not SHA-1 (01)",
        ));
    }
    // L_DD <= N_IC - 25: the dynamic data must end before the hash.
    let dynamic = 4..4 + usize::from(b[3]);
    if dynamic.end > b.len() - 21 {
        return Err(OdaError::Signature(
            "the ICC dynamic data length overruns the signature",
        ));
    }
    Ok((signed, dynamic))
}

/// The ICC Dynamic Number at the start of ICC Dynamic Data: a length byte
/// and 2 to 8 bytes (Book 2 tables 18 and 19).
fn dynamic_number(data: &[u8]) -> Result<&[u8], OdaError> {
    let bad = OdaError::Signature("the ICC dynamic number is not 2 to 8 bytes inside the dynamic data");
    let (&len, rest) = data.split_first().ok_or(bad.clone())?;
    let len = usize::from(len);
    if !(2..=8).contains(&len) || rest.len() < len {
        return Err(bad);
    }
    Ok(&rest[..len])
}

/// Verifies the Signed Dynamic Application Data from INTERNAL AUTHENTICATE
/// (Book 2 6.5.2). `ddol_data` is the data the terminal sent in the command
/// (the DDOL values, concatenated). Returns the ICC Dynamic Number (9F4C).
pub fn verify_dda(icc: &IccPublicKey, sdad: &[u8], ddol_data: &[u8]) -> Result<Vec<u8>, OdaError> {
    let (signed, dynamic) = open(icc, sdad)?;
    // Steps 5 to 7: format through pad pattern, then the DDOL data.
    if !signed.hash_matches(&[ddol_data]) {
        return Err(OdaError::Signature(
            "the hash of the signed dynamic data does not match the terminal's data",
        ));
    }
    Ok(dynamic_number(&signed.bytes()[dynamic])?.to_vec())
}

/// Verifies the Signed Dynamic Application Data returned by GENERATE AC
/// with CDA (Book 2 6.6.2).
///
/// `cid` is the Cryptogram Information Data (9F27) of the same response;
/// `transaction_data_hash_input` is what the card hashed into the
/// Transaction Data Hash Code, normally built with [`cda_hash_input`].
pub fn verify_cda(
    icc: &IccPublicKey,
    sdad: &[u8],
    unpredictable_number: &[u8; 4],
    cid: u8,
    transaction_data_hash_input: &[u8],
) -> Result<CdaData, OdaError> {
    let (signed, dynamic) = open(icc, sdad)?;
    let data = &signed.bytes()[dynamic];
    // Table 19: dynamic number, CID, cryptogram (8), transaction data hash
    // code (20). The card may add more after them; it is signed but unused.
    let number = dynamic_number(data)?;
    let rest = &data[1 + number.len()..];
    if rest.len() < 1 + 8 + 20 {
        return Err(OdaError::Signature(
            "the ICC dynamic data is too short for CID, cryptogram and transaction data hash",
        ));
    }
    let signed_cid = rest[0];
    let mut cryptogram = [0u8; 8];
    cryptogram.copy_from_slice(&rest[1..9]);
    let mut transaction_data_hash = [0u8; 20];
    transaction_data_hash.copy_from_slice(&rest[9..29]);

    // 6.6.2: the card must have signed the CID it returned, or the terminal
    // would act on a decision the signature does not cover.
    if signed_cid != cid {
        return Err(OdaError::CidMismatch);
    }
    // 6.6.2: for CDA the data hashed after the frame is the Unpredictable
    // Number alone; the rest of the transaction is in the hash code below.
    if !signed.hash_matches(&[unpredictable_number]) {
        return Err(OdaError::Signature(
            "the hash of the signed dynamic data does not match the unpredictable number",
        ));
    }
    // 6.6.2: the Transaction Data Hash Code binds PDOL, CDOL and response
    // data to the signature.
    if sha1(transaction_data_hash_input) != transaction_data_hash {
        return Err(OdaError::Signature(
            "the transaction data hash code does not match the transaction data",
        ));
    }
    Ok(CdaData {
        icc_dynamic_number: number.to_vec(),
        cid: signed_cid,
        cryptogram,
        transaction_data_hash,
    })
}

/// Builds what the Transaction Data Hash Code covers (Book 2 6.6.1, 6.6.2
/// step 9): the PDOL data sent with GET PROCESSING OPTIONS, the CDOL data
/// sent with GENERATE AC (for the second GENERATE AC, CDOL1 data followed
/// by CDOL2 data), and every data object of the GENERATE AC response
/// (format 2, the value of template 77) except the Signed Dynamic
/// Application Data (9F4B), as tag, length and value, in the order returned.
pub fn cda_hash_input(
    pdol_data: &[u8],
    cdol_data: &[u8],
    genac_response_template_value: &[u8],
) -> Result<Vec<u8>, OdaError> {
    let objects = parse(genac_response_template_value).map_err(|_| OdaError::InvalidData {
        tag: tags::GENAC_RESPONSE,
        reason: "the GENERATE AC response is not valid BER-TLV",
    })?;
    let mut input =
        Vec::with_capacity(pdol_data.len() + cdol_data.len() + genac_response_template_value.len());
    input.extend_from_slice(pdol_data);
    input.extend_from_slice(cdol_data);
    for object in objects.iter().filter(|o| o.tag() != tags::SDAD) {
        input.extend_from_slice(object.raw());
    }
    Ok(input)
}

/// Verifies fDDA: the Signed Dynamic Application Data a qVSDC (Book C-3) or
/// qPBOC card returns with its GPO response or last record.
///
/// The terminal dynamic data hashed after the frame follows the fDDA
/// version, the first byte of the Card Authentication Related Data (9F69):
/// - version 01: Unpredictable Number (9F37), Amount Authorised (9F02),
///   Transaction Currency Code (5F2A), then 9F69 itself, value only;
/// - version 00 (no 9F69, or 9F69 naming version 00): the Unpredictable
///   Number alone.
///
/// qPBOC (JR/T 0025.12) signs the same data under the same versions.
/// Returns the ICC Dynamic Number.
pub fn verify_fdda(
    icc: &IccPublicKey,
    sdad: &[u8],
    unpredictable_number: &[u8; 4],
    amount_authorised: &[u8; 6],
    currency: &[u8; 2],
    card_auth_related_data: Option<&[u8]>,
) -> Result<Vec<u8>, OdaError> {
    let terminal_data: Vec<u8> = match card_auth_related_data {
        None | Some([]) | Some([0x00, ..]) => unpredictable_number.to_vec(),
        Some(data @ [0x01, ..]) => [&unpredictable_number[..], amount_authorised, currency, data].concat(),
        Some(_) => {
            return Err(OdaError::InvalidData {
                tag: tags::CARD_AUTH_RELATED_DATA,
                reason: "the fDDA version is neither 00 nor 01",
            });
        }
    };
    verify_dda(icc, sdad, &terminal_data)
}
