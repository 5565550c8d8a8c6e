//! The native module's per-report code, made from the library's list of
//! reports (`chrony::each_report!`): a report added to the `chrony` crate
//! is read, converted, described and snapshotted here without a line of
//! its own.

use crate::convert::to_py;
use crate::{AsyncShared, Connection};
use chrony::reports::{FromRecord, ReportShape, ShapeKind};
use chrony::snapshot::Part;
use chrony::Snapshot;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use serde::Serialize;
use std::sync::Arc;

/// Makes a result's Python value, given the GIL.
type ToPython = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send>;

/// A report's result, converted to Python values when the async call
/// hands it to the event loop (with the GIL).
pub struct Converted(ToPython);

impl Converted {
    pub fn new(
        f: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send + 'static,
    ) -> Self {
        Converted(Box::new(f))
    }
}

impl<'py> IntoPyObject<'py> for Converted {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        (self.0)(py)
    }
}

fn unknown(name: &str) -> PyErr {
    PyValueError::new_err(format!("unknown report {name:?}"))
}

/// What `Client::report::<T>()` returns for `T`.
type Output<T> = <<T as FromRecord>::Shape as ReportShape<T>>::Output;

fn blocking<'py, T>(conn: &Connection, py: Python<'py>) -> PyResult<Bound<'py, PyAny>>
where
    T: FromRecord,
    Output<T>: Serialize + Send,
{
    let out = conn.with_client(py, T::DESCRIPTOR.per_source(), |c| c.report::<T>())?;
    to_py(py, &out)
}

fn asynchronous<T>(shared: Arc<AsyncShared>, py: Python<'_>) -> PyResult<Bound<'_, PyAny>>
where
    T: FromRecord + Send + 'static,
    Output<T>: Serialize + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let out = shared
            .lease(T::DESCRIPTOR.per_source())
            .await?
            .report::<T>()
            .await
            .map_err(|e| crate::error(&e))?;
        Ok(Converted::new(move |py| to_py(py, &out)))
    })
}

macro_rules! dispatch {
    ($($field:ident: $model:ty => $out:ty, $doc:literal;)*) => {
        /// Reads report `name` (a snapshot field) on a blocking connection.
        pub fn read_blocking<'py>(conn: &Connection, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
            match name {
                $(stringify!($field) => blocking::<$model>(conn, py),)*
                _ => Err(unknown(name)),
            }
        }

        /// Reads report `name` on an async connection: an awaitable.
        pub fn read_async<'py>(shared: Arc<AsyncShared>, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
            match name {
                $(stringify!($field) => asynchronous::<$model>(shared, py),)*
                _ => Err(unknown(name)),
            }
        }

        /// `(address, transport, present, absent)` of a snapshot.
        pub fn snapshot_to_py<'py>(py: Python<'py>, snap: &Snapshot) -> PyResult<Bound<'py, PyTuple>> {
            let present = PyDict::new(py);
            let absent = PyDict::new(py);
            $(part(py, stringify!($field), &snap.$field, &present, &absent)?;)*
            PyTuple::new(
                py,
                [
                    snap.address.to_string().into_pyobject(py)?.into_any(),
                    crate::transport_name(snap.transport).into_pyobject(py)?.into_any(),
                    present.into_any(),
                    absent.into_any(),
                ],
            )
        }

        /// The reports, in the list's order: `(field, libchrony report
        /// name, shape, model, ((Rust field, Rust type), ...))`, shape
        /// being `single`, `optional` or `per_source` and model the Rust
        /// model's name (`NtpData`). The Python layer checks
        /// its dataclasses against it and picks each field's conversion
        /// from the Rust type.
        #[pyfunction]
        pub fn schema(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
            let reports = [$(describe(py, stringify!($field), model_name(stringify!($model)), <$model as FromRecord>::DESCRIPTOR)?,)*];
            PyList::new(py, reports)
        }
    };
}

chrony::each_report!(dispatch);

fn part<'py, T: Serialize>(
    py: Python<'py>,
    field: &str,
    part: &Part<T>,
    present: &Bound<'py, PyDict>,
    absent: &Bound<'py, PyDict>,
) -> PyResult<()> {
    if let Some(v) = part.present() {
        present.set_item(field, to_py(py, v)?)?;
    } else if let Some(a) = part.absence() {
        absent.set_item(field, (a.absent.as_str(), a.message.as_str()))?;
    }
    Ok(())
}

/// `chrony::NtpData` -> `NtpData`.
fn model_name(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path).trim()
}

fn describe<'py>(
    py: Python<'py>,
    field: &str,
    model: &str,
    d: chrony::Descriptor,
) -> PyResult<Bound<'py, PyTuple>> {
    let shape = match d.shape {
        ShapeKind::Single => "single",
        ShapeKind::Optional => "optional",
        _ => "per_source",
    };
    let fields = PyTuple::new(py, d.fields.iter().map(|f| (f.rust_name, f.rust_type)))?;
    (field, d.name, shape, model, fields).into_pyobject(py)
}
