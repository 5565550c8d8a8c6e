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
//!
//! # The address buffer and [`BUFFER_LOCK`]
//!
//! libchrony formats addresses into one process-wide static buffer. Four
//! functions write it:
//!
//! - [`chrony_get_field_string`] (address fields),
//! - [`chrony_get_field_content`] (it resolves address fields),
//! - [`chrony_request_record`] (ntpdata and authdata address their source
//!   by its formatted address),
//! - [`chrony_process_response`] (it sends that follow-up request itself).
//!
//! Two threads calling any of them at once race on the buffer, whichever
//! sessions they use. Every caller in the process must hold [`BUFFER_LOCK`]
//! around each such call and copy a returned string out before releasing
//! it. The `chrony` crate does; a program that also calls this crate
//! directly must do the same, through this one lock.
//!
//! ```no_run
//! let _guard = libchrony_sys::lock_buffer();
//! // ... chrony_get_field_string(session, index), copy the string out ...
//! ```
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]
#![allow(clippy::all)]

/// The process-wide lock around libchrony's static address buffer: hold it
/// for every call of the four functions listed in the [crate
/// documentation](crate#the-address-buffer-and-buffer_lock).
pub static BUFFER_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Locks [`BUFFER_LOCK`], ignoring poisoning (the buffer is rewritten by
/// every call, so a panic while it was held leaves nothing to repair).
pub fn lock_buffer() -> std::sync::MutexGuard<'static, ()> {
    BUFFER_LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(feature = "bindgen")]
include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

#[cfg(not(feature = "bindgen"))]
include!("bindings.rs");
