//! Cancellation of a flow in progress: the cashier presses cancel on one
//! task while the flow waits on another. A flow checks it only where
//! stopping is safe (before a request leaves, or while it waits for the
//! customer) and then ends cleanly (an order cancelled, a reversal queued).

use std::sync::Arc;

use tokio::sync::watch;

/// Cheap to clone; every clone sees the same cancel.
#[derive(Debug, Clone)]
pub struct Cancel(Arc<watch::Sender<bool>>);

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

impl Cancel {
    pub fn new() -> Self {
        Self(Arc::new(watch::Sender::new(false)))
    }

    /// Asks the flow to stop; it stops at its next safe point.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once [`Cancel::cancel`] has been called.
    pub async fn cancelled(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close here.
        let _ = rx.wait_for(|cancelled| *cancelled).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancel_wakes_a_waiting_flow() {
        let cancel = Cancel::new();
        assert!(!cancel.is_cancelled());
        let other = cancel.clone();
        let waiter = tokio::spawn(async move { other.cancelled().await });
        tokio::task::yield_now().await;
        cancel.cancel();
        waiter.await.unwrap();
        assert!(cancel.is_cancelled());
        // Already cancelled: returns at once.
        cancel.cancelled().await;
    }
}
