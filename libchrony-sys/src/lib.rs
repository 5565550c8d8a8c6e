//! Raw FFI bindings to [libchrony](https://gitlab.com/chrony/libchrony), the C
//! library that speaks chronyd's monitoring (command) protocol.
//!
//! These are the symbols exactly as bindgen generates them from `chrony.h`:
//! 24 functions, the opaque `chrony_session` type and the three enums
//! (`chrony_err`, `chrony_field_type`, `chrony_field_content`) as plain integer
//! type aliases with `pub const` values, so that a value a newer libchrony
//! returns can never be undefined behaviour. Use the `chrony` crate for a
//! safe, typed API.
//!
//! See the crate README for how the library is found (`LIBCHRONY_LIB_DIR`,
//! `LIBCHRONY_INCLUDE_DIR`, `LIBCHRONY_STATIC`, `LIBCHRONY_NO_PKG_CONFIG`, then
//! pkg-config `libchrony`).
#![no_std]
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]
#![allow(clippy::all)]

#[cfg(feature = "bindgen")]
include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

#[cfg(not(feature = "bindgen"))]
include!("bindings.rs");
