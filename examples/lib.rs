//! Examples of embedding Strom's crates live beside this file as example targets; this library is
//! empty and exists only so the examples have a package to belong to.
