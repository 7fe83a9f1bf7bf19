//! The card seen from the reader: one command APDU in, one response out.

/// Why an exchange with the card failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("card removed: present the card again")]
    Removed,
    #[error("card reader failed: {0}")]
    Reader(String),
}

/// A contact or contactless card behind a reader.
pub trait Card {
    /// Sends one command APDU; returns the response (data, then SW1 SW2).
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError>;
}

impl<C: Card + ?Sized> Card for &mut C {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transceive(command)
    }
}

impl<C: Card + ?Sized> Card for Box<C> {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transceive(command)
    }
}
