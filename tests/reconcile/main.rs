//! Reconciler tests: one reconcile at a time against the in-process simulator and a mocked
//! Kubernetes API. Seconds, no Go, no etcd: the layer between the pure plan tests and the
//! end-to-end suite. Each test asserts on the Kubernetes requests made (status patches,
//! finalizers, events) and on the tenant calls made (the simulator's journal).

mod env;
mod fake_kube;
mod managed;
mod processing;
mod profile;
mod resync;
mod tenant;
