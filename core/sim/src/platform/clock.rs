//! The simulator's clock: real time or a fixed instant, either of which
//! tests can move forward.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, injectable. Clones share the same time.
#[derive(Debug, Clone)]
pub struct SimClock {
    /// `None`: the system clock.
    base: Option<i64>,
    offset: Arc<AtomicI64>,
}

impl SimClock {
    /// The system clock (plus whatever [`advance`](Self::advance) adds).
    pub fn system() -> Self {
        Self {
            base: None,
            offset: Arc::new(AtomicI64::new(0)),
        }
    }

    /// A clock standing still at `unix_seconds` until advanced.
    pub fn fixed(unix_seconds: i64) -> Self {
        Self {
            base: Some(unix_seconds),
            offset: Arc::new(AtomicI64::new(0)),
        }
    }

    /// A clock standing still at midnight UTC of a `YYYY-MM-DD` day.
    pub fn fixed_date(date: &str) -> Option<Self> {
        super::rules::parse_date(date).map(|days| Self::fixed(days * 86_400))
    }

    /// Moves the clock forward (every clone sees it).
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.offset
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(secs))
            })
            .ok();
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        let base = self.base.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0)
        });
        base.saturating_add(self.offset.load(Ordering::SeqCst))
    }

    /// Today (UTC) as days since 1970-01-01.
    pub fn today(&self) -> i64 {
        self.now().div_euclid(86_400)
    }
}

impl Default for SimClock {
    fn default() -> Self {
        Self::system()
    }
}
