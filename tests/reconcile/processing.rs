//! Reconciler tests of the processing controller.

use crate::env::TestEnv;
