//! Contactless transactions: PPSE, qVSDC and qPBOC with fDDA in the GPO
//! response, Mastercard M/Chip with CDA.

mod common;

use common::*;
use poskit_crypto::hash::sha1;
use poskit_sim::ca::{RID_MASTERCARD, RID_UNIONPAY, RID_VISA};

/// Book 2 6.5.2 with Visa fDDA version 01 terminal data: UN, amount,
/// currency, then 9F69 as the card returned it.
fn check_fdda(data: &CardData, rid: [u8; 5], pan: &str, gpo: &[u8], terminal: &Terminal) {
    let issuer = recover_issuer_key(data, rid);
    let icc = recover_icc_key(data, &issuer, pan);
    assert!(issuer.hash_ok && icc.hash_ok);
    let card_auth = must(gpo, 0x9F69);
    assert_eq!(card_auth.len(), 7);
    assert_eq!(card_auth[0], 0x01, "fDDA version 01");
    let ctq = must(gpo, 0x9F6C);
    assert_eq!(card_auth[5..], ctq[..], "9F69 ends with the CTQ");
    let terminal_data = [
        terminal.get(0x9F37),
        terminal.get(0x9F02),
        terminal.get(0x5F2A),
        card_auth,
    ]
    .concat();
    let dynamic = check_sdad(&icc, &must(gpo, 0x9F4B), &terminal_data);
    assert_eq!(dynamic[0], 8);
    assert_eq!(dynamic[9..], ctq[..], "version 01 signs the CTQ");
}

#[test]
fn visa_qvsdc_offline_approval_with_fdda() {
    let mut card = card("visa-contactless");
    let terminal = Terminal::purchase("000000002000");
    let ppse = select_aid(&mut card, b"2PAY.SYS.DDF01");
    let directory = must(&ppse, 0xBF0C);
    assert_eq!(must(&directory, 0x4F), h("A0000000031010"));
    assert_eq!(must(&directory, 0x9F2A), [0x03], "kernel 3");
    let fci = select_aid(&mut card, &h("A0000000031010"));
    let pdol = must(&fci, 0x9F38);
    assert_eq!(pdol[..3], h("9F6604"), "the PDOL asks for the TTQ");

    let atc = card.atc();
    let (response, pdol_data) = gpo(&mut card, &terminal);
    assert_eq!(pdol_data.len(), 33);
    assert_eq!(response[0], 0x77);
    assert_eq!(must(&response, 0x9F27), [0x40], "TC: approved offline");
    assert_eq!(
        u16::from_be_bytes(must(&response, 0x9F36).try_into().unwrap()),
        atc + 1
    );
    let aip: [u8; 2] = must(&response, 0x82).try_into().unwrap();
    let iad = must(&response, 0x9F10);
    let tc: [u8; 8] = must(&response, 0x9F26).try_into().unwrap();
    assert_eq!(tc, expected_cryptogram(&card, &terminal, aip, atc + 1, &iad));
    assert!(hex::encode_upper(must(&response, 0x57)).starts_with("4761739001010028D"));
    assert_eq!(must(&response, 0x5F34), [0x01]);

    let data = read_records(&mut card, &must(&response, 0x94), aip);
    check_fdda(&data, RID_VISA, "4761739001010028", &response, &terminal);
    assert_eq!(card.last_cryptogram().unwrap().generate_ac, 0);

    // The transaction ended in the GPO.
    let cdol1 = data.must(0x8C);
    let (_, sw) = send(
        &mut card,
        &apdu(0x80, 0xAE, 0x40, 0x00, &terminal.dol_data(&cdol1)),
    );
    assert_eq!(sw, 0x6985);
}

#[test]
fn visa_qvsdc_goes_online_above_its_limit_and_signs_only_when_asked() {
    let mut card = card("visa-contactless");
    // 400.00 is above the card's own offline limit (300.00).
    let mut terminal = Terminal::purchase("000000040000");
    select_aid(&mut card, &h("A0000000031010"));
    let (response, _) = gpo(&mut card, &terminal);
    assert_eq!(must(&response, 0x9F27), [0x80]);
    let aip: [u8; 2] = must(&response, 0x82).try_into().unwrap();
    let atc = u16::from_be_bytes(must(&response, 0x9F36).try_into().unwrap());
    let arqc: [u8; 8] = must(&response, 0x9F26).try_into().unwrap();
    assert_eq!(
        arqc,
        expected_cryptogram(&card, &terminal, aip, atc, &must(&response, 0x9F10))
    );
    assert!(
        find(&response, 0x9F4B).is_some(),
        "TTQ asks for ODA on online transactions"
    );

    terminal.set(0x9F66, &h("36004080"));
    select_aid(&mut card, &h("A0000000031010"));
    let (response, _) = gpo(&mut card, &terminal);
    assert_eq!(must(&response, 0x9F27), [0x80]);
    assert!(find(&response, 0x9F4B).is_none() && find(&response, 0x9F69).is_none());

    // At the CVM limit the CTQ asks for online PIN.
    terminal.set(0x9F02, &h("000000150000"));
    select_aid(&mut card, &h("A0000000031010"));
    let (response, _) = gpo(&mut card, &terminal);
    assert_eq!(must(&response, 0x9F6C)[0] & 0x80, 0x80);
}

#[test]
fn unionpay_qpboc_online_when_the_reader_requires_it() {
    let mut card = card("unionpay-qpboc");
    let mut terminal = Terminal::purchase("000000001000");
    // TTQ byte 2 bit 8: online cryptogram required.
    terminal.set(0x9F66, &h("37804080"));
    let ppse = select_aid(&mut card, b"2PAY.SYS.DDF01");
    assert_eq!(must(&ppse, 0x4F), h("A000000333010102"));
    assert_eq!(must(&ppse, 0x9F2A), [0x07]);
    select_aid(&mut card, &h("A000000333010102"));
    let (response, _) = gpo(&mut card, &terminal);
    assert_eq!(must(&response, 0x9F27), [0x80]);
    let aip: [u8; 2] = must(&response, 0x82).try_into().unwrap();
    let atc = u16::from_be_bytes(must(&response, 0x9F36).try_into().unwrap());
    let arqc: [u8; 8] = must(&response, 0x9F26).try_into().unwrap();
    assert_eq!(
        arqc,
        expected_cryptogram(&card, &terminal, aip, atc, &must(&response, 0x9F10))
    );
    let data = read_records(&mut card, &must(&response, 0x94), aip);
    check_fdda(&data, RID_UNIONPAY, "6250940000000001", &response, &terminal);

    // Offline below its limit.
    terminal.set(0x9F66, &h("37004080"));
    select_aid(&mut card, &h("A000000333010102"));
    let (response, _) = gpo(&mut card, &terminal);
    assert_eq!(must(&response, 0x9F27), [0x40]);
    check_fdda(&data, RID_UNIONPAY, "6250940000000001", &response, &terminal);
}

#[test]
fn mastercard_contactless_cda() {
    let mut card = card("mastercard-contactless");
    let terminal = Terminal::purchase("000000005000");
    let ppse = select_aid(&mut card, b"2PAY.SYS.DDF01");
    assert_eq!(must(&ppse, 0x9F2A), [0x02], "kernel 2");
    let (_, sw) = send(&mut card, &apdu(0x00, 0xA4, 0x04, 0x00, b"1PAY.SYS.DDF01"));
    assert_eq!(sw, 0x6A82, "a contactless card has no PSE");
    select_aid(&mut card, &h("A0000000041010"));
    let (response, pdol_data) = gpo(&mut card, &terminal);
    assert_eq!(pdol_data, [0x22]);
    let (aip, afl) = aip_afl(&response);
    assert_eq!(aip, [0x19, 0x80]);
    let data = read_records(&mut card, &afl, aip);
    let issuer = recover_issuer_key(&data, RID_MASTERCARD);
    let icc = recover_icc_key(&data, &issuer, "5413330089020029");
    assert!(issuer.hash_ok && icc.hash_ok);

    let cdol1 = data.must(0x8C);
    let cdol1_data = terminal.dol_data(&cdol1);
    let response = generate_ac(&mut card, 0x90, &cdol1, &terminal);
    let ac = parse_ac(&response);
    assert_eq!(ac.cid, 0x80);
    let dynamic = check_sdad(&icc, &ac.sdad.clone().unwrap(), &terminal.get(0x9F37));
    let hashed = [
        &pdol_data[..],
        &cdol1_data,
        &h("9F270180 9F3602"),
        &ac.atc.to_be_bytes(),
        &h("9F1007"),
        &ac.iad,
    ]
    .concat();
    assert_eq!(dynamic[18..], sha1(&hashed), "the PDOL data is hashed too");
    let arqc: [u8; 8] = dynamic[10..18].try_into().unwrap();
    assert_eq!(arqc, expected_cryptogram(&card, &terminal, aip, ac.atc, &ac.iad));
    // Contactless: no second GENERATE AC.
    let (_, sw) = send(
        &mut card,
        &apdu(0x80, 0xAE, 0x40, 0x00, &terminal.dol_data(&data.must(0x8D))),
    );
    assert_eq!(sw, 0x6985);
}

#[test]
fn a_reader_without_qvsdc_gets_the_full_path() {
    let mut card = card("visa-contactless");
    let mut terminal = Terminal::purchase("000000001000");
    terminal.set(0x9F66, &h("10004000"));
    select_aid(&mut card, &h("A0000000031010"));
    let (response, _) = gpo(&mut card, &terminal);
    assert!(find(&response, 0x9F26).is_none());
    let (aip, afl) = aip_afl(&response);
    let data = read_records(&mut card, &afl, aip);
    let ac = parse_ac(&generate_ac(&mut card, 0x80, &data.must(0x8C), &terminal));
    assert_eq!(ac.cid, 0x80);
    assert_eq!(
        ac.ac.unwrap(),
        expected_cryptogram(&card, &terminal, aip, ac.atc, &ac.iad)
    );
}

#[test]
fn qvsdc_velocity_sends_the_card_online_after_its_offline_run() {
    let mut card = card("visa-contactless");
    let terminal = Terminal::purchase("000000001000");
    let limit = card.profile().offline.consecutive_limit;
    let mut cids = Vec::new();
    for _ in 0..=limit {
        select_aid(&mut card, &h("A0000000031010"));
        let (response, _) = gpo(&mut card, &terminal);
        cids.push(must(&response, 0x9F27)[0]);
    }
    let mut expected = vec![0x40; usize::from(limit)];
    expected.push(0x80);
    assert_eq!(cids, expected);
}
