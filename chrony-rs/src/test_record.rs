//! A record for the crate's own unit tests: named fields with values of
//! libchrony's types, read through [`FieldSource`] as a live record is.
//! (`chrony-testkit`'s fakes serve the integration tests; a unit test
//! cannot use them, since the testkit links its own copy of this crate.)

use crate::field::{FieldContent, FieldSource, FieldType, RawTimespec};

/// A field's value, in the C type libchrony returns it as.
#[derive(Debug, Clone, Copy)]
pub(crate) enum V {
    U(u64),
    I(i64),
    F(f64),
    S(Option<&'static str>),
}

/// One record: its report and its fields in order.
pub(crate) struct TestRecord {
    pub(crate) report: &'static str,
    pub(crate) fields: Vec<(&'static str, V)>,
}

impl TestRecord {
    /// `self` with field `name` set to `value`.
    pub(crate) fn with(mut self, name: &'static str, value: V) -> Self {
        let field = self.fields.iter_mut().find(|f| f.0 == name);
        field.expect("a field of the record").1 = value;
        self
    }

    fn value(&self, index: usize) -> Option<V> {
        self.fields.get(index).map(|f| f.1)
    }
}

impl FieldSource for TestRecord {
    fn report_name(&self) -> &str {
        self.report
    }
    fn field_count(&self) -> usize {
        self.fields.len()
    }
    fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.0 == name)
    }
    fn field_name(&self, index: usize) -> Option<String> {
        self.fields.get(index).map(|f| f.0.to_string())
    }
    fn field_type(&self, index: usize) -> FieldType {
        match self.value(index) {
            Some(V::U(_)) => FieldType::Uinteger,
            Some(V::I(_)) => FieldType::Integer,
            Some(V::F(_)) => FieldType::Float,
            Some(V::S(_)) => FieldType::String,
            None => FieldType::None,
        }
    }
    fn field_content(&self, _: usize) -> FieldContent {
        FieldContent::None
    }
    fn uinteger(&self, index: usize) -> u64 {
        match self.value(index) {
            Some(V::U(v)) => v,
            _ => 0,
        }
    }
    fn integer(&self, index: usize) -> i64 {
        match self.value(index) {
            Some(V::I(v)) => v,
            _ => 0,
        }
    }
    fn float(&self, index: usize) -> f64 {
        match self.value(index) {
            Some(V::F(v)) => v,
            _ => 0.0,
        }
    }
    fn timespec(&self, _: usize) -> RawTimespec {
        RawTimespec::default()
    }
    fn string(&self, index: usize) -> Option<Vec<u8>> {
        match self.value(index) {
            Some(V::S(s)) => s.map(|s| s.as_bytes().to_vec()),
            _ => None,
        }
    }
    fn constant_name(&self, _: usize, _: u64) -> Option<String> {
        None
    }
}
