//! What the blocking [`Client`](crate::Client) and the tokio
//! `AsyncClient` show alike, written once: a named method per report of
//! the list ([`each_report!`](crate::each_report)) and the `Debug` text.
//! A report added to the list gets its method on both clients with no
//! code here.

use crate::engine::Engine;
use crate::engine::Link;
use std::fmt;

/// One named method per report, each reading its model through the
/// client's own `report::<T>()`. The leading tokens say how the client is
/// called: `[async]` or `[]`, the `.await` its calls need (as tokens and as
/// text, for the examples), and the lines of an example that opens a
/// client and ends it.
macro_rules! report_methods {
    (
        $asyncness:tt $dot_await:tt $await_text:literal, $open:literal, $close:literal;
        $($name:ident: $model:ty => $out:ty, $doc:literal;)*
    ) => {$(
        report_methods!(
            @one $asyncness $dot_await $await_text, $open, $close; $name, $model, $out, $doc
        );
    )*};
    (
        @one [$($asyncness:tt)*] [$($dot_await:tt)*] $await_text:literal, $open:literal,
        $close:literal; $name:ident, $model:ty, $out:ty, $doc:literal
    ) => {
        #[doc = concat!("Reads ", $doc)]
        ///
        /// ```no_run
        #[doc = $open]
        #[doc = concat!(
            "let ", stringify!($name), " = client.", stringify!($name), "()", $await_text, "?;"
        )]
        #[doc = concat!("println!(\"{", stringify!($name), ":?}\");")]
        #[doc = $close]
        /// ```
        ///
        /// # Errors
        /// Transport errors, [`Error::Unauthorized`](crate::Error::Unauthorized)
        /// over UDP for a report chronyd serves on its Unix socket only, and
        /// [`Error::BadData`](crate::Error::BadData).
        pub $($asyncness)* fn $name(&mut self) -> $crate::error::Result<$out> {
            self.report::<$model>() $($dot_await)*
        }
    };
}
pub(crate) use report_methods;

/// A client's `Debug`: its kind, address and options.
pub(crate) fn debug_client<L: Link, R>(
    f: &mut fmt::Formatter<'_>,
    kind: &str,
    address: &dyn fmt::Debug,
    engine: &Engine<L, R>,
) -> fmt::Result {
    let policy = &engine.target.policy;
    f.debug_struct(kind)
        .field("address", address)
        .field("timeout", &policy.timeout)
        .field("retries", &policy.retries)
        .field("deadline", &engine.deadline)
        .field("concurrency", &engine.slots.len())
        .finish_non_exhaustive()
}
