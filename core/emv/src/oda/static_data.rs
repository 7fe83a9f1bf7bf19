//! The static data to be authenticated (EMV Book 3 10.3): the input that
//! SDA's signed static data and the ICC public key certificate both hash.

use poskit_tlv::parse;

use super::{OdaError, tags};

/// Concatenates the records the AFL marked for offline data authentication,
/// in the order read, then the AIP when the Static Data Authentication Tag
/// List (9F4A) asks for it.
///
/// `records` holds each record's SFI and the whole data field of its READ
/// RECORD response, template 70 included. Book 3 10.3: for SFI 1 to 10 the
/// tag 70 and its length are left out, for SFI 11 to 30 they are hashed
/// too; a record not coded as template 70 makes offline data authentication
/// fail. 9F4A may name only the AIP (82), whose value is then appended.
pub fn static_data_to_authenticate(
    records: &[(u8, &[u8])],
    sda_tag_list: Option<&[u8]>,
    aip: &[u8; 2],
) -> Result<Vec<u8>, OdaError> {
    let mut data = Vec::with_capacity(records.iter().map(|(_, r)| r.len()).sum::<usize>() + aip.len());
    for &(sfi, record) in records {
        let value = record_template_value(record)?;
        match sfi {
            1..=10 => data.extend_from_slice(value),
            11..=30 => data.extend_from_slice(record),
            _ => {
                return Err(OdaError::InvalidData {
                    tag: tags::RECORD_TEMPLATE,
                    reason: "a record's SFI is not 1 to 30",
                });
            }
        }
    }
    match sda_tag_list {
        // EMV treats a zero-length data object as absent.
        None | Some([]) => {}
        Some([0x82]) => data.extend_from_slice(aip),
        Some(_) => {
            return Err(OdaError::InvalidData {
                tag: tags::SDA_TAG_LIST,
                reason: "the static data authentication tag list may name only the AIP (82)",
            });
        }
    }
    Ok(data)
}

/// The value of a record that is exactly one template 70, nothing before or
/// after it.
fn record_template_value(record: &[u8]) -> Result<&[u8], OdaError> {
    let not_template = OdaError::InvalidData {
        tag: tags::RECORD_TEMPLATE,
        reason: "a record for offline data authentication is not one template 70",
    };
    if record.first() != Some(&0x70) {
        return Err(not_template);
    }
    match parse(record).as_deref() {
        Ok([template]) if template.raw().len() == record.len() => Ok(template.value()),
        _ => Err(not_template),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AIP: [u8; 2] = [0x5C, 0x00];

    #[test]
    fn short_sfi_records_give_their_template_value() {
        let record = [0x70, 0x03, 0x5F, 0x34, 0x00];
        let data = static_data_to_authenticate(&[(1, &record), (10, &record)], None, &AIP).unwrap();
        assert_eq!(data, [0x5F, 0x34, 0x00, 0x5F, 0x34, 0x00]);
    }

    #[test]
    fn long_sfi_records_keep_tag_and_length() {
        let record = [0x70, 0x03, 0x5F, 0x34, 0x00];
        let data = static_data_to_authenticate(&[(11, &record), (2, &record)], None, &AIP).unwrap();
        assert_eq!(data, [0x70, 0x03, 0x5F, 0x34, 0x00, 0x5F, 0x34, 0x00]);
    }

    #[test]
    fn a_two_byte_length_is_left_out_too() {
        let mut record = vec![0x70, 0x81, 0x82, 0x9F, 0x46, 0x81, 0x7E];
        record.extend([0xAB; 0x7E]);
        let data = static_data_to_authenticate(&[(3, &record)], None, &AIP).unwrap();
        assert_eq!(data, record[3..]);
    }

    #[test]
    fn tag_list_adds_the_aip_value() {
        let record = [0x70, 0x00];
        let data = static_data_to_authenticate(&[(1, &record)], Some(&[0x82]), &AIP).unwrap();
        assert_eq!(data, AIP);
        let data = static_data_to_authenticate(&[(1, &record)], Some(&[]), &AIP).unwrap();
        assert!(data.is_empty());
    }

    #[test]
    fn tag_list_naming_anything_else_fails() {
        for list in [&[0x9F, 0x36][..], &[0x82, 0x9F, 0x36], &[0x5A]] {
            assert_eq!(
                static_data_to_authenticate(&[], Some(list), &AIP).unwrap_err(),
                OdaError::InvalidData {
                    tag: tags::SDA_TAG_LIST,
                    reason: "the static data authentication tag list may name only the AIP (82)",
                }
            );
        }
    }

    #[test]
    fn a_record_that_is_not_template_70_fails() {
        let bad: [&[u8]; 6] = [
            &[0x77, 0x03, 0x5F, 0x34, 0x00],
            &[],
            &[0x70, 0x04, 0x5F, 0x34, 0x00],
            &[0x70, 0x03, 0x5F, 0x34, 0x00, 0x00],
            &[0x00, 0x70, 0x03, 0x5F, 0x34, 0x00],
            &[0x70, 0x01, 0x00, 0x70, 0x00],
        ];
        for record in bad {
            for sfi in [1, 11] {
                let err = static_data_to_authenticate(&[(sfi, record)], None, &AIP).unwrap_err();
                assert!(
                    matches!(err, OdaError::InvalidData { tag, .. } if tag == tags::RECORD_TEMPLATE),
                    "{record:02X?} {err:?}"
                );
            }
        }
    }

    #[test]
    fn sfi_outside_1_to_30_fails() {
        let record = [0x70, 0x00];
        for sfi in [0, 31, 255] {
            assert!(static_data_to_authenticate(&[(sfi, &record)], None, &AIP).is_err());
        }
    }
}
