//! [`Client`](crate::Client) methods for the activity, serverstats,
//! smoothing, selectdata, ntpdata and authdata reports, and the small field
//! conversions they share.
//!
//! Over UDP chronyd serves `activity` and `smoothing` (and the four reports
//! of the first set); `serverstats`, `selectdata`, `ntpdata` and `authdata`
//! are refused with [`Error::Unauthorized`](crate::Error::Unauthorized) and
//! need the Unix socket.

use crate::error::DataProblem;
use crate::field::{FieldSource, FromField};

/// A libchrony `BOOLEAN` field: an unsigned integer that must be 0 or 1.
impl FromField for bool {
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        match u64::from_field(s, i)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(DataProblem::OutOfRange {
                value: v.to_string(),
                expected: "0 or 1",
            }),
        }
    }
}

/// A tiny in-memory [`FieldSource`] for the unit tests of the reports.
#[cfg(test)]
pub(crate) mod fake {
    use crate::field::{FieldContent, FieldSource, FieldType, RawTimespec};

    #[derive(Clone, Debug)]
    pub(crate) enum V {
        U(u64),
        I(i64),
        F(f64),
        T(i64, i64),
        S(Option<String>),
    }

    #[derive(Clone, Debug)]
    pub(crate) struct Fake {
        report: String,
        fields: Vec<(String, FieldContent, V)>,
        names: Vec<(String, u64, String)>,
    }

    impl Fake {
        pub(crate) fn new(report: &str) -> Fake {
            Fake {
                report: report.into(),
                fields: Vec::new(),
                names: Vec::new(),
            }
        }
        pub(crate) fn field(mut self, name: &str, content: FieldContent, v: V) -> Fake {
            self.fields.push((name.into(), content, v));
            self
        }
        pub(crate) fn u(self, name: &str, v: u64) -> Fake {
            self.field(name, FieldContent::Count, V::U(v))
        }
        pub(crate) fn uc(self, name: &str, v: u64, c: FieldContent) -> Fake {
            self.field(name, c, V::U(v))
        }
        pub(crate) fn i(self, name: &str, v: i64, c: FieldContent) -> Fake {
            self.field(name, c, V::I(v))
        }
        pub(crate) fn f(self, name: &str, v: f64) -> Fake {
            self.field(name, FieldContent::OffsetSeconds, V::F(v))
        }
        pub(crate) fn t(self, name: &str, secs: i64, nanos: i64) -> Fake {
            self.field(name, FieldContent::Time, V::T(secs, nanos))
        }
        pub(crate) fn s(self, name: &str, v: Option<&str>) -> Fake {
            self.field(name, FieldContent::Address, V::S(v.map(str::to_string)))
        }
        /// A constant name for `value` of field `field`.
        pub(crate) fn name(mut self, field: &str, value: u64, name: &str) -> Fake {
            self.names.push((field.into(), value, name.into()));
            self
        }
        pub(crate) fn set(mut self, name: &str, v: V) -> Fake {
            if let Some(f) = self.fields.iter_mut().find(|f| f.0 == name) {
                f.2 = v;
            }
            self
        }
        pub(crate) fn without(mut self, name: &str) -> Fake {
            self.fields.retain(|f| f.0 != name);
            self
        }
    }

    impl FieldSource for Fake {
        fn report_name(&self) -> &str {
            &self.report
        }
        fn field_count(&self) -> usize {
            self.fields.len()
        }
        fn field_index(&self, name: &str) -> Option<usize> {
            self.fields.iter().position(|f| f.0 == name)
        }
        fn field_name(&self, index: usize) -> Option<String> {
            self.fields.get(index).map(|f| f.0.clone())
        }
        fn field_type(&self, index: usize) -> FieldType {
            match self.fields.get(index).map(|f| &f.2) {
                Some(V::U(_)) => FieldType::Uinteger,
                Some(V::I(_)) => FieldType::Integer,
                Some(V::F(_)) => FieldType::Float,
                Some(V::T(..)) => FieldType::Timespec,
                Some(V::S(_)) => FieldType::String,
                None => FieldType::None,
            }
        }
        fn field_content(&self, index: usize) -> FieldContent {
            self.fields.get(index).map_or(FieldContent::None, |f| f.1)
        }
        fn uinteger(&self, index: usize) -> u64 {
            match self.fields.get(index).map(|f| &f.2) {
                Some(V::U(v)) => *v,
                _ => 0,
            }
        }
        fn integer(&self, index: usize) -> i64 {
            match self.fields.get(index).map(|f| &f.2) {
                Some(V::I(v)) => *v,
                _ => 0,
            }
        }
        fn float(&self, index: usize) -> f64 {
            match self.fields.get(index).map(|f| &f.2) {
                Some(V::F(v)) => *v,
                _ => 0.0,
            }
        }
        fn timespec(&self, index: usize) -> RawTimespec {
            match self.fields.get(index).map(|f| &f.2) {
                Some(V::T(secs, nanos)) => RawTimespec {
                    secs: *secs,
                    nanos: *nanos,
                },
                _ => RawTimespec::default(),
            }
        }
        fn string(&self, index: usize) -> Option<Vec<u8>> {
            match self.fields.get(index).map(|f| &f.2) {
                Some(V::S(v)) => v.clone().map(String::into_bytes),
                _ => None,
            }
        }
        fn constant_name(&self, index: usize, value: u64) -> Option<String> {
            let field = &self.fields.get(index)?.0;
            self.names
                .iter()
                .find(|n| &n.0 == field && n.1 == value)
                .map(|n| n.2.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{Fake, V};
    use crate::field::Record;

    #[test]
    fn booleans_are_zero_or_one() {
        let f = Fake::new("x").u("a", 0).u("b", 1).u("c", 2).f("d", 1.0);
        let r = Record::new(&f);
        assert!(!r.get::<bool>("a").unwrap());
        assert!(r.get::<bool>("b").unwrap());
        assert!(r.get::<bool>("c").is_err());
        assert!(r.get::<bool>("d").is_err());
        let f = f.set("c", V::U(1));
        assert!(Record::new(&f).get::<bool>("c").unwrap());
    }
}
