//! The declaration macros: `report!` makes a model's struct, its
//! `FromRecord` and its schema from one list
//! of fields; `flag_set!` makes a set of one-bit flags read from a FLAGS
//! field. The helper macros here are their parts.

macro_rules! presence {
    (required) => {
        $crate::reports::schema::Presence::Required
    };
    (since $v:literal) => {
        $crate::reports::schema::Presence::Since($v)
    };
    (alternative) => {
        $crate::reports::schema::Presence::Alternative
    };
    (paired) => {
        $crate::reports::schema::Presence::Paired
    };
}

macro_rules! presence_doc {
    (required) => {
        "always sent"
    };
    (since $v:literal) => {
        concat!("sent by chronyd ", $v, " and later, `None` before")
    };
    (alternative) => {
        "sent for some sources only"
    };
    (paired) => {
        "read from the source's `sourcestats` record"
    };
}

macro_rules! read_field {
    ($r:ident, $n:literal, $p:ident, [$hook:path], $($t:tt)*) => { $hook($r)? };
    ($r:ident, $n:literal, required, [], $($t:tt)*) => {
        $crate::reports::convert::conv($r.get::<$crate::reports::convert::wire!(required, $($t)*)>($n)?)
    };
    ($r:ident, $n:literal, paired, [], $($t:tt)*) => { None };
    ($r:ident, $n:literal, $p:ident, [], $($t:tt)*) => {
        $r.get_opt::<$crate::reports::convert::wire!($p, $($t)*)>($n)?.map($crate::reports::convert::conv)
    };
}

macro_rules! skip_empty {
    (skip_empty, $r:ident) => {
        if $r.source().field_count() == 0 {
            return Ok(None);
        }
    };
    // Also a record whose "remote address" is NULL (chronyd 4.0's ntpdata
    // of a source that never answered).
    (skip_unaddressed, $r:ident) => {
        skip_empty!(skip_empty, $r);
        if $crate::reports::ntpdata::unaddressed($r) {
            return Ok(None);
        }
    };
}

macro_rules! assign_paired {
    (paired, $m:ident . $f:ident, $a:ident) => {
        $m.$f = $a;
    };
    ($p:ident, $m:ident . $f:ident, $a:ident) => {};
}

/// Declares a model: the struct, its [`FromRecord`] and its schema.
///
/// ```text
/// report! {
///     /// docs
///     pub struct Name in "report name" as Shape [, skip_empty] {
///         /// docs
///         field: Type = "libchrony name", Content, presence [by hook] [as WireType];
///     }
/// }
/// ```
/// `presence` is `required`, `since("x.y")`, `alternative` or `paired`
/// ([`Presence`]); a field that may be absent has an `Option` type unless a
/// hook reads it. `by hook` reads the value with `hook(&record)` (the
/// sources address/reference-ID switch), `as WireType` reads the field as
/// `WireType` and converts it with `Into` (and gives the schema its
/// libchrony type). `skip_empty` makes a record with no fields `Ok(None)`
/// (ntpdata and authdata of a reference clock); `skip_unaddressed` also
/// one whose `remote address` is NULL (ntpdata on chronyd 4.0). Each field's doc gets a
/// line naming its libchrony field and presence.
macro_rules! report {
    (
        $(#[$meta:meta])*
        pub struct $name:ident in $report:literal as $shape:ident $(, $skip:ident)? {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $fname:literal, $content:ident,
                    $presence:ident $(($since:literal))? $(by $hook:path)? $(as $wire:ty)?;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                ///
                #[doc = concat!("libchrony field `", $fname, "`: ", presence_doc!($presence $($since)?), ".")]
                pub $field: $ty,
            )*
        }

        impl $crate::reports::schema::FromRecord for $name {
            const REPORT: &'static str = $report;
            const FIELDS: &'static [$crate::reports::schema::FieldSpec] = &[$(
                $crate::reports::schema::FieldSpec {
                    name: $fname,
                    rust_name: stringify!($field),
                    rust_type: stringify!($ty),
                    field_type: <$crate::reports::convert::wire!($presence, $ty $(, $wire)?) as $crate::field::FromField>::FIELD_TYPE,
                    content: $crate::field::FieldContent::$content,
                    presence: presence!($presence $($since)?),
                },
            )*];
            type Shape = $crate::reports::schema::shape::$shape;
            const DESCRIPTOR: $crate::reports::schema::Descriptor = $crate::reports::schema::Descriptor::declared(
                match ::std::ffi::CStr::from_bytes_with_nul(concat!($report, "\0").as_bytes()) {
                    Ok(c) => c,
                    Err(_) => panic!("a report name has no NUL byte"),
                },
                $report,
                <Self as $crate::reports::schema::FromRecord>::FIELDS,
                <$crate::reports::schema::shape::$shape as $crate::reports::schema::ReportShape<Self>>::KIND,
            );

            fn from_record<S: $crate::field::FieldSource + ?Sized>(
                r: &$crate::field::Record<'_, S>,
            ) -> $crate::error::Result<Option<Self>> {
                $( skip_empty!($skip, r); )?
                Ok(Some($name {
                    $( $field: read_field!(r, $fname, $presence, [$($hook)?], $ty $(, $wire)?), )*
                }))
            }

            #[allow(unused_mut, unused_variables)]
            fn with_paired_address(self, address: Option<$crate::types::SourceId>) -> Self {
                let mut m = self;
                $( assign_paired!($presence, m.$field, address); )*
                m
            }
        }

        #[cfg(feature = "test-util")]
        $crate::reports::builder::builder_setters! {
            $name { $( $field: $ty = $fname, $presence $(by $hook)? $(as $wire)?; )* }
        }
    };
}

/// Declares a set of one-bit flags read from a FLAGS field: a bool per
/// bit, the raw value (unknown bits kept), a constant per bit,
/// `from_raw` and [`FromField`].
macro_rules! flag_set {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident = $bit_name:ident = $bit:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: bool, )*
            /// The raw flags (unknown bits kept).
            pub raw: u64,
        }

        impl $name {
            $(
                #[doc = concat!("Bit of `", stringify!($field), "`.")]
                pub const $bit_name: u64 = $bit;
            )*

            /// Decodes the raw flags.
            pub fn from_raw(raw: u64) -> $name {
                $name { $( $field: raw & Self::$bit_name != 0, )* raw }
            }
        }

        #[cfg(feature = "test-util")]
        impl $crate::wire::ToWire for $name {
            fn to_wire(&self) -> $crate::wire::WireValue {
                $crate::wire::WireValue::Uinteger(self.raw)
            }
        }

        $crate::field::from_raw_field!($name);
    };
}
