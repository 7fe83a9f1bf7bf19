//! placeholder: the codec arrives with its issue.
