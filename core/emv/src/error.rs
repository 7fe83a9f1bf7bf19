//! Internal kernel errors. They end the card session and become an
//! outcome; none carries card data.

/// Why the kernel could not go on with the card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    #[error("card protocol error: {0}")]
    CardProtocol(&'static str),
    #[error("card data is malformed: {0}")]
    CardData(String),
    #[error("mandatory card data missing: tag {0}")]
    MissingData(poskit_tlv::Tag),
    #[error("the kernel was asked to {0} in the wrong state")]
    WrongState(&'static str),
}

impl From<poskit_tlv::TlvError> for KernelError {
    fn from(e: poskit_tlv::TlvError) -> Self {
        KernelError::CardData(e.to_string())
    }
}
