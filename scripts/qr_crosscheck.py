#!/usr/bin/env python3
"""Cross-check `posctl qr` against an independent EMVCo QR library, cemacqr.

cemacqr (PyPI, Apache-2.0) reads, builds and validates EMV QRCPS
merchant-presented codes with no code in common with poskit-qr. With the
posctl binary given by --posctl, in the directory given by --dir:

1. Codes made by cemacqr: the EMVCo appendix example, hand-made ones that
   exercise one rule each, and seeded random ones (objects in any order,
   non-ASCII names, prompts, tips, "98." amounts). `posctl qr decode --json`
   must call each valid, with the CRC valid and every value the same
   string. Each code with one character changed must be refused by both.
   Hand-made codes that break a rule must be refused by both.
2. Codes made by posctl: seeded random JSON documents, written to
   json/NAME.json and encoded with `posctl qr encode --json`. cemacqr must
   read each with a valid CRC, find no rule broken, and find the very
   values of the document, ordered by id with 00 first and 63 last.

Exit status 0 when everything agrees, 1 with a list of disagreements,
2 when cemacqr is missing. Needs `python3 -m pip install --user cemacqr==0.1.2`.
"""

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

try:
    import cemacqr
except ImportError:
    print("cemacqr is not installed: run `python3 -m pip install --user cemacqr==0.1.2`", file=sys.stderr)
    sys.exit(2)

TEMPLATES = set(range(26, 52)) | {62, 64} | set(range(80, 100))
ANS = "".join(chr(c) for c in range(0x20, 0x7F))
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
WIDE = "最佳运输北京上海餐厅咖啡éüñ"

EMVCO_EXAMPLE = (
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678"
    "520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京"
    "540523.7253031565502016233030412340603***0708A60086670902ME"
    "91320016A0112233449988770708123456786304A13A"
)


def tag(n):
    return "%02d" % n


def tlv_text(objects):
    """[(tag, str | [(sub, str)])] as payload text, without a CRC."""
    out = []
    for t, value in objects:
        if isinstance(value, list):
            value = "".join(cemacqr.encode(s, v) for s, v in value)
        out.append(cemacqr.encode(t, value))
    return "".join(out)


def as_dict(objects):
    return {t: dict(v) if isinstance(v, list) else v for t, v in objects}


def text(rng, alphabet, low, high):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def amount(rng):
    whole = str(rng.randint(1, 10 ** rng.randint(1, 9)))
    return rng.choice([whole, whole + ".", "%s.%02d" % (whole, rng.randint(0, 99)), "%s.%d" % (whole, rng.randint(0, 9))])


def random_objects(rng):
    """A valid set of data objects, drawn independently of the Rust tests."""
    objects = [("00", "01")]
    if rng.random() < 0.7:
        objects.append(("01", rng.choice(["11", "12"])))
    ids = rng.sample(range(2, 52), rng.randint(1, 2))
    for i in sorted(ids):
        if i < 26:
            objects.append((tag(i), text(rng, ALNUM, 1, 30)))
        else:
            gui = rng.choice(
                [
                    "A0000006" + "".join(rng.choice("0123456789ABCDEF") for _ in range(rng.randint(2, 24))),
                    "com." + text(rng, "abcdefghijklmnopqrstuvwxyz", 2, 12) + ".pay",
                ]
            )
            subs = sorted(rng.sample(range(1, 100), rng.randint(0, 2)))
            objects.append((tag(i), [("00", gui)] + [(tag(s), text(rng, ANS, 1, 20)) for s in subs]))
    objects.append(("52", "%04d" % rng.randint(0, 9999)))
    objects.append(("53", "%03d" % rng.randint(0, 999)))
    if rng.random() < 0.7:
        objects.append(("54", amount(rng)))
    tip = rng.choice([None, "01", "02", "03"])
    if tip:
        objects.append(("55", tip))
        if tip == "02":
            objects.append(("56", amount(rng)))
        if tip == "03":
            objects.append(("57", "%02d.%02d" % (rng.randint(0, 99), rng.randint(1, 99))))
    objects.append(("58", text(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2, 2)))
    objects.append(("59", text(rng, ANS, 1, 25)))
    objects.append(("60", text(rng, ANS, 1, 15)))
    if rng.random() < 0.3:
        objects.append(("61", text(rng, ALNUM, 1, 10)))
    if rng.random() < 0.7:
        subs = sorted(rng.sample(range(1, 9), rng.randint(1, 3)))
        children = [(tag(s), "***" if rng.random() < 0.2 else text(rng, ANS, 1, 25)) for s in subs]
        if rng.random() < 0.3:
            children.append(("09", "".join(rng.sample("AME", rng.randint(1, 3)))))
        objects.append(("62", children))
    if rng.random() < 0.4:
        children = [("00", text(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2, 2)), ("01", text(rng, WIDE + "abc ", 1, 25))]
        if rng.random() < 0.5:
            children.append(("02", text(rng, WIDE, 1, 15)))
        objects.append(("64", children))
    if rng.random() < 0.2:
        objects.append((tag(rng.randint(80, 99)), [("00", "A0112233449988"), ("01", text(rng, ANS, 1, 20))]))
    return objects


def hand_made():
    """Valid codes that each lean on one rule."""
    base = [("26", [("00", "A000000333"), ("01", "1234")]), ("52", "5812"), ("53", "156")]
    tail = [("58", "CN"), ("59", "NOODLE HOUSE"), ("60", "SHANGHAI")]
    return {
        "static_no_amount": [("00", "01"), ("01", "11")] + base + tail,
        "amount_trailing_point": [("00", "01")] + base + [("54", "98.")] + tail,
        "tip_prompt": [("00", "01")] + base + [("54", "10"), ("55", "01")] + tail,
        "fee_fixed": [("00", "01")] + base + [("55", "02"), ("56", "1.50")] + tail,
        "fee_percentage": [("00", "01")] + base + [("55", "03"), ("57", "10.00")] + tail,
        "scheme_accounts": [("00", "01"), ("02", "4000123456789012"), ("15", "62000012345678901")]
        + base[1:]
        + tail,
        "language_template": [("00", "01")] + base + tail + [("64", [("00", "ZH"), ("01", "面馆"), ("02", "上海")])],
        "prompts": [("00", "01")] + base + tail + [("62", [("02", "***"), ("08", "***"), ("09", "AME")])],
        "unreserved_template": [("00", "01")] + base + tail + [("80", [("00", "com.example"), ("07", "X")])],
    }


def broken():
    """Codes that break one rule each, with a correct CRC."""
    acct = ("26", [("00", "A000000333")])
    ok = [("00", "01"), acct, ("52", "5812"), ("53", "156"), ("58", "CN"), ("59", "SHOP"), ("60", "CITY")]
    drop = lambda t: [o for o in ok if o[0] != t]  # noqa: E731
    return {
        "missing_mcc": drop("52"),
        "missing_name": drop("59"),
        "no_account": [o for o in ok if o is not acct],
        "amount_comma": ok + [("54", "12,50")],
        "amount_zero": ok + [("54", "0.00")],
        "mcc_letters": drop("52") + [("52", "58A2")],
        "currency_long": drop("53") + [("53", "1560")],
        "fixed_fee_without_indicator": ok + [("56", "1.00")],
        "indicator_02_without_fee": ok + [("55", "02")],
        "percentage_out_of_range": ok + [("55", "03"), ("57", "00.00")],
        "format_indicator_not_first": [ok[1], ok[0]] + ok[2:],
        "format_indicator_02": [("00", "02")] + ok[1:],
        "duplicate_name": ok + [("59", "OTHER")],
        "language_without_name": ok + [("64", [("00", "ZH")])],
        "name_too_long": drop("59") + [("59", "N" * 26)],
    }


class Posctl:
    def __init__(self, path):
        self.path = path

    def run(self, *args):
        out = subprocess.run([self.path, "qr", *args], capture_output=True, text=True, timeout=30)
        return out.returncode, out.stdout, out.stderr

    def decode(self, code):
        rc, out, err = self.run("decode", code, "--json")
        try:
            doc = json.loads(out) if out.strip() else None
        except json.JSONDecodeError:
            doc = None
        return rc, doc, err


def check_their_codes(posctl, rng, count, problems):
    codes = {"emvco_example": (EMVCO_EXAMPLE, None)}
    for name, objects in hand_made().items():
        codes[name] = (str(cemacqr.build(cemacqr.parse_tlv(tlv_text(objects)))), objects)
    for i in range(count):
        while True:
            objects = random_objects(rng)
            # Any order between 00 and the CRC is allowed, and must survive.
            if rng.random() < 0.3:
                middle = objects[1:]
                rng.shuffle(middle)
                objects = objects[:1] + middle
            body = tlv_text(objects)
            if len(body) + 8 <= 512:
                break
        codes["random_%03d" % i] = (str(cemacqr.build(cemacqr.parse_tlv(body))), objects)

    checked = 0
    for name, (code, objects) in codes.items():
        theirs = cemacqr.parse_payload(code)
        report = cemacqr.validate(theirs)
        if not (theirs.crc_ok and report.ok):
            problems.append("%s: cemacqr itself finds the code invalid: %s" % (name, report))
            continue
        expected = {t.tag: ({c.tag: c.value for c in t.children()} if int(t.tag) in TEMPLATES else t.value) for t in theirs.objects}
        if objects is not None and {k: v for k, v in expected.items() if k != "63"} != as_dict(objects):
            problems.append("%s: cemacqr reads back other values than it was given" % name)
        rc, doc, err = posctl.decode(code)
        if rc != 0 or doc is None:
            problems.append("%s: posctl refuses a code cemacqr accepts (exit %s): %s" % (name, rc, err.strip()))
            continue
        if not (doc["valid"] and doc["crc"]["valid"]):
            problems.append("%s: posctl says valid=%s crc=%s" % (name, doc["valid"], doc["crc"]))
        if doc["objects"] != expected:
            problems.append("%s: posctl decodes other values: %s != %s" % (name, doc["objects"], expected))
        checked += 1

        # One character changed: both refuse it (the CRC, at least).
        chars = list(code)
        at = rng.randrange(len(chars) - 4)
        chars[at] = "7" if chars[at] != "7" else "8"
        damaged = "".join(chars)
        try:
            still_ok = cemacqr.parse_payload(damaged).crc_ok
        except cemacqr.CemacQrError:
            still_ok = False
        rc, _, _ = posctl.decode(damaged)
        if still_ok or rc != 1:
            problems.append("%s: a damaged copy: cemacqr crc_ok=%s, posctl exit %s" % (name, still_ok, rc))
    return checked


def check_broken_codes(posctl, problems, verbose=False):
    for name, objects in broken().items():
        code = str(cemacqr.build(cemacqr.parse_tlv(tlv_text(objects))))
        report = cemacqr.validate(cemacqr.parse_payload(code))
        rc, doc, err = posctl.decode(code)
        if verbose:
            print("broken/%s: %s" % (name, err.strip()))
        if report.ok:
            problems.append("broken/%s: cemacqr accepts it" % name)
        if rc != 1 or doc is None or doc["valid"] or not doc["crc"]["valid"]:
            problems.append("broken/%s: posctl exit %s, %s" % (name, rc, doc and (doc["valid"], doc["crc"])))
    return len(broken())


def check_our_codes(posctl, directory, rng, count, problems):
    out = directory / "json"
    out.mkdir(parents=True, exist_ok=True)
    checked = 0
    for i in range(count):
        while True:
            objects = random_objects(rng)
            if len(tlv_text(objects)) + 8 <= 512:
                break
        document = as_dict(objects)
        if rng.random() < 0.5:
            document["63"] = "FFFF"  # the encoder replaces it
        path = out / ("random_%03d.json" % i)
        path.write_text(json.dumps(document, ensure_ascii=False))
        rc, code, err = posctl.run("encode", "--json", str(path))
        code = code.strip()
        if rc != 0:
            problems.append("json/%s: posctl cannot encode it (exit %s): %s" % (path.name, rc, err.strip()))
            continue
        theirs = cemacqr.parse_payload(code)
        report = cemacqr.validate(theirs)
        if not theirs.crc_ok:
            problems.append("json/%s: cemacqr computes another CRC than %s" % (path.name, theirs.stated_crc))
        if not report.ok:
            problems.append("json/%s: cemacqr finds rules broken: %s" % (path.name, report))
        tags = theirs.tags
        if tags[0] != "00" or tags[-1] != "63" or tags[:-1] != sorted(tags[:-1]):
            problems.append("json/%s: objects out of order: %s" % (path.name, tags))
        got = {t.tag: ({c.tag: c.value for c in t.children()} if int(t.tag) in TEMPLATES else t.value) for t in theirs.objects}
        got.pop("63", None)
        document.pop("63", None)
        if got != document:
            problems.append("json/%s: cemacqr reads other values: %s != %s" % (path.name, got, document))
        checked += 1
    return checked


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posctl", required=True, help="the posctl binary")
    parser.add_argument("--dir", type=Path, required=True, help="json/ is written here")
    parser.add_argument("--random", type=int, default=150, help="random codes each way")
    parser.add_argument("--verbose", action="store_true", help="print why posctl refuses each broken code")
    args = parser.parse_args()

    posctl = Posctl(args.posctl)
    rng = random.Random(0x51C0DE)
    problems = []
    theirs = check_their_codes(posctl, rng, args.random, problems)
    broken_count = check_broken_codes(posctl, problems, args.verbose)
    ours = check_our_codes(posctl, args.dir, rng, args.random, problems)
    if problems:
        print("crosscheck: %d disagreements" % len(problems), file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print(
        "crosscheck: posctl decoded %d cemacqr codes identically (and refused their damaged copies), "
        "refused %d broken codes with cemacqr, and cemacqr read %d posctl codes identically" % (theirs, broken_count, ours)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
