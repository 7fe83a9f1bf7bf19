//! Test support (feature `testing`; not part of the SDK's API).
//!
//! Every test that creates a database creates it under [`test_dir`], which
//! lies under `<target>/test-data/`, so a scan after the tests can look at
//! every database, WAL and backup file they produced.
//! [`scan_for_card_data`] is that scan: it looks for PANs (ASCII digits and
//! packed BCD), track data and PIN blocks in every file under a directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::card_data::pack_bcd;
use crate::error::{Result, StoreError};
use crate::vault::Keystore;

/// The root of all test data: `$POSKIT_TEST_DATA_DIR` if set, else
/// `<target>/test-data` where `<target>` is the cargo target directory
/// the running test binary was built in (found from its own path, so a
/// custom `CARGO_TARGET_DIR` works), else `<workspace>/target/test-data`.
pub fn test_data_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("POSKIT_TEST_DATA_DIR") {
        return PathBuf::from(dir);
    }
    // Test binaries live in <target>/<profile>/deps/, examples and benches
    // alike; plain binaries in <target>/<profile>/.
    if let Ok(exe) = std::env::current_exe() {
        let mut dir = exe.parent().map(Path::to_path_buf);
        if dir
            .as_ref()
            .and_then(|d| d.file_name())
            .is_some_and(|n| n == "deps")
        {
            dir = dir.and_then(|d| d.parent().map(Path::to_path_buf));
        }
        if let Some(target) = dir.and_then(|d| d.parent().map(Path::to_path_buf)) {
            if target.join("CACHEDIR.TAG").exists() || target.join(".rustc_info.json").exists() {
                return target.join("test-data");
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-data")
}

/// A fresh, empty directory for one test: `<root>/<test binary>/<name>-<n>`
/// (the binary's name without cargo's hash, `n` counting calls in this
/// process). A rerun replaces the previous run's directories instead of
/// piling up new ones. Left in place after the test, for the card-data
/// scan.
pub fn test_dir(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|stem| match stem.rsplit_once('-') {
            Some((base, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
                base.to_owned()
            }
            _ => stem,
        })
        .unwrap_or_else(|| "unknown".into());
    let dir = test_data_root()
        .join(clean(&binary))
        .join(format!("{}-{n}", clean(name)));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("the test data directory can be created");
    dir
}

/// A fast [`Keystore`] for tests: AES-256-GCM under a fixed key-encryption
/// key, no key stretching. Two instances with different seeds are two
/// different devices.
#[derive(Debug, Clone)]
pub struct TestKeystore {
    kek: [u8; 32],
}

impl TestKeystore {
    pub fn new(seed: u8) -> Self {
        Self { kek: [seed; 32] }
    }

    fn key(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.kek).expect("32-byte key"))
    }
}

impl Default for TestKeystore {
    fn default() -> Self {
        Self::new(0x42)
    }
}

impl Keystore for TestKeystore {
    fn wrap(&self, data_key: &[u8]) -> Result<Vec<u8>> {
        // A fixed nonce is acceptable only because each test keystore wraps
        // a handful of keys in throwaway databases.
        let mut out = data_key.to_vec();
        let tag = self
            .key()
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key([0; 12]), Aad::empty(), &mut out)
            .map_err(|_| StoreError::Crypto("test keystore"))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let mut buf = Zeroizing::new(wrapped.to_vec());
        let len = self
            .key()
            .open_in_place(
                Nonce::assume_unique_for_key([0; 12]),
                Aad::empty(),
                buf.as_mut_slice(),
            )
            .map_err(|_| StoreError::WrongKey)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// A byte pattern that must not appear at rest, with a label that is safe
/// to print (never the value itself).
#[derive(Clone)]
pub struct Needle {
    pub label: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Needle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Needle({}, {} bytes)", self.label, self.bytes.len())
    }
}

impl Needle {
    /// The forms a PAN takes in files: ASCII digits, packed BCD padded with
    /// `F` or `0` on the right (field 2 left-justified), and with a leading
    /// `0` (right-justified), plus the 12 digits a PIN block format 0 uses
    /// in ASCII. `label` names it in findings.
    pub fn pan(label: &str, digits: &str) -> Vec<Needle> {
        let mut out = vec![Needle {
            label: format!("{label} (ASCII)"),
            bytes: digits.as_bytes().to_vec(),
        }];
        let even = digits.len() % 2 == 0;
        // The BCD forms without their last, padded byte when the length is
        // odd, so any padding matches.
        let mut bcd_left = pack_bcd(digits.as_bytes(), 0x0F);
        if !even {
            bcd_left.pop();
        }
        out.push(Needle {
            label: format!("{label} (BCD)"),
            bytes: bcd_left,
        });
        if !even {
            let right = pack_bcd(format!("0{digits}").as_bytes(), 0x0F);
            out.push(Needle {
                label: format!("{label} (BCD, right-justified)"),
                bytes: right,
            });
        }
        out
    }

    /// Track 2 data in ASCII (with `D` and `=` as separator) and packed BCD.
    pub fn track2(label: &str, track: &str) -> Vec<Needle> {
        let upper = track.to_ascii_uppercase();
        let mut bcd = pack_bcd(upper.as_bytes(), 0x0F);
        if upper.len() % 2 == 1 {
            bcd.pop();
        }
        vec![
            Needle {
                label: format!("{label} (ASCII)"),
                bytes: upper.as_bytes().to_vec(),
            },
            Needle {
                label: format!("{label} (ASCII, '=')"),
                bytes: upper.replace('D', "=").into_bytes(),
            },
            Needle {
                label: format!("{label} (BCD)"),
                bytes: bcd,
            },
        ]
    }

    /// Raw bytes (a PIN block), also as upper- and lower-case hex text.
    pub fn bytes(label: &str, bytes: &[u8]) -> Vec<Needle> {
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        vec![
            Needle {
                label: format!("{label} (binary)"),
                bytes: bytes.to_vec(),
            },
            Needle {
                label: format!("{label} (hex)"),
                bytes: hex.clone().into_bytes(),
            },
            Needle {
                label: format!("{label} (hex, lower case)"),
                bytes: hex.to_ascii_lowercase().into_bytes(),
            },
        ]
    }
}

/// Card data found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: PathBuf,
    pub offset: usize,
    /// The needle's label (never its value).
    pub needle: String,
}

/// Every occurrence of every needle in every file under `dir` (recursive).
/// Unreadable files are reported as findings with the label
/// `"unreadable"`, so a scan never passes by not looking.
pub fn scan_for_card_data(dir: &Path, needles: &[Needle]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(content) = fs::read(&path) else {
                // Files removed between listing and reading (a WAL after a
                // checkpoint) are gone, which is fine.
                if path.exists() {
                    findings.push(Finding {
                        file: path,
                        offset: 0,
                        needle: "unreadable".into(),
                    });
                }
                continue;
            };
            find_all(&path, &content, needles, &mut findings);
        }
    }
    findings
}

/// One pass over `content`, comparing needles only where their first byte
/// occurs: the scan runs over every test file, in debug builds too.
fn find_all(path: &Path, content: &[u8], needles: &[Needle], findings: &mut Vec<Finding>) {
    let mut by_first: Vec<Vec<&Needle>> = vec![Vec::new(); 256];
    for needle in needles.iter().filter(|n| !n.bytes.is_empty()) {
        by_first[usize::from(needle.bytes[0])].push(needle);
    }
    for (offset, &byte) in content.iter().enumerate() {
        for needle in &by_first[usize::from(byte)] {
            if content[offset..].starts_with(&needle.bytes) {
                findings.push(Finding {
                    file: path.to_path_buf(),
                    offset,
                    needle: needle.label.clone(),
                });
            }
        }
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_finds_every_form_of_planted_card_data() {
        // Planted outside the test-data tree so the workspace-wide scan
        // never trips over it.
        let dir = std::env::temp_dir().join(format!("poskit-scanner-selftest-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub")).unwrap();
        let pan = "4012345678909";
        let mut content = b"xx".to_vec();
        content.extend_from_slice(pan.as_bytes());
        content.extend_from_slice(b"yy");
        content.extend_from_slice(&pack_bcd(pan.as_bytes(), 0x0F));
        content.extend_from_slice(&[0x04, 0x12, 0x74, 0xEF]);
        fs::write(dir.join("sub/planted.bin"), &content).unwrap();
        fs::write(dir.join("clean.bin"), b"nothing here 401234***8909").unwrap();

        let mut needles = Needle::pan("test PAN", pan);
        needles.extend(Needle::bytes("PIN block", &[0x04, 0x12, 0x74, 0xEF]));
        let findings = scan_for_card_data(&dir, &needles);
        let labels: Vec<&str> = findings.iter().map(|f| f.needle.as_str()).collect();
        assert!(labels.contains(&"test PAN (ASCII)"), "{labels:?}");
        assert!(labels.contains(&"test PAN (BCD)"), "{labels:?}");
        assert!(labels.contains(&"PIN block (binary)"), "{labels:?}");
        assert!(findings.iter().all(|f| f.file.ends_with("sub/planted.bin")));
        assert!(!format!("{findings:?}").contains(pan));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn test_dirs_are_fresh_and_under_the_root() {
        let a = test_dir("fresh");
        let b = test_dir("fresh");
        assert_ne!(a, b);
        assert!(a.starts_with(test_data_root()));
        assert!(fs::read_dir(&a).unwrap().next().is_none());
    }
}
