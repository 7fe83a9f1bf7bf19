//! Virtual cards: see the module owner's work.
