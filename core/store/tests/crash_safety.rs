//! Crash safety (DESIGN rule 4 and Testing: "kill the process at every
//! journal write point; afterwards nothing is lost and nothing is charged
//! twice").
//!
//! The parent re-runs this test binary as a child (`crash_child`, selected
//! by an environment variable) that opens a store and runs the writes of a
//! card sale: record_new -> mark_sent -> record_response (approved) -> TC
//! upload queued -> batch closed with totals -> audit record. Every write
//! point the store passes is numbered; the child calls
//! `std::process::abort()` at point N, after printing each point and each
//! call it saw succeed ("acknowledged"). For every N the parent reopens the
//! database and checks the journal: legal states only, a sent transaction
//! always has its approval or a reversal, no STAN reused, nothing
//! acknowledged lost, every multi-row step all-or-nothing; then recovers and
//! checks that a new sale carries on cleanly. The loop ends at the first N
//! the child survives, which proves every point was visited.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{T0, approved, approved_sale, sale};
use poskit_store::testing::{TestKeystore, test_dir};
use poskit_store::{ReversalStatus, SafKind, Store, TxnKind, TxnState};

const CHILD_DIR: &str = "POSKIT_CRASH_CHILD_DIR";
const CRASH_AT: &str = "POSKIT_CRASH_AT";
const PAN: &str = "4761739001010010";
const TC: &str = "9F2608CAFEBABE000000019F270140";

/// The child's side. Does nothing in a normal test run.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let crash_at: u32 = std::env::var(CRASH_AT).unwrap().parse().unwrap();
    let path = PathBuf::from(dir).join("terminal.db");
    let mut store = Store::open(&path, &TestKeystore::default()).unwrap();
    let mut n = 0u32;
    store.set_write_hook(move |name| {
        n += 1;
        println!("POINT {n} {name}");
        if n == crash_at {
            std::process::abort();
        }
    });
    let now = T0 + 1000;
    let rec = store.record_new(&sale(4200, Some(PAN), now)).unwrap();
    println!("ACK record_new {} {}", rec.id.0, rec.stan);
    store.mark_sent(rec.id, now).unwrap();
    println!("ACK mark_sent");
    store
        .record_response(rec.id, &approved("777777", "000000000777"), now + 1)
        .unwrap();
    println!("ACK record_response");
    store
        .enqueue_saf(rec.id, SafKind::TcUpload, &hex::decode(TC).unwrap(), now + 2)
        .unwrap();
    println!("ACK enqueue_saf");
    let totals = store.close_batch(now + 3).unwrap();
    println!("ACK close_batch {}", totals.batch_no);
    store
        .append_audit(
            now + 4,
            "terminal",
            "batch_closed",
            &serde_json::json!({"batch": totals.batch_no}),
        )
        .unwrap();
    println!("ACK append_audit");
}

/// What the child printed before it died.
#[derive(Debug, Default)]
struct ChildLog {
    points: Vec<String>,
    acks: Vec<String>,
    new_txn: Option<(i64, u32)>,
}

impl ChildLog {
    fn parse(stdout: &str) -> Self {
        let mut log = ChildLog::default();
        // The harness prints "test crash_child ... " before the first line.
        let after = |line: &'_ str, tag: &str| line.find(tag).map(|i| line[i + tag.len()..].to_owned());
        for line in stdout.lines() {
            if let Some(rest) = after(line, "POINT ") {
                let (_, name) = rest.split_once(' ').unwrap();
                log.points.push(name.to_owned());
            } else if let Some(rest) = after(line, "ACK ") {
                let mut words = rest.split(' ');
                let op = words.next().unwrap().to_owned();
                if op == "record_new" {
                    let id = words.next().unwrap().parse().unwrap();
                    let stan = words.next().unwrap().parse().unwrap();
                    log.new_txn = Some((id, stan));
                }
                log.acks.push(op);
            }
        }
        log
    }

    fn acked(&self, op: &str) -> bool {
        self.acks.iter().any(|a| a == op)
    }

    /// The step's commit returned (whether or not the caller got to
    /// acknowledge it).
    fn committed(&self, op: &str) -> bool {
        self.acked(op) || self.points.iter().any(|p| *p == format!("{op}: committed"))
    }
}

/// A store with one sale already acknowledged, as the child finds it.
fn prepare(dir: &Path) -> (i64, u32) {
    let mut store = Store::open(dir.join("terminal.db"), &TestKeystore::default()).unwrap();
    let rec = approved_sale(&mut store, 1000, Some("5413330089020011"), T0);
    (rec.id.0, rec.stan)
}

fn run_child(dir: &Path, crash_at: u32) -> (bool, ChildLog) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CRASH_AT, crash_at.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    (output.status.success(), ChildLog::parse(&stdout))
}

fn check_after_crash(dir: &Path, prior: (i64, u32), log: &ChildLog, point: &str) {
    let ctx = format!("crash at '{point}', acknowledged {:?}", log.acks);
    let mut store = Store::open(dir.join("terminal.db"), &TestKeystore::default()).unwrap();
    store.check_integrity().unwrap();
    let txns = store.transactions_between(0, i64::MAX).expect(&ctx);

    // The sale acknowledged before the child started is untouched.
    let before = txns.iter().find(|t| t.id.0 == prior.0).expect(&ctx);
    assert!(
        matches!(before.state, TxnState::Approved | TxnState::Settled),
        "{ctx}"
    );
    assert_eq!(before.stan, prior.1, "{ctx}");

    // Legal states, and the reversal rule of DESIGN rule 4.
    for t in &txns {
        let reversal = store.reversal(t.id).unwrap();
        match t.state {
            TxnState::Pending => assert_eq!(reversal, None, "{ctx}"),
            TxnState::Sent => assert_eq!(reversal, Some(ReversalStatus::Provisional), "{ctx}"),
            TxnState::Approved | TxnState::Settled => {
                assert_eq!(
                    reversal, None,
                    "{ctx}: approval and dropped reversal are one commit"
                )
            }
            other => panic!("{ctx}: unexpected state {other}"),
        }
    }

    // No STAN used twice in a batch, and every one logged.
    let duplicates: i64 = store
        .raw_connection()
        .query_row(
            "SELECT COUNT(*) FROM (SELECT batch_no, stan FROM transactions GROUP BY batch_no, stan
             HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(duplicates, 0, "{ctx}");
    let unlogged: i64 = store
        .raw_connection()
        .query_row(
            "SELECT COUNT(*) FROM transactions t WHERE NOT EXISTS (SELECT 1 FROM stan_log l
             WHERE l.batch_no = t.batch_no AND l.stan = t.stan AND l.txn_id = t.id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unlogged, 0, "{ctx}");

    // Nothing acknowledged is lost, and each step is all or nothing: its
    // effects are there exactly when its commit returned.
    let new = txns.iter().find(|t| t.id.0 != prior.0);
    assert_eq!(new.is_some(), log.committed("record_new"), "{ctx}");
    if let Some((id, stan)) = log.new_txn {
        let t = new.expect(&ctx);
        assert_eq!((t.id.0, t.stan), (id, stan), "{ctx}");
        assert_eq!(t.pan_masked.as_deref(), Some("476173******0010"), "{ctx}");
    }
    if let Some(t) = new {
        let expected = if log.committed("record_response") {
            TxnState::Approved
        } else if log.committed("mark_sent") {
            TxnState::Sent
        } else {
            TxnState::Pending
        };
        assert_eq!(t.state, expected, "{ctx}");
        if expected == TxnState::Approved {
            assert_eq!(t.auth_code.as_deref(), Some("777777"), "{ctx}");
        }
    }
    let saf = store.pending_saf().unwrap();
    assert_eq!(saf.len(), usize::from(log.committed("enqueue_saf")), "{ctx}");
    if let Some(entry) = saf.first() {
        assert_eq!(entry.payload, hex::decode(TC).unwrap(), "{ctx}");
    }
    // Closing: state, totals and the next batch together.
    let batch1 = store.batch(1).unwrap();
    let totals = store.batch_totals(1).unwrap();
    if log.committed("close_batch") {
        assert_eq!(batch1.state, poskit_store::BatchState::Closed, "{ctx}");
        assert_eq!(store.open_batch().unwrap().unwrap().batch_no, 2, "{ctx}");
        assert_eq!(totals.len(), 1, "{ctx}");
        assert_eq!(
            (totals[0].kind, totals[0].count, totals[0].amount),
            (TxnKind::Sale, 2, 5200),
            "{ctx}"
        );
    } else {
        assert_eq!(batch1.state, poskit_store::BatchState::Open, "{ctx}");
        assert!(totals.is_empty(), "{ctx}");
    }
    let audit = store.verify_audit().expect(&ctx);
    assert_eq!(audit.records, u64::from(log.committed("append_audit")), "{ctx}");

    // Restart: whatever was in flight becomes work, and a transaction that
    // reached `sent` now has its approval or a reversal due.
    let recovery = store.recover_in_flight(T0 + 5000).unwrap();
    for t in store.transactions_between(0, i64::MAX).unwrap() {
        match t.state {
            TxnState::Approved | TxnState::Settled => {}
            TxnState::ReversalPending => {
                assert!(recovery.reversals_due.contains(&t.id), "{ctx}");
                assert_eq!(
                    store.reversal(t.id).unwrap(),
                    Some(ReversalStatus::Pending),
                    "{ctx}"
                );
            }
            TxnState::Aborted => assert!(recovery.aborted.contains(&t.id), "{ctx}"),
            other => panic!("{ctx}: after recovery: {other}"),
        }
    }
    assert_eq!(store.unsettled().unwrap().in_flight, 0, "{ctx}");

    // The next sale gets a STAN unused in its batch.
    let used: Vec<(u32, u32)> = store
        .transactions_between(0, i64::MAX)
        .unwrap()
        .iter()
        .map(|t| (t.batch_no, t.stan))
        .collect();
    let next = store.record_new(&sale(1, None, T0 + 6000)).unwrap();
    assert!(!used.contains(&(next.batch_no, next.stan)), "{ctx}");
}

#[test]
fn a_crash_at_any_write_point_loses_nothing_acknowledged() {
    let mut crashes = 0;
    for n in 1..200u32 {
        let dir = test_dir(&format!("crash-at-{n}"));
        let prior = prepare(&dir);
        let (survived, log) = run_child(&dir, n);
        if survived {
            assert_eq!(log.points.len() as u32, n - 1, "the child passed every point");
            assert_eq!(log.acks.len(), 6, "{:?}", log.acks);
            break;
        }
        assert_eq!(
            log.points.len() as u32,
            n,
            "the child died at point {n}: {:?}",
            log.points
        );
        let point = log.points.last().unwrap().clone();
        check_after_crash(&dir, prior, &log, &point);
        crashes += 1;
    }
    eprintln!("crash test: killed the process at {crashes} write points, all consistent");
    assert!(crashes >= 20, "only {crashes} write points");
}
