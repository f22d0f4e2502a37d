//! Benchmarks for Strom's crates live beside this file as criterion bench targets; this library is
//! empty and exists only so the bench targets have a package to belong to.
