//! placeholder: the store arrives with its issue.
