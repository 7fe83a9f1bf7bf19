//! placeholder: the host clients arrive with their issues.
