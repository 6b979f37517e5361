//! ISC tenant simulator.
