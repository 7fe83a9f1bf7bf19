//! Running posctl as a user does, for the CLI tests.

#![allow(dead_code)]

use std::process::Command;

/// Runs `command`: exit code, stdout, stderr.
pub fn run(command: &mut Command) -> (Option<i32>, String, String) {
    let out = command.output().expect("posctl runs");
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `posctl ARGS`.
pub fn posctl(args: &[&str]) -> (Option<i32>, String, String) {
    run(Command::new(env!("CARGO_BIN_EXE_posctl")).args(args))
}
