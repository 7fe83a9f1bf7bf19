//! Transcripts: see the module owner's work.
