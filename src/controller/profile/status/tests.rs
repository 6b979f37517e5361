//! Unit tests of the pure status computation.
use super::*;
