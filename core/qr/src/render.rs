//! A code as a picture: PNG bytes for the app's screen, and Unicode half
//! blocks for a terminal. The QR symbol comes from the `qrcode` crate; the
//! PNG is written here, 1-bit grayscale, so no image library comes along.

use std::fmt;

use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the symbol: ISO/IEC 18004 asks for four, and
/// scanners miss codes drawn without them.
pub const QUIET_ZONE: usize = 4;

/// The largest pixels-per-module [`QrMatrix::to_png`] draws.
pub const MAX_SCALE: u32 = 32;

/// How much of the symbol can be damaged and still read; more means a
/// bigger symbol for the same text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorCorrection {
    /// About 7%.
    Low,
    /// About 15%: what wallets' own codes use; the default.
    #[default]
    Medium,
    /// About 25%.
    Quartile,
    /// About 30%.
    High,
}

/// The terminal's background, for [`QrMatrix::to_text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    /// Light text on a dark background, as most terminals: light modules
    /// are printed as blocks.
    Dark,
    /// Dark text on a light background: dark modules are printed as blocks.
    Light,
}

/// Why a code could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    #[error("the text is too long for a QR code ({0} bytes); shorten it or lower the error correction")]
    TooLong(usize),
    #[error("cannot draw a QR code: {0}")]
    Qr(String),
    #[error("pixels per module must be 1 to {MAX_SCALE}, not {0}")]
    BadScale(u32),
    #[error("cannot write the PNG: {0}")]
    Png(String),
}

/// A QR symbol: a square of dark and light modules.
#[derive(Clone, PartialEq, Eq)]
pub struct QrMatrix {
    width: usize,
    dark: Vec<bool>,
}

impl fmt::Debug for QrMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QrMatrix({0}x{0})", self.width)
    }
}

impl QrMatrix {
    /// The symbol for `text` at [`ErrorCorrection::Medium`].
    pub fn encode(text: &str) -> Result<Self, RenderError> {
        Self::encode_with(text, ErrorCorrection::default())
    }

    pub fn encode_with(text: &str, level: ErrorCorrection) -> Result<Self, RenderError> {
        let level = match level {
            ErrorCorrection::Low => EcLevel::L,
            ErrorCorrection::Medium => EcLevel::M,
            ErrorCorrection::Quartile => EcLevel::Q,
            ErrorCorrection::High => EcLevel::H,
        };
        let code = QrCode::with_error_correction_level(text.as_bytes(), level).map_err(|e| match e {
            qrcode::types::QrError::DataTooLong => RenderError::TooLong(text.len()),
            other => RenderError::Qr(other.to_string()),
        })?;
        Ok(QrMatrix {
            width: code.width(),
            dark: code.to_colors().into_iter().map(|c| c == Color::Dark).collect(),
        })
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark; outside the
    /// symbol (the quiet zone) everything is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// Modules per side with the quiet zone.
    fn side(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// Dark in the picture, quiet zone included.
    fn dark_at(&self, x: usize, y: usize) -> bool {
        x >= QUIET_ZONE && y >= QUIET_ZONE && self.is_dark(x - QUIET_ZONE, y - QUIET_ZONE)
    }

    /// A PNG, `scale` pixels per module, with the quiet zone: 1-bit
    /// grayscale, black on white.
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, RenderError> {
        if !(1..=MAX_SCALE).contains(&scale) {
            return Err(RenderError::BadScale(scale));
        }
        let scale = scale as usize;
        let pixels = self.side() * scale;
        let row_bytes = pixels.div_ceil(8);
        let mut image = vec![0u8; row_bytes * pixels];
        for (y, row) in image.chunks_exact_mut(row_bytes).enumerate() {
            for x in 0..pixels {
                // In 1-bit grayscale a set bit is white.
                if !self.dark_at(x / scale, y / scale) {
                    row[x / 8] |= 0x80 >> (x % 8);
                }
            }
        }
        let side = pixels as u32;
        let mut out = Vec::with_capacity(image.len() / 4 + 64);
        let png_error = |e: png::EncodingError| RenderError::Png(e.to_string());
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header().map_err(png_error)?;
        writer.write_image_data(&image).map_err(png_error)?;
        writer.finish().map_err(png_error)?;
        Ok(out)
    }

    /// The symbol in Unicode half blocks, two module rows to a line, with
    /// the quiet zone, for a terminal with a `background` background.
    pub fn to_text(&self, background: Background) -> String {
        let side = self.side();
        let mut out = String::with_capacity((side + 1) * side.div_ceil(2) * 3);
        for y in (0..side).step_by(2) {
            for x in 0..side {
                // What the terminal draws in its text colour.
                let inked = |y: usize| {
                    let dark = y < side && self.dark_at(x, y);
                    match background {
                        Background::Dark => !dark,
                        Background::Light => dark,
                    }
                };
                out.push(match (inked(y), inked(y + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_pixels_follow_the_modules() {
        let qr = QrMatrix::encode("000201").unwrap();
        assert_eq!(qr.width(), 21, "version 1");
        let png = qr.to_png(2).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let side = (21 + 2 * QUIET_ZONE) * 2;
        assert_eq!((info.width as usize, info.height as usize), (side, side));
        assert_eq!(info.bit_depth, png::BitDepth::One);
        for y in 0..side {
            for x in 0..side {
                let white = buf[y * info.line_size + x / 8] & (0x80 >> (x % 8)) != 0;
                assert_eq!(white, !qr.dark_at(x / 2, y / 2), "pixel {x},{y}");
            }
        }
        // The finder pattern's corner is dark, the quiet zone light.
        assert!(qr.is_dark(0, 0) && !qr.dark_at(0, 0));
    }

    #[test]
    fn text_has_the_quiet_zone() {
        let qr = QrMatrix::encode("000201").unwrap();
        let text = qr.to_text(Background::Dark);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), (21 + 8usize).div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == 29));
        // Two rows of quiet zone: light, so inked on a dark background.
        assert!(lines[0].chars().all(|c| c == '█'));
        assert!(
            qr.to_text(Background::Light)
                .lines()
                .next()
                .unwrap()
                .chars()
                .all(|c| c == ' ')
        );
    }

    #[test]
    fn refusals() {
        let qr = QrMatrix::encode("x").unwrap();
        assert_eq!(qr.to_png(0), Err(RenderError::BadScale(0)));
        assert_eq!(qr.to_png(33), Err(RenderError::BadScale(33)));
        assert_eq!(
            QrMatrix::encode(&"9".repeat(8000)),
            Err(RenderError::TooLong(8000))
        );
    }
}
