//! The metrics: the table of every metric ([`table`]), the sample buffer
//! of one scrape ([`out`]) and its two text encodings ([`mod@encode`]).

pub mod encode;
pub mod out;
pub mod table;

pub use encode::{encode, Format};
pub use out::{Labels, Out};
pub(crate) use table::declare;
#[cfg(test)]
pub use table::{all, rank};
pub use table::{reference, Def, Kind, REFERENCE_BEGIN, REFERENCE_END};
