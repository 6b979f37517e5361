//! The three identity-model kinds: per kind, the desired object built from the spec, the pure
//! plan (`plan`, public so `isc-operator plan` shows the same thing the controller does), and
//! the tenant calls.

pub mod identity_attribute;
pub mod lifecycle_state;
pub mod transform;

#[cfg(test)]
mod tests;
