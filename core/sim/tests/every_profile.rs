//! The same minimal exchange against every named profile: SELECT through
//! the directory, GPO with the PDOL data, READ RECORD per the AFL, the
//! card's signature and cryptogram checked independently, offline PIN.

mod common;

use common::*;
use poskit_sim::virtual_card::{Interface, OdaMethod};
use poskit_sim::{Profile, VirtualCard};

fn exchange(name: &str) {
    let mut card = card(name);
    let terminal = Terminal::purchase("000000002500");
    let profile = card.profile().clone();

    // Directory first, as a terminal does.
    let (directory_name, aid_holder) = match profile.interface {
        Interface::Contact => {
            let fci = select_aid(&mut card, b"1PAY.SYS.DDF01");
            let sfi = must(&fci, 0x88)[0];
            (fci, ok(&mut card, &apdu(0x00, 0xB2, 0x01, (sfi << 3) | 4, &[])))
        }
        Interface::Contactless => {
            let fci = select_aid(&mut card, b"2PAY.SYS.DDF01");
            (fci.clone(), fci)
        }
    };
    assert!(!directory_name.is_empty());
    let aid = must(&aid_holder, 0x4F);
    assert_eq!(aid, profile.applications[0].aid, "{name}");
    let fci = select_aid(&mut card, &aid);
    assert_eq!(must(&fci, 0x50), profile.applications[0].label.as_bytes());

    let atc = card.atc();
    let (response, pdol_data) = gpo(&mut card, &terminal);
    assert_eq!(
        pdol_data.len(),
        poskit_tlv::Dol::parse(&profile.pdol).unwrap().data_len()
    );
    assert_eq!(card.atc(), atc + 1, "{name}: the ATC counts the GPO");
    let (aip, afl) = aip_afl(&response);
    assert_eq!(aip, profile.aip);
    let data = read_records(&mut card, &afl, aip);
    assert_eq!(
        hex::encode_upper(data.must(0x5A)).trim_end_matches('F'),
        profile.pan
    );

    let issuer = recover_issuer_key(&data, profile.rid());
    assert_eq!(issuer.hash_ok, name != "bad-cert", "{name}");
    let icc = recover_icc_key(&data, &issuer, &profile.pan);
    assert!(icc.hash_ok, "{name}");

    if profile.oda_method() == OdaMethod::Fdda {
        let cid = must(&response, 0x9F27)[0];
        let cryptogram: [u8; 8] = must(&response, 0x9F26).try_into().unwrap();
        let iad = must(&response, 0x9F10);
        assert_eq!(
            cryptogram,
            expected_cryptogram(&card, &terminal, aip, atc + 1, &iad),
            "{name}"
        );
        assert_eq!(cid, 0x40, "{name}: small amounts are approved offline");
        let terminal_data = [
            terminal.get(0x9F37),
            terminal.get(0x9F02),
            terminal.get(0x5F2A),
            must(&response, 0x9F69),
        ]
        .concat();
        check_sdad(&icc, &must(&response, 0x9F4B), &terminal_data);
        return;
    }

    if profile.oda_method() == OdaMethod::Dda {
        let un = terminal.get(0x9F37);
        let signed = ok(&mut card, &apdu(0x00, 0x88, 0x00, 0x00, &un));
        check_sdad(&icc, &must(&signed, 0x80), &un);
    }

    // Offline plaintext PIN where the CVM list offers it (CV rule 01).
    let cvm_list = data.must(0x8E);
    if cvm_list[8..].chunks(2).any(|rule| rule[0] & 0x3F == 0x01) {
        let (_, sw) = send(&mut card, &apdu(0x00, 0x20, 0x00, 0x80, &pin_block("0000")));
        assert_eq!(sw, 0x63C0 | u16::from(profile.pin_try_limit - 1), "{name}");
        ok(&mut card, &apdu(0x00, 0x20, 0x00, 0x80, &pin_block(&profile.pin)));
    }

    let cda = profile.oda_method() == OdaMethod::Cda;
    let p1 = if cda { 0x90 } else { 0x80 };
    let ac = parse_ac(&generate_ac(&mut card, p1, &data.must(0x8C), &terminal));
    assert_eq!(ac.atc, atc + 1);
    let expected_cid = if profile.decline_offline { 0x00 } else { 0x80 };
    assert_eq!(ac.cid, expected_cid, "{name}");
    let cryptogram = match &ac.sdad {
        Some(sdad) => {
            let dynamic = check_sdad(&icc, sdad, &terminal.get(0x9F37));
            dynamic[10..18].try_into().unwrap()
        }
        None => ac.ac.unwrap(),
    };
    assert_eq!(
        cryptogram,
        expected_cryptogram(&card, &terminal, aip, ac.atc, &ac.iad),
        "{name}"
    );
    assert_eq!(card.last_cryptogram().unwrap().cryptogram, cryptogram);
}

#[test]
fn every_profile_completes_a_minimal_exchange() {
    for name in Profile::names() {
        if *name == "pulled" {
            continue; // leaves the reader at the GENERATE AC; special.rs
        }
        exchange(name);
    }
}

#[test]
fn every_profile_is_deterministic() {
    // Two cards from one profile answer a session identically: the
    // simulator's "random" numbers come from a per-card seed.
    for name in Profile::names() {
        let mut a = VirtualCard::named(name).unwrap();
        let mut b = VirtualCard::named(name).unwrap();
        let aid = a.profile().applications[0].aid.clone();
        for command in [
            apdu(0x00, 0xA4, 0x04, 0x00, &aid),
            vec![0x00, 0x84, 0x00, 0x00, 0x00],
        ] {
            assert_eq!(send(&mut a, &command), send(&mut b, &command), "{name}");
        }
    }
}
