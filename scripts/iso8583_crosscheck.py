#!/usr/bin/env python3
"""Cross-check poskit-iso8583 against an independent ISO 8583 codec, pyiso8583.

The cup dialect (shared/specs/cup-pos-8583.md) is written out below as a
pyiso8583 specification, independently of the Rust table. Then, in the
directory given with --dir (core/iso8583/tests/crosscheck.rs makes it):

1. Every rust/NAME.hex (a message packed by our codec, MTI onwards) is
   decoded by pyiso8583 and each field compared with rust/NAME.json (what
   our codec was given). pyiso8583 then re-encodes what it decoded, and the
   bytes must be identical: same bitmap, pads, prefixes.
2. pyiso8583 encodes messages of its own (hand-made ones, GBK text in field
   63 included, and seeded random ones) into python/NAME.hex, with the
   values in python/NAME.fields for the Rust test to unpack and compare.
   Line format: "mti 0200", then "FIELD digits DIGITS" or
   "FIELD text HEX" (an/ans bytes) or "FIELD binary HEX".

Exit status 0 when everything agrees, 1 with a list of disagreements,
2 when pyiso8583 is missing. Needs `python3 -m pip install --user pyiso8583`.
"""

import argparse
import json
import random
import sys
from pathlib import Path

try:
    import iso8583
except ImportError:
    print("pyiso8583 is not installed: run `python3 -m pip install --user pyiso8583`", file=sys.stderr)
    sys.exit(2)


def numeric(max_len, len_type, pad):
    """BCD digits; the length (fixed, or the BCD prefix) counts digits."""
    spec = {"data_enc": "b", "len_enc": "bcd", "len_type": len_type, "len_count": "nibbles", "max_len": max_len}
    spec[pad] = "0"
    return spec


def fixed_n(digits):
    # Spec: a fixed odd length is right-aligned with a leading 0 nibble.
    return numeric(digits, 0, "left_pad")


def var_n(max_digits, len_type):
    # Spec: variable n/z fields are left-aligned, a trailing 0 nibble.
    return numeric(max_digits, len_type, "right_pad")


def text(max_len, len_type, encoding="ascii"):
    return {"data_enc": encoding, "len_enc": "bcd", "len_type": len_type, "max_len": max_len}


def binary(max_len, len_type):
    return {"data_enc": "b", "len_enc": "bcd", "len_type": len_type, "max_len": max_len}


LL, LLL, FIXED = 1, 2, 0  # BCD length prefixes: 1 byte, 2 bytes

SPEC = {
    "h": {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": 0},  # header is in the frame
    "t": {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": 2},  # MTI, 2 BCD bytes
    "p": binary(8, FIXED),
    "1": binary(8, FIXED),
    "2": var_n(19, LL),
    "3": fixed_n(6),
    "4": fixed_n(12),
    "11": fixed_n(6),
    "12": fixed_n(6),
    "13": fixed_n(4),
    "14": fixed_n(4),
    "15": fixed_n(4),
    "22": numeric(3, 0, "right_pad"),  # the exception: `051` -> 05 10
    "23": fixed_n(3),
    "25": fixed_n(2),
    "26": fixed_n(2),
    "32": var_n(11, LL),
    "35": var_n(37, LL),  # z: the D separator is a hex nibble to pyiso8583
    "36": var_n(104, LLL),
    "37": text(12, FIXED),
    "38": text(6, FIXED),
    "39": text(2, FIXED),
    "41": text(8, FIXED),
    "42": text(15, FIXED),
    "44": text(25, LL),
    "48": var_n(322, LLL),
    "49": text(3, FIXED),
    "52": binary(8, FIXED),
    "53": fixed_n(16),
    "54": text(20, LLL),
    "55": binary(255, LLL),
    "60": var_n(17, LLL),
    "61": var_n(29, LLL),
    "62": binary(512, LLL),
    "63": text(163, LLL, "gbk"),  # spec: field 63 may carry GBK
    "64": binary(8, FIXED),
}

FIXED_TEXT = {"37": 12, "38": 6, "39": 2, "41": 8, "42": 15, "49": 3}


def field_bytes(key, decoded, encoded):
    """The field's content as bytes, for comparing text and binary."""
    if SPEC[key]["data_enc"] == "b":
        return bytes.fromhex(decoded[key])
    return bytes(encoded[key]["data"])


def check_rust_messages(directory, problems):
    count = 0
    for expected_path in sorted((directory / "rust").glob("*.json")):
        name = expected_path.stem
        count += 1
        expected = json.loads(expected_path.read_text())
        raw = bytes.fromhex((directory / "rust" / f"{name}.hex").read_text().strip())
        try:
            decoded, encoded = iso8583.decode(raw, SPEC)
        except iso8583.DecodeError as e:
            problems.append(f"rust/{name}: pyiso8583 cannot decode it: {e}")
            continue
        if decoded["t"] != expected["mti"]:
            problems.append(f"rust/{name}: MTI {decoded['t']} != {expected['mti']}")
        got = {k for k in decoded if k.isdigit() and k != "1"}
        want = set(expected["fields"])
        if got != want:
            problems.append(f"rust/{name}: fields {sorted(got, key=int)} != {sorted(want, key=int)}")
        for key in sorted(got & want, key=int):
            value = expected["fields"][key]
            if "digits" in value:
                ok = decoded[key] == value["digits"]
            elif "text" in value:
                ok = field_bytes(key, decoded, encoded) == value["text"].encode("ascii")
                ok = ok and decoded[key] == value["text"]
            elif "text_bytes" in value:
                ok = field_bytes(key, decoded, encoded) == bytes.fromhex(value["text_bytes"])
            else:
                ok = field_bytes(key, decoded, encoded) == bytes.fromhex(value["binary"])
            if not ok:
                # Values may be card data: name the field, not its content.
                problems.append(f"rust/{name}: field {key} differs")
        again, _ = iso8583.encode(dict(decoded), SPEC)
        if bytes(again) != raw:
            problems.append(f"rust/{name}: pyiso8583 re-encodes it to different bytes")
    return count


def hand_made():
    """Messages that exercise each rule of the spec once, on purpose."""
    return {
        "sale_0200": {
            "t": "0200",
            "2": "6200123456789012345",  # 19 digits: trailing pad nibble
            "3": "000000",
            "4": "000000012345",
            "11": "000042",
            "14": "3012",
            "22": "051",  # left-aligned
            "23": "001",  # right-aligned
            "25": "00",
            "26": "06",
            "35": "6200123456789012345D30122011234567",  # odd, with D
            "41": "TERM0001",
            "42": "898310012345678",
            "49": "156",
            "52": "0102030405060708",
            "53": "2600000000000000",
            "55": "9F2608A1B2C3D4E5F607089F2701809F101307010103A0A802010A010000000000B24DFB01",
            "60": "22000001000",
            "64": "3132333435363738",
        },
        "sale_response_0210_gbk": {
            "t": "0210",
            "2": "6200123456789012",
            "3": "000000",
            "4": "000000012345",
            "11": "000042",
            "12": "101530",
            "13": "0615",
            "15": "0616",
            "32": "48020000",  # even LLVAR digits
            "37": "123456789012",
            "38": "AB1234",
            "39": "00",
            "41": "TERM0001",
            "42": "898310012345678",
            "44": "01020000   48020000   ",
            "49": "156",
            "54": "1002156C000000001000",
            "60": "22000001000",
            "63": "CUP银联商务",  # GBK after the card organisation
        },
        "settlement_0500": {
            "t": "0500",
            "11": "000050",
            "41": "TERM0001",
            "42": "898310012345678",
            # Totals: domestic then foreign, each debit amount n12, count n3,
            # credit amount n12, count n3, result n1 (62 digits).
            "48": "%012d%03d%012d%03d%d" % (123456, 12, 1000, 1, 0) + "%012d%03d%012d%03d%d" % (5000, 2, 0, 0, 0),
            "49": "156",
            "60": "00000001201",
            "63": "01 ",
        },
        "void_reversal_0400": {
            "t": "0400",
            "2": "6200123456789012345",
            "3": "200000",
            "4": "000000012345",
            "11": "000043",
            "22": "072",
            "25": "00",
            "36": "996200123456789012345D1561560000000000000003000000214D0000000D0",
            "39": "98",
            "61": "0000010000420615",  # 16 digits, even
            "62": "00" * 3,
        },
        "sign_in_0800": {
            "t": "0800",
            "11": "000001",
            "41": "TERM0001",
            "42": "898310012345678",
            "60": "00000001003",
            "62": "A1" * 60,
            "63": "001",
        },
    }


GBK_SAMPLE = "银联商务消费撤销退货结算签到成功请重试余额不足"


def random_message(rng):
    """A message of random fields valid for the spec, drawn independently
    of the Rust test's generator."""
    doc = {"t": f"{rng.randrange(10000):04d}"}
    for key, spec in SPEC.items():
        if not key.isdigit() or key == "1" or rng.random() < 0.5:
            continue
        fixed = spec["len_type"] == 0
        size = spec["max_len"] if fixed else rng.randrange(spec["max_len"] + 1)
        if spec["data_enc"] == "b" and spec.get("len_count") == "nibbles":
            alphabet = "0123456789D" if key in ("35", "36") else "0123456789"
            doc[key] = "".join(rng.choice(alphabet) for _ in range(size))
        elif spec["data_enc"] == "b":
            doc[key] = bytes(rng.randrange(256) for _ in range(size)).hex().upper()
        elif spec["data_enc"] == "gbk":
            chars = []
            while True:
                c = rng.choice(GBK_SAMPLE) if rng.random() < 0.3 else chr(rng.randrange(0x20, 0x7F))
                if len("".join(chars + [c]).encode("gbk")) > size:
                    break
                chars.append(c)
            doc[key] = "".join(chars)
        else:
            alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 "
            printable = "".join(chr(c) for c in range(0x20, 0x7F))
            alphabet = printable if key in ("41", "42") else alnum
            doc[key] = "".join(rng.choice(alphabet) for _ in range(size))
    return doc


def write_python_messages(directory, problems, count):
    out = directory / "python"
    out.mkdir(parents=True, exist_ok=True)
    messages = hand_made()
    rng = random.Random(8583)
    for i in range(count):
        messages[f"random_{i:03d}"] = random_message(rng)
    for name, doc in messages.items():
        for key, width in FIXED_TEXT.items():
            if key in doc:
                doc[key] = doc[key].ljust(width)  # spec: fixed text is space-padded
        try:
            raw, encoded = iso8583.encode(dict(doc), SPEC)
        except iso8583.EncodeError as e:
            problems.append(f"python/{name}: pyiso8583 cannot encode it: {e}")
            continue
        lines = [f"mti {doc['t']}"]
        for key in sorted((k for k in doc if k.isdigit()), key=int):
            spec = SPEC[key]
            if spec["data_enc"] == "b" and spec.get("len_count") == "nibbles":
                lines.append(f"{key} digits {doc[key]}")
            elif spec["data_enc"] == "b":
                lines.append(f"{key} binary {doc[key]}")
            else:
                lines.append(f"{key} text {bytes(encoded[key]['data']).hex().upper()}")
        (out / f"{name}.fields").write_text("\n".join(lines) + "\n")
        (out / f"{name}.hex").write_text(bytes(raw).hex().upper() + "\n")
    return len(messages)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="holds rust/; python/ is written")
    parser.add_argument("--random", type=int, default=200, help="random messages to encode")
    args = parser.parse_args()

    problems = []
    decoded = check_rust_messages(args.dir, problems)
    if decoded == 0:
        problems.append(f"no rust/*.json messages under {args.dir}")
    written = write_python_messages(args.dir, problems, args.random)
    if problems:
        print(f"crosscheck: {len(problems)} disagreements", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"crosscheck: pyiso8583 {iso8583.__version__} decoded {decoded} messages of ours identically; "
          f"wrote {written} of its own for the Rust side")
    return 0


if __name__ == "__main__":
    sys.exit(main())
