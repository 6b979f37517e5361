//! (filled in by the issue-8 work)
