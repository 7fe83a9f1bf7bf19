//! The receipt printer, a device the app implements (DESIGN rule 2), and
//! an in-memory one for tests and the simulators.

use std::collections::VecDeque;
use std::sync::Mutex;

/// Why a print job failed. The messages tell the cashier what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrinterError {
    #[error("out of paper: load a new roll and print again")]
    OutOfPaper,
    #[error("the printer cover is open: close it and print again")]
    CoverOpen,
    #[error("the print head is too hot: wait a minute and print again")]
    Overheated,
    #[error("the printer is offline ({0}): check its power and connection, then print again")]
    Offline(String),
    #[error("the printer refused the job ({0}): print again, or restart the printer")]
    Failed(String),
}

/// A receipt printer taking ESC/POS jobs.
pub trait Printer: Send + Sync {
    /// Prints one job; returns once the printer accepted it.
    fn print(&self, job: &[u8]) -> Result<(), PrinterError>;
}

/// A printer that keeps the jobs it prints, and can be told to fail the
/// next prints.
#[derive(Debug, Default)]
pub struct MemoryPrinter {
    jobs: Mutex<Vec<Vec<u8>>>,
    failures: Mutex<VecDeque<PrinterError>>,
}

impl MemoryPrinter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next `n` prints fail with `error` (after any failures already
    /// queued) and print nothing.
    pub fn fail_next(&self, n: usize, error: PrinterError) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.extend(std::iter::repeat_n(error, n));
    }

    /// The jobs printed so far, oldest first.
    pub fn jobs(&self) -> Vec<Vec<u8>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Printer for MemoryPrinter {
    fn print(&self, job: &[u8]) -> Result<(), PrinterError> {
        let failure = self
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        if let Some(error) = failure {
            return Err(error);
        }
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(job.to_vec());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_come_first_then_jobs_are_kept() {
        let printer = MemoryPrinter::new();
        printer.fail_next(2, PrinterError::OutOfPaper);
        assert_eq!(printer.print(b"one"), Err(PrinterError::OutOfPaper));
        assert_eq!(printer.print(b"two"), Err(PrinterError::OutOfPaper));
        printer.print(b"three").unwrap();
        assert_eq!(printer.jobs(), vec![b"three".to_vec()]);
    }
}
