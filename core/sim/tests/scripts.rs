//! Issuer scripts with secure messaging: the MAC is computed here from the
//! issuer's SMI key the way an issuer host would (Book 2 9.2.1, A1.3).

mod common;

use common::*;
use poskit_crypto::SymmetricKey;
use poskit_crypto::emv::{Psn, arpc_method_1, icc_master_key_option_a, session_key as derive_session_key};
use poskit_crypto::mac::{Padding, retail_mac};
use poskit_sim::VirtualCard;

/// Runs a contact transaction up to the ARQC; returns it, its ATC and the
/// records.
fn online_until_arqc(card: &mut VirtualCard, terminal: &Terminal) -> ([u8; 8], u16, CardData) {
    let aid = card.profile().applications[0].aid.clone();
    select_aid(card, &aid);
    let (gpo, _) = gpo(card, terminal);
    let (aip, afl) = aip_afl(&gpo);
    let data = read_records(card, &afl, aip);
    let ac = parse_ac(&generate_ac(card, 0x80, &data.must(0x8C), terminal));
    assert_eq!(ac.cid, 0x80);
    let arqc = ac
        .ac
        .unwrap_or_else(|| panic!("format 1 or 2 without CDA carries the AC"));
    (arqc, ac.atc, data)
}

fn icc_key(card: &VirtualCard, imk: &SymmetricKey) -> SymmetricKey {
    let p = card.profile();
    icc_master_key_option_a(imk, &p.pan, Some(Psn::from_bcd(p.psn).unwrap())).unwrap()
}

/// A script command with its 4-byte MAC under SK_SMI (R = ARQC) over
/// header, Lc, ATC, ARQC and the data.
fn script(card: &VirtualCard, header: [u8; 4], data: &[u8], atc: u16, arqc: &[u8; 8]) -> Vec<u8> {
    let mk = icc_key(card, &card.profile().issuer_smi_key);
    let sk = derive_session_key(&mk, arqc).unwrap();
    let lc = (data.len() + 4) as u8;
    let input = [&header[..], &[lc], &atc.to_be_bytes(), arqc, data].concat();
    let mac = retail_mac(&sk, &input, Padding::Method2).unwrap();
    let mut command = header.to_vec();
    command.push(lc);
    command.extend_from_slice(data);
    command.extend_from_slice(&mac[..4]);
    command
}

#[test]
fn application_block_during_the_transaction() {
    let mut card = card("unionpay-contact");
    let terminal = Terminal::purchase("000000050000");
    let (arqc, atc, data) = online_until_arqc(&mut card, &terminal);
    let block = script(&card, [0x84, 0x1E, 0x00, 0x00], &[], atc, &arqc);
    ok(&mut card, &block);
    assert_eq!(card.scripts_applied(), 1);
    assert!(card.is_application_blocked());

    // An approval with a good ARPC still ends in an AAC now.
    let p = card.profile().clone();
    let sk = session_key(&p.issuer_master_key, &p.pan, p.psn, atc);
    let arpc = arpc_method_1(&sk, &arqc, b"00").unwrap();
    let mut second = terminal.clone();
    second.set(0x91, &[&arpc[..], b"00"].concat());
    let ac = parse_ac(&generate_ac(&mut card, 0x40, &data.must(0x8D), &second));
    assert_eq!(ac.cid, 0x00);

    // From now on: 6283 with the FCI, and no GPO.
    let (fci, sw) = send(&mut card, &apdu(0x00, 0xA4, 0x04, 0x00, &h("A000000333010101")));
    assert_eq!(sw, 0x6283);
    assert_eq!(must(&fci, 0x84), h("A000000333010101"));
    let (_, sw) = send(
        &mut card,
        &apdu(0x80, 0xA8, 0x00, 0x00, &h("8309 00 000000050000 0156")),
    );
    assert_eq!(sw, 0x6985);
    // The next transaction's CVR would report one SM script command.
}

#[test]
fn a_wrong_mac_is_refused_and_reported() {
    let mut card = card("visa-contact");
    let terminal = Terminal::purchase("000000050000");
    let (arqc, atc, data) = online_until_arqc(&mut card, &terminal);
    let mut command = script(&card, [0x84, 0x1E, 0x00, 0x00], &[], atc, &arqc);
    let last = command.len() - 1;
    command[last] ^= 0x01;
    assert_eq!(send(&mut card, &command).1, 0x6988);
    assert_eq!(card.scripts_applied(), 0);
    assert!(!card.is_application_blocked());
    // Without secure messaging there is no such command.
    assert_eq!(send(&mut card, &[0x80, 0x1E, 0x00, 0x00, 0x00]).1, 0x6E00);
    // A MAC for another transaction's ARQC does not fit this one.
    let other = script(&card, [0x84, 0x1E, 0x00, 0x00], &[], atc, &[0x11; 8]);
    assert_eq!(send(&mut card, &other).1, 0x6988);

    // Script failure shows in the next transaction's CVR (byte 4 bit 4).
    let p = card.profile().clone();
    let sk = session_key(&p.issuer_master_key, &p.pan, p.psn, atc);
    let arpc = arpc_method_1(&sk, &arqc, b"00").unwrap();
    ok(
        &mut card,
        &apdu(0x00, 0x82, 0x00, 0x00, &[&arpc[..], b"00"].concat()),
    );
    generate_ac(&mut card, 0x40, &data.must(0x8D), &terminal);
    let (_, _, _) = online_until_arqc(&mut card, &terminal);
    let input = card.last_cryptogram_input().unwrap();
    assert_eq!(input[36] & 0x08, 0x08);
}

#[test]
fn pin_unblock_and_pin_change_by_script() {
    let mut card = card("mastercard-contact");
    select_aid(&mut card, &h("A0000000041010"));
    for _ in 0..3 {
        send(&mut card, &apdu(0x00, 0x20, 0x00, 0x80, &pin_block("0000")));
    }
    assert_eq!(card.pin_tries_left(), 0);

    let terminal = Terminal::purchase("000000050000");
    let (arqc, atc, _) = online_until_arqc(&mut card, &terminal);
    let unblock = script(&card, [0x84, 0x24, 0x00, 0x00], &[], atc, &arqc);
    ok(&mut card, &unblock);
    assert_eq!(card.pin_tries_left(), 3);

    // PIN CHANGE: the new PIN block enciphered under SK_SMC (R = ARQC).
    let mk_smc = icc_key(&card, &card.profile().issuer_smc_key);
    let sk_smc = derive_session_key(&mk_smc, &arqc).unwrap();
    let enciphered = sk_smc.encrypt_ecb(&pin_block("8642")).unwrap();
    let change = script(&card, [0x84, 0x24, 0x00, 0x02], &enciphered, atc, &arqc);
    ok(&mut card, &change);
    assert_eq!(card.scripts_applied(), 2);
    select_aid(&mut card, &h("A0000000041010"));
    assert_eq!(
        send(&mut card, &apdu(0x00, 0x20, 0x00, 0x80, &pin_block("4315"))).1,
        0x63C2
    );
    assert_eq!(
        send(&mut card, &apdu(0x00, 0x20, 0x00, 0x80, &pin_block("8642"))).1,
        0x9000
    );
}

#[test]
fn put_data_updates_the_offline_limit() {
    let mut card = card("visa-contact");
    let terminal = Terminal::purchase("000000050000");
    let (arqc, atc, _) = online_until_arqc(&mut card, &terminal);
    assert_eq!(get_data(&mut card, 0x9F14), [5]);
    let put_lcol = script(&card, [0x04, 0xDA, 0x9F, 0x14], &[0x02], atc, &arqc);
    ok(&mut card, &put_lcol);
    assert_eq!(get_data(&mut card, 0x9F14), [2]);
    let put_pan = script(&card, [0x04, 0xDA, 0x5A, 0x00], &[0x01], atc, &arqc);
    let (_, sw) = send(&mut card, &put_pan);
    assert_eq!(sw, 0x6A88, "the PAN is not updatable");
    assert_eq!(card.scripts_applied(), 1);
}

#[test]
fn the_host_helpers_agree_with_the_hand_computation() {
    // The helpers the issuer simulator will use give the same values as
    // the independent derivations above.
    let mut card = card("unionpay-contact");
    let terminal = Terminal::purchase("000000050000");
    let (arqc, atc, _) = online_until_arqc(&mut card, &terminal);
    let command = script(&card, [0x84, 0x1E, 0x00, 0x00], &[], atc, &arqc);
    let mac = poskit_sim::virtual_card::crypto::script_mac(
        card.icc_smi_master_key(),
        [0x84, 0x1E, 0x00, 0x00, 0x04],
        atc,
        &arqc,
        &[],
    )
    .unwrap();
    assert_eq!(command[5..], mac);
    let p = card.profile().clone();
    let expected = arpc_method_1(
        &session_key(&p.issuer_master_key, &p.pan, p.psn, atc),
        &arqc,
        b"00",
    )
    .unwrap();
    let helper = poskit_sim::virtual_card::crypto::arpc(card.icc_master_key(), atc, &arqc, b"00").unwrap();
    assert_eq!(expected, helper);
}
