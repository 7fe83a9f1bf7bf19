//! The last test of the suite (scripts/test.sh runs it after every other
//! one): every database, WAL, backup and log file any test left under
//! target/test-data is scanned for the test PANs in clear (ASCII and BCD),
//! for track 2 data and for PIN blocks. None may be there (DESIGN rule 5).

use poskit_store::testing::{Needle, files_under, scan_for_card_data, test_data_root};

/// Every card number the tests and simulators use, settlement cards included.
const TEST_PANS: [&str; 21] = [
    "4761739001010010",
    "4761739001010028",
    "4761739001010036",
    "4761739001010044",
    "5413330089020011",
    "5413330089020029",
    "5413330089020037",
    "5413330089020045",
    "6230580000000000013",
    "6230580000000000021",
    "6230580000000000039",
    "6230580000000000047",
    "6230580000000000054",
    "6250940000000001",
    "4012345678909",
    "4111111111111111",
    // Closed-loop prepaid cards (docs/prepaid.md).
    "9988010000000014",
    "9988010000000022",
    "9988010000000030",
    "9988010000000048",
    "9988010000000055",
];

#[test]
#[ignore = "run last by scripts/test.sh, over what the whole suite wrote"]
fn no_test_card_data_in_any_file_the_suite_wrote() {
    let root = test_data_root();
    let files = files_under(&root);
    let mut needles: Vec<Needle> = TEST_PANS.iter().flat_map(|pan| Needle::pan(pan, pan)).collect();
    needles.extend(Needle::track2("track 2", "4761739001010010D25122011143878"));
    needles.extend(Needle::track2("track 2", "4761739001010010=2512201"));
    // ISO format 0 clear PIN blocks of the test PINs.
    needles.extend(Needle::bytes(
        "PIN block",
        &[0x04, 0x12, 0x74, 0xED, 0xCB, 0xA9, 0x87, 0x6F],
    ));
    needles.extend(Needle::bytes(
        "PIN block",
        &[0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
    ));
    let findings = scan_for_card_data(&root, &needles);
    assert!(
        findings.is_empty(),
        "card data at rest in {} of {} files: {findings:?}",
        findings.len(),
        files.len()
    );
    eprintln!(
        "scanned {} files under {}: no card data",
        files.len(),
        root.display()
    );
}
