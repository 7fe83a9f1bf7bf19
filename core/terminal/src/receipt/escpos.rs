//! ESC/POS bytes for thermal receipt printers: initialise, the laid-out
//! lines with bold and double height where the layout asks, Chinese text
//! in GBK (the code page such printers use in their Chinese mode), then
//! feed and a partial cut.

use super::layout::{Line, Style};

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const FS: u8 = 0x1C;

/// ESC @: initialise (clears styles left over from an earlier job).
const INIT: [u8; 2] = [ESC, b'@'];
/// FS &: Chinese character mode; FS .: back to single-byte characters.
const CHINESE_ON: [u8; 2] = [FS, b'&'];
const CHINESE_OFF: [u8; 2] = [FS, b'.'];
/// Lines fed before the cut, so the last line clears the cutter.
const FEED_LINES: u8 = 4;

fn bold(on: bool) -> [u8; 3] {
    [ESC, b'E', u8::from(on)]
}

/// GS ! n: bit 0 doubles the height.
fn size(tall: bool) -> [u8; 3] {
    [GS, b'!', u8::from(tall)]
}

/// Text as the printer's Chinese mode reads it: ASCII as is, everything
/// else in GBK; what GBK cannot encode prints as `?`.
fn gbk(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c as u8);
            continue;
        }
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(c.encode_utf8(&mut buf));
        if unmappable {
            out.push(b'?');
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

pub(crate) fn encode(lines: &[Line]) -> Vec<u8> {
    let chinese = lines.iter().any(|l| !l.text.is_ascii());
    let mut out = Vec::with_capacity(lines.iter().map(|l| l.text.len() + 8).sum::<usize>() + 16);
    out.extend_from_slice(&INIT);
    if chinese {
        out.extend_from_slice(&CHINESE_ON);
    }
    let mut current = Style::PLAIN;
    for line in lines {
        if line.style.bold != current.bold {
            out.extend_from_slice(&bold(line.style.bold));
        }
        if line.style.tall != current.tall {
            out.extend_from_slice(&size(line.style.tall));
        }
        current = line.style;
        out.extend_from_slice(&gbk(&line.text));
        out.push(b'\n');
    }
    if current != Style::PLAIN {
        out.extend_from_slice(&bold(false));
        out.extend_from_slice(&size(false));
    }
    if chinese {
        out.extend_from_slice(&CHINESE_OFF);
    }
    // ESC d n: print and feed n lines; GS V 1: partial cut.
    out.extend_from_slice(&[ESC, b'd', FEED_LINES]);
    out.extend_from_slice(&[GS, b'V', 1]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, style: Style) -> Line {
        Line {
            text: text.into(),
            style,
        }
    }

    #[test]
    fn styles_switch_only_where_they_change_and_the_job_ends_with_a_cut() {
        let job = encode(&[
            line("SHOP", Style::TITLE),
            line("SALE", Style::BOLD),
            line("TRACE NO 000042", Style::PLAIN),
        ]);
        let expected: Vec<u8> = [
            &[0x1B, b'@'][..],
            &[0x1B, b'E', 1, 0x1D, b'!', 1],
            b"SHOP\n",
            &[0x1D, b'!', 0],
            b"SALE\n",
            &[0x1B, b'E', 0],
            b"TRACE NO 000042\n",
            &[0x1B, b'd', 4, 0x1D, b'V', 1],
        ]
        .concat();
        assert_eq!(job, expected);
    }

    #[test]
    fn chinese_text_is_gbk_inside_chinese_mode() {
        let job = encode(&[line("咖啡 CAFE 😀", Style::PLAIN)]);
        assert_eq!(&job[..4], &[0x1B, b'@', 0x1C, b'&']);
        // 咖 = BFA7, 啡 = B7C8 in GBK; GBK has no code for the emoji.
        let body = [
            0xBF, 0xA7, 0xB7, 0xC8, b' ', b'C', b'A', b'F', b'E', b' ', b'?', b'\n',
        ];
        assert_eq!(&job[4..4 + body.len()], &body);
        assert_eq!(
            &job[4 + body.len()..],
            &[0x1C, b'.', 0x1B, b'd', 4, 0x1D, b'V', 1]
        );
    }
}
