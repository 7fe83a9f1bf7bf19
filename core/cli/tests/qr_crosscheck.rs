//! Cross-check `posctl qr` with an independent EMVCo QR implementation,
//! cemacqr (PyPI), driven by scripts/qr_crosscheck.py: posctl must decode
//! the codes cemacqr makes to the same values (and refuse what cemacqr
//! refuses), and cemacqr must read the codes posctl encodes to the values
//! posctl was given. See the script for the details.

use std::path::Path;
use std::process::Command;

fn cemacqr_available() -> bool {
    Command::new("python3")
        .args(["-c", "import cemacqr"])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn cemacqr_agrees_with_posctl() {
    assert!(
        cemacqr_available(),
        "the QR cross-check needs python3 with cemacqr: run \
         `python3 -m pip install --user cemacqr==0.1.2` (scripts/install-deps.sh does)"
    );
    let dir = poskit_store::testing::test_dir("qr-crosscheck");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/qr_crosscheck.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(["--posctl", env!("CARGO_BIN_EXE_posctl")])
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stdout}{stderr}",
        script.display(),
        out.status
    );
    eprint!("{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}
