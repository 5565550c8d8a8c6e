//! Text helpers shared by every `Display` of this crate.

use std::fmt;

/// Writes `args` honouring the formatter's width, fill, alignment and
/// precision as `str`'s `Display` does, so every public `Display` of this
/// crate lines up in tables (`{:<20}`, `{:>8}`, `{:*^9}`).
pub(crate) fn pad(f: &mut fmt::Formatter<'_>, args: fmt::Arguments<'_>) -> fmt::Result {
    if f.width().is_none() && f.precision().is_none() {
        return f.write_fmt(args);
    }
    match args.as_str() {
        Some(s) => f.pad(s),
        None => f.pad(&args.to_string()),
    }
}
