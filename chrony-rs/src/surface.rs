//! What the blocking [`Client`](crate::Client) and the tokio
//! `AsyncClient` show alike, written once: a named method per report of
//! the list ([`each_report!`](crate::each_report)), the accessors of the
//! address and transport, and the `Debug` text.
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

/// The accessors of a client's address and transport. The tokens are the
/// lines of an example that opens a client and ends it, as for
/// `report_methods!`.
macro_rules! address_methods {
    ($open:literal, $close:literal) => {
        /// The address this client talks to, as it was given.
        pub fn address(&self) -> &$crate::address::Address {
            &self.address
        }

        /// The address its sessions talk to: [`address`](Self::address), or
        /// for a host name the address it resolved to and found answering.
        /// Another client of the same chronyd connects to this one without
        /// resolving the name again.
        ///
        /// ```no_run
        #[doc = $open]
        /// println!("{} answers at {}", client.address(), client.endpoint());
        #[doc = $close]
        /// ```
        pub fn endpoint(&self) -> &$crate::address::Address {
            &self.endpoint
        }

        /// The transport in use.
        pub fn transport(&self) -> $crate::engine::Transport {
            self.engine.target.policy.transport
        }
    };
}
pub(crate) use address_methods;

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
