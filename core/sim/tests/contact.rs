//! Contact transactions against the virtual cards, scripted by hand:
//! selection, GPO, records, offline data authentication, PIN, the
//! cryptograms and issuer authentication.

mod common;

use common::*;
use poskit_crypto::emv::arpc_method_1;
use poskit_crypto::hash::sha1;
use poskit_crypto::rsa::recover;
use poskit_sim::ca::{RID_MASTERCARD, RID_UNIONPAY, RID_VISA};

#[test]
fn visa_contact_dda_online_approval_with_external_authenticate() {
    let mut card = card("visa-contact");
    let terminal = Terminal::purchase("000000010000");

    // PSE and its directory (Book 1 12.2.3).
    let pse = select_aid(&mut card, b"1PAY.SYS.DDF01");
    assert_eq!(must(&pse, 0x88), [0x01]);
    let directory = ok(&mut card, &apdu(0x00, 0xB2, 0x01, 0x0C, &[]));
    assert_eq!(must(&directory, 0x4F), h("A0000000031010"));
    assert_eq!(must(&directory, 0x50), b"VISA CREDIT");
    let (_, sw) = send(&mut card, &apdu(0x00, 0xB2, 0x02, 0x0C, &[]));
    assert_eq!(sw, 0x6A83);

    // The application's FCI (Book 1 table 43).
    let fci = select_aid(&mut card, &h("A0000000031010"));
    assert_eq!(must(&fci, 0x84), h("A0000000031010"));
    assert_eq!(must(&fci, 0x87), [0x01]);
    assert_eq!(must(&fci, 0x5F2D), b"zhen");
    assert_eq!(must(&fci, 0x9F38), h("9F1A02"));

    let atc_before = atc_of(&mut card);
    let (gpo, _) = gpo(&mut card, &terminal);
    assert_eq!(gpo[0], 0x80, "Visa answers in format 1");
    let (aip, afl) = aip_afl(&gpo);
    assert_eq!(aip, [0x3C, 0x00], "DDA, no SDA, no CDA");
    assert_eq!(atc_of(&mut card), atc_before + 1, "GPO counts a transaction");

    let data = read_records(&mut card, &afl, aip);
    assert_eq!(data.must(0x5A), h("4761739001010010"));
    assert_eq!(data.must(0x9F08), h("008C"));
    let issuer = recover_issuer_key(&data, RID_VISA);
    assert!(issuer.hash_ok);
    let icc = recover_icc_key(&data, &issuer, "4761739001010010");
    assert!(icc.hash_ok);
    assert_eq!(icc.modulus.len(), 128);

    // DDA: INTERNAL AUTHENTICATE with the DDOL data (the UN).
    let ddol_data = terminal.dol_data(&data.must(0x9F49));
    let response = ok(&mut card, &apdu(0x00, 0x88, 0x00, 0x00, &ddol_data));
    let dynamic = check_sdad(&icc, &must(&response, 0x80), &ddol_data);
    assert_eq!(dynamic[0], 8, "ICC dynamic number of 8 bytes");
    assert_eq!(dynamic.len(), 9);

    // Offline plaintext PIN.
    ok(&mut card, &apdu(0x00, 0x20, 0x00, 0x80, &pin_block("1234")));

    // First GENERATE AC: ARQC.
    let cdol1 = data.must(0x8C);
    let response = generate_ac(&mut card, 0x80, &cdol1, &terminal);
    let ac = parse_ac(&response);
    assert_eq!(ac.cid, 0x80);
    assert_eq!(ac.atc, atc_before + 1);
    let arqc = ac.ac.unwrap();
    assert_eq!(arqc, expected_cryptogram(&card, &terminal, aip, ac.atc, &ac.iad));
    // CVR: second AC not requested, ARQC, offline PIN performed.
    assert_eq!(ac.iad[4] & 0xFC, 0xA4, "CVR {:02X?}", ac.iad);
    assert_eq!(card.last_cryptogram_input().unwrap().len(), 37);

    // The issuer answers: ARPC method 1 under the AC session key.
    let p = card.profile().clone();
    let sk = session_key(&p.issuer_master_key, &p.pan, p.psn, ac.atc);
    let arpc = arpc_method_1(&sk, &arqc, b"00").unwrap();
    ok(
        &mut card,
        &apdu(0x00, 0x82, 0x00, 0x00, &[&arpc[..], b"00"].concat()),
    );
    let (_, sw) = send(
        &mut card,
        &apdu(0x00, 0x82, 0x00, 0x00, &[&arpc[..], b"00"].concat()),
    );
    assert_eq!(sw, 0x6985, "once per transaction");

    // Second GENERATE AC: TC over the CDOL2 values.
    let response = generate_ac(&mut card, 0x40, &data.must(0x8D), &terminal);
    let tc = parse_ac(&response);
    assert_eq!(tc.cid, 0x40);
    assert_eq!(
        tc.ac.unwrap(),
        expected_cryptogram(&card, &terminal, aip, tc.atc, &tc.iad)
    );
    assert_eq!(tc.iad[4] & 0xF0, 0x60, "CVR: TC at the second, ARQC at the first");
    assert_eq!(card.last_online_atc(), tc.atc);
    assert_eq!(get_data(&mut card, 0x9F13), tc.atc.to_be_bytes());
    let (_, sw) = send(
        &mut card,
        &apdu(0x80, 0xAE, 0x40, 0x00, &terminal.dol_data(&data.must(0x8D))),
    );
    assert_eq!(sw, 0x6985, "the transaction is over");
}

#[test]
fn wrong_arpc_fails_external_authenticate_and_the_card_declines() {
    let mut card = card("visa-contact");
    let terminal = Terminal::purchase("000000010000");
    select_aid(&mut card, &h("A0000000031010"));
    let (gpo, _) = gpo(&mut card, &terminal);
    let (aip, afl) = aip_afl(&gpo);
    let data = read_records(&mut card, &afl, aip);
    generate_ac(&mut card, 0x80, &data.must(0x8C), &terminal);
    let (_, sw) = send(
        &mut card,
        &apdu(0x00, 0x82, 0x00, 0x00, &h("0102030405060708 3030")),
    );
    assert_eq!(sw, 0x6300);
    let response = generate_ac(&mut card, 0x40, &data.must(0x8D), &terminal);
    let ac = parse_ac(&response);
    assert_eq!(ac.cid, 0x00, "issuer authentication failed: AAC");
    assert_eq!(ac.iad[4] & 0x08, 0x08, "CVR: issuer authentication failed");
    assert_eq!(card.last_online_atc(), 0);
}

#[test]
fn mastercard_contact_cda_on_both_generate_acs() {
    let mut card = card("mastercard-contact");
    let terminal = Terminal::purchase("000000012345");
    select_aid(&mut card, b"1PAY.SYS.DDF01");
    select_aid(&mut card, &h("A0000000041010"));
    let (gpo, pdol_data) = gpo(&mut card, &terminal);
    assert!(pdol_data.is_empty(), "no PDOL: GPO carries 83 00");
    assert_eq!(gpo[0], 0x77);
    let (aip, afl) = aip_afl(&gpo);
    assert_eq!(aip[0] & 0x01, 0x01, "CDA");
    let data = read_records(&mut card, &afl, aip);
    let issuer = recover_issuer_key(&data, RID_MASTERCARD);
    let icc = recover_icc_key(&data, &issuer, "5413330089020011");
    assert!(issuer.hash_ok && icc.hash_ok);
    assert_eq!(icc.exponent, [0x01, 0x00, 0x01]);

    // ARQC with CDA (P1 = 90).
    let cdol1 = data.must(0x8C);
    let cdol1_data = terminal.dol_data(&cdol1);
    let response = generate_ac(&mut card, 0x90, &cdol1, &terminal);
    assert_eq!(response[0], 0x77);
    assert!(
        find(&response, 0x9F26).is_none(),
        "with CDA the AC is inside the signature"
    );
    let ac = parse_ac(&response);
    let dynamic = check_sdad(&icc, &ac.sdad.clone().unwrap(), &terminal.get(0x9F37));
    // Book 2 table 19: number length, number, CID, AC, transaction data hash.
    assert_eq!(dynamic.len(), 1 + 8 + 1 + 8 + 20);
    assert_eq!(dynamic[0], 8);
    assert_eq!(dynamic[9], ac.cid);
    assert_eq!(ac.cid, 0x80);
    let arqc: [u8; 8] = dynamic[10..18].try_into().unwrap();
    assert_eq!(arqc, expected_cryptogram(&card, &terminal, aip, ac.atc, &ac.iad));
    let hashed = [
        &pdol_data[..],
        &cdol1_data,
        &h("9F2701"),
        &[ac.cid],
        &h("9F3602"),
        &ac.atc.to_be_bytes(),
        &h("9F1007"),
        &ac.iad,
    ]
    .concat();
    assert_eq!(dynamic[18..], sha1(&hashed), "transaction data hash code");

    // Second GENERATE AC: 91 in CDOL2 carries ARPC || ARC.
    let p = card.profile().clone();
    let sk = session_key(&p.issuer_master_key, &p.pan, p.psn, ac.atc);
    let arpc = arpc_method_1(&sk, &arqc, b"00").unwrap();
    let mut second = terminal.clone();
    second.set(0x91, &[&arpc[..], b"00"].concat());
    let cdol2 = data.must(0x8D);
    let cdol2_data = second.dol_data(&cdol2);
    let response = generate_ac(&mut card, 0x50, &cdol2, &second);
    let tc = parse_ac(&response);
    assert_eq!(tc.cid, 0x40);
    let dynamic = check_sdad(&icc, &tc.sdad.clone().unwrap(), &second.get(0x9F37));
    let hashed = [
        &pdol_data[..],
        &cdol1_data,
        &cdol2_data,
        &h("9F270140 9F3602"),
        &tc.atc.to_be_bytes(),
        &h("9F1007"),
        &tc.iad,
    ]
    .concat();
    assert_eq!(dynamic[18..], sha1(&hashed));
    let tc_value: [u8; 8] = dynamic[10..18].try_into().unwrap();
    assert_eq!(
        tc_value,
        expected_cryptogram(&card, &second, aip, tc.atc, &tc.iad)
    );
    assert_eq!(card.last_online_atc(), tc.atc);
}

#[test]
fn mastercard_bad_arpc_in_cdol2_gives_an_unsigned_aac() {
    let mut card = card("mastercard-contact");
    let mut terminal = Terminal::purchase("000000012345");
    select_aid(&mut card, &h("A0000000041010"));
    let (gpo, _) = gpo(&mut card, &terminal);
    let (aip, afl) = aip_afl(&gpo);
    let data = read_records(&mut card, &afl, aip);
    generate_ac(&mut card, 0x90, &data.must(0x8C), &terminal);
    terminal.set(0x91, &h("11223344556677883030"));
    let response = generate_ac(&mut card, 0x50, &data.must(0x8D), &terminal);
    let ac = parse_ac(&response);
    assert_eq!(ac.cid, 0x00);
    assert!(ac.sdad.is_none(), "an AAC is not signed");
    assert_eq!(
        ac.ac.unwrap(),
        expected_cryptogram(&card, &terminal, aip, ac.atc, &ac.iad)
    );
}

#[test]
fn unionpay_contact_sda_dda_and_partial_selection() {
    let mut card = card("unionpay-contact");
    let terminal = Terminal::purchase("000000000800");
    // Partial name: the first occurrence, then the next, then none.
    let fci = ok(&mut card, &apdu(0x00, 0xA4, 0x04, 0x00, &h("A000000333")));
    assert_eq!(must(&fci, 0x84), h("A000000333010101"));
    let fci = ok(&mut card, &apdu(0x00, 0xA4, 0x04, 0x02, &h("A000000333")));
    assert_eq!(must(&fci, 0x84), h("A000000333010102"));
    let (_, sw) = send(&mut card, &apdu(0x00, 0xA4, 0x04, 0x02, &h("A000000333")));
    assert_eq!(sw, 0x6A82);

    select_aid(&mut card, &h("A000000333010101"));
    let (gpo, _) = gpo(&mut card, &terminal);
    let (aip, afl) = aip_afl(&gpo);
    assert_eq!(aip, [0x7C, 0x00]);
    let data = read_records(&mut card, &afl, aip);
    let issuer = recover_issuer_key(&data, RID_UNIONPAY);
    assert!(issuer.hash_ok);

    // SDA: signed static application data, format 03 (Book 2 5.4).
    let ssad = recover(&issuer.modulus, &issuer.exponent, &data.must(0x93)).unwrap();
    let n = ssad.len();
    assert_eq!((ssad[0], ssad[1], ssad[2], ssad[n - 1]), (0x6A, 0x03, 0x01, 0xBC));
    assert_eq!(ssad[3..5], card.profile().data_authentication_code);
    let hash = sha1(&[&ssad[1..n - 21], &data.static_data[..]].concat());
    assert_eq!(hash[..], ssad[n - 21..n - 1]);

    // DDA as well.
    let icc = recover_icc_key(&data, &issuer, "6230580000000000013");
    assert!(icc.hash_ok);
    let un = h("00C0FFEE");
    let response = ok(&mut card, &apdu(0x00, 0x88, 0x00, 0x00, &un));
    check_sdad(&icc, &must(&response, 0x80), &un);

    let response = generate_ac(&mut card, 0x80, &data.must(0x8C), &terminal);
    let ac = parse_ac(&response);
    assert_eq!(ac.cid, 0x80);
    assert_eq!(
        ac.ac.unwrap(),
        expected_cryptogram(&card, &terminal, aip, ac.atc, &ac.iad)
    );
    assert_eq!(ac.iad[6] & 0x02, 0x02, "CVR: DDA performed");
}

#[test]
fn tc_only_when_asked_and_within_card_limits() {
    let mut card = card("visa-contact");
    let small = Terminal::purchase("000000001000");
    let large = Terminal::purchase("000000100000");
    let run = |card: &mut poskit_sim::VirtualCard, terminal: &Terminal, p1: u8| {
        select_aid(card, &h("A0000000031010"));
        let (gpo, _) = gpo(card, terminal);
        let (aip, afl) = aip_afl(&gpo);
        let data = read_records(card, &afl, aip);
        let ac = parse_ac(&generate_ac(card, p1, &data.must(0x8C), terminal));
        assert_eq!(
            ac.ac.unwrap(),
            expected_cryptogram(card, terminal, aip, ac.atc, &ac.iad)
        );
        ac.cid
    };
    assert_eq!(run(&mut card, &small, 0x40), 0x40, "TC asked, small amount: TC");
    assert_eq!(
        run(&mut card, &large, 0x40),
        0x80,
        "over the card's offline limit: ARQC"
    );
    assert_eq!(run(&mut card, &small, 0x80), 0x80, "ARQC asked: ARQC");
    // The last transaction went online and never completed: no TC now.
    assert_eq!(run(&mut card, &small, 0x40), 0x80);
    assert_eq!(run(&mut card, &small, 0x00), 0x00, "AAC asked: AAC");
}

#[test]
fn offline_plaintext_pin_right_wrong_and_blocked() {
    let mut card = card("mastercard-contact");
    select_aid(&mut card, &h("A0000000041010"));
    assert_eq!(get_data(&mut card, 0x9F17), [3]);
    let verify = |pin: &str| apdu(0x00, 0x20, 0x00, 0x80, &pin_block(pin));
    assert_eq!(send(&mut card, &verify("0000")).1, 0x63C2);
    assert_eq!(send(&mut card, &verify("1111")).1, 0x63C1);
    assert_eq!(send(&mut card, &verify("4315")).1, 0x9000);
    assert_eq!(card.pin_tries_left(), 3, "a right PIN resets the counter");
    // A malformed block is the terminal's error and costs no try.
    assert_eq!(
        send(&mut card, &apdu(0x00, 0x20, 0x00, 0x80, &h("2412340000000000"))).1,
        0x6A80
    );
    assert_eq!(card.pin_tries_left(), 3);
    for expected in [0x63C2, 0x63C1, 0x63C0] {
        assert_eq!(send(&mut card, &verify("9999")).1, expected);
    }
    assert_eq!(send(&mut card, &verify("4315")).1, 0x6983, "blocked");
    assert_eq!(get_data(&mut card, 0x9F17), [0]);

    // The next cryptogram reports it (CVR byte 3).
    let terminal = Terminal::purchase("000000001000");
    select_aid(&mut card, &h("A0000000041010"));
    let (gpo, _) = gpo(&mut card, &terminal);
    let (aip, afl) = aip_afl(&gpo);
    let data = read_records(&mut card, &afl, aip);
    let ac = parse_ac(&generate_ac(&mut card, 0x40, &data.must(0x8C), &terminal));
    assert_eq!(ac.cid, 0x80, "no offline approval with a blocked PIN");
    assert_eq!(ac.iad[5] & 0x42, 0x42, "PIN try limit exceeded, blocked by it");
}

#[test]
fn offline_enciphered_pin_with_the_icc_key() {
    let mut card = card("visa-contact");
    let terminal = Terminal::purchase("000000001000");
    select_aid(&mut card, &h("A0000000031010"));
    let (gpo, _) = gpo(&mut card, &terminal);
    let (aip, afl) = aip_afl(&gpo);
    let data = read_records(&mut card, &afl, aip);
    let issuer = recover_issuer_key(&data, RID_VISA);
    let icc = recover_icc_key(&data, &issuer, "4761739001010010");

    // Book 2 7.1: 7F || PIN block || ICC challenge || random padding,
    // enciphered with the ICC public key.
    let encipher = |pin: &str, challenge: &[u8]| {
        let mut block = vec![0x7F];
        block.extend(pin_block(pin));
        block.extend_from_slice(challenge);
        block.resize(icc.modulus.len(), 0x5C);
        recover(&icc.modulus, &icc.exponent, &block).unwrap()
    };
    let challenge = ok(&mut card, &[0x00, 0x84, 0x00, 0x00, 0x00]);
    assert_eq!(challenge.len(), 8);
    ok(
        &mut card,
        &apdu(0x00, 0x20, 0x00, 0x88, &encipher("1234", &challenge)),
    );

    // The challenge was used up: replaying counts as a wrong PIN.
    let (_, sw) = send(
        &mut card,
        &apdu(0x00, 0x20, 0x00, 0x88, &encipher("1234", &challenge)),
    );
    assert_eq!(sw, 0x63C2);
    let challenge = ok(&mut card, &[0x00, 0x84, 0x00, 0x00, 0x00]);
    let (_, sw) = send(
        &mut card,
        &apdu(0x00, 0x20, 0x00, 0x88, &encipher("4321", &challenge)),
    );
    assert_eq!(sw, 0x63C1);
    let challenge = ok(&mut card, &[0x00, 0x84, 0x00, 0x00, 0x00]);
    ok(
        &mut card,
        &apdu(0x00, 0x20, 0x00, 0x88, &encipher("1234", &challenge)),
    );
    assert_eq!(card.pin_tries_left(), 3);
}

#[test]
fn atc_counts_every_gpo() {
    let mut card = card("unionpay-contact");
    let start = card.atc();
    for i in 1..=3u16 {
        select_aid(&mut card, &h("A000000333010101"));
        gpo(&mut card, &Terminal::purchase("000000000100"));
        assert_eq!(card.atc(), start + i);
    }
}

#[test]
fn malformed_commands_get_iso_status_words() {
    let mut card = card("visa-contact");
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (vec![0x00, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00], 0x6E00),
        (vec![0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00], 0x6985),
        (vec![0x00, 0x44, 0x00, 0x00], 0x6D00),
        (vec![0xA0, 0xA4, 0x04, 0x00, 0x01, 0x00], 0x6E00),
        (vec![0x00, 0xA4, 0x04], 0x6700),
        (vec![0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00], 0x6A86),
        (apdu(0x00, 0xA4, 0x04, 0x00, &h("A0000000999999")), 0x6A82),
        (apdu(0x00, 0xA4, 0x04, 0x00, b"2PAY.SYS.DDF01"), 0x6A82),
    ];
    for (command, expected) in cases {
        assert_eq!(
            send(&mut card, &command).1,
            expected,
            "{}",
            hex::encode_upper(&command)
        );
    }
    select_aid(&mut card, &h("A0000000031010"));
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (apdu(0x80, 0xAE, 0x80, 0x00, &[0; 35]), 0x6985),
        (apdu(0x80, 0xA8, 0x00, 0x00, &h("8402 0156")), 0x6A80),
        (apdu(0x80, 0xA8, 0x00, 0x00, &h("8301 01")), 0x6700),
        (apdu(0x80, 0xA8, 0x01, 0x00, &h("8302 0156")), 0x6A86),
        (apdu(0x00, 0xB2, 0x01, 0x0B, &[]), 0x6A86),
        (apdu(0x00, 0xB2, 0x00, 0x0C, &[]), 0x6A86),
        (apdu(0x00, 0xB2, 0x09, 0x14, &[]), 0x6A83),
        (apdu(0x00, 0xB2, 0x01, 0xF4, &[]), 0x6A82),
        (vec![0x80, 0xCA, 0x9F, 0x99, 0x00], 0x6A88),
        (vec![0x00, 0x84, 0x00, 0x01, 0x00], 0x6A86),
        (apdu(0x00, 0x82, 0x00, 0x00, &[0; 10]), 0x6985),
        (apdu(0x00, 0x88, 0x00, 0x00, &[1, 2, 3, 4]), 0x6985),
        (apdu(0x00, 0x20, 0x00, 0x80, &[0x24, 0x12]), 0x6700),
        (apdu(0x00, 0x20, 0x00, 0x81, &pin_block("1234")), 0x6A86),
        (apdu(0x84, 0x1E, 0x00, 0x00, &[0; 4]), 0x6985),
    ];
    for (command, expected) in cases {
        assert_eq!(
            send(&mut card, &command).1,
            expected,
            "{}",
            hex::encode_upper(&command)
        );
    }
    // VERIFY without data reports the tries left (ISO 7816-4).
    assert_eq!(send(&mut card, &[0x00, 0x20, 0x00, 0x80]).1, 0x63C3);
    let (_, sw) = send(&mut card, &apdu(0x80, 0xA8, 0x00, 0x00, &h("8302 0156")));
    assert_eq!(sw, 0x9000);
    assert_eq!(
        send(&mut card, &apdu(0x80, 0xA8, 0x00, 0x00, &h("8302 0156"))).1,
        0x6985,
        "one GPO"
    );
    assert_eq!(send(&mut card, &apdu(0x80, 0xAE, 0xC0, 0x00, &[0; 35])).1, 0x6A86);
    assert_eq!(send(&mut card, &apdu(0x80, 0xAE, 0x80, 0x00, &[0; 34])).1, 0x6700);
}

#[test]
fn transaction_log_records_completed_transactions() {
    let mut card = card("visa-contact");
    let terminal = Terminal::purchase("000000001000");
    let fci = select_aid(&mut card, &h("A0000000031010"));
    assert_eq!(must(&fci, 0x9F4D), [0x0B, 0x0A]);
    let (gpo, _) = gpo(&mut card, &terminal);
    let (aip, afl) = aip_afl(&gpo);
    let data = read_records(&mut card, &afl, aip);
    let ac = parse_ac(&generate_ac(&mut card, 0x40, &data.must(0x8C), &terminal));
    assert_eq!(ac.cid, 0x40);
    let format = get_data(&mut card, 0x9F4F);
    assert_eq!(format, h("9A039F02065F2A029C019F36029F2701"));
    let entry = ok(&mut card, &apdu(0x00, 0xB2, 0x01, 0x5C, &[]));
    let expected = [
        terminal.get(0x9A),
        terminal.get(0x9F02),
        terminal.get(0x5F2A),
        terminal.get(0x9C),
        ac.atc.to_be_bytes().to_vec(),
        vec![0x40],
    ]
    .concat();
    assert_eq!(entry, expected);
    assert_eq!(send(&mut card, &apdu(0x00, 0xB2, 0x02, 0x5C, &[])).1, 0x6A83);
}
