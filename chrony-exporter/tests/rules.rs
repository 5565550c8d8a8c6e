//! The shipped Prometheus rules and Grafana dashboard: `promtool check
//! rules` and `promtool test rules` pass on `rules/`, the dashboard is
//! valid JSON whose every expression parses with promtool, and rules and
//! dashboard use only metric names the exporter writes (its generated
//! metrics reference), the recording rules' own names and Prometheus's
//! per-target series; every panel's unit is that of the series it shows.
//! chrony_exporter's recording rule is there under its name with its
//! formula, and the queries of Grafana dashboard 19186
//! (`dashboards/grafana-19186.queries`) find every metric, rule and label
//! they read. promtool is Debian's prometheus package (installed by
//! scripts/bootstrap): without it these tests fail, they never skip.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rules_file() -> PathBuf {
    crate_dir().join("rules/chrony.rules.yml")
}

fn dashboard_file() -> PathBuf {
    crate_dir().join("dashboards/chrony.json")
}

/// Runs promtool with `args` in `dir`; (success, stdout + stderr).
fn promtool(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool is needed (Debian package prometheus, installed by scripts/bootstrap): {e}")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// One row of the metrics reference: (name, unit column, label names, help).
struct Reference {
    unit: String,
    labels: BTreeSet<String>,
    help: String,
}

/// The metrics reference (`--print-metrics-reference`), by name.
fn reference() -> std::collections::BTreeMap<String, Reference> {
    let out = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .arg("--print-metrics-reference")
        .output()
        .expect("run chrony-exporter --print-metrics-reference");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rows = std::collections::BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        // | name | type | unit | labels | collector | versions | drop-in | help |
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        assert!(
            cells.len() >= 8,
            "a reference row of {} cells: {line}",
            cells.len()
        );
        let labels = cells[3]
            .split(", ")
            .map(|l| l.trim_matches('`'))
            .filter(|l| *l != "-")
            .map(str::to_string)
            .collect();
        rows.insert(
            cells[0].trim_matches('`').to_string(),
            Reference {
                unit: cells[2].to_string(),
                labels,
                help: cells[7..].join(" | "),
            },
        );
    }
    assert!(rows.len() > 100, "{} rows in:\n{text}", rows.len());
    rows
}

/// Every metric name the exporter writes, from `--print-metrics-reference`.
fn exported_names() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .arg("--print-metrics-reference")
        .output()
        .expect("run chrony-exporter --print-metrics-reference");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let names: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    // The reference's table, not an empty or changed format.
    assert!(names.len() > 100, "{} names in:\n{text}", names.len());
    assert!(names.contains("chrony_up") && names.contains("chrony_probe_success"));
    names
}

/// The rule file as YAML.
fn rules() -> serde_norway::Value {
    let text = std::fs::read_to_string(rules_file()).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// (record or alert name, expr) of every rule.
fn rule_exprs() -> Vec<(String, Option<String>, String)> {
    let mut out = Vec::new();
    for group in rules()["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let record = rule["record"].as_str().map(str::to_string);
            let alert = rule["alert"].as_str().map(str::to_string);
            let expr = rule["expr"].as_str().unwrap().to_string();
            out.push((alert.clone().or(record.clone()).unwrap(), record, expr));
        }
    }
    out
}

fn recorded_names() -> BTreeSet<String> {
    rule_exprs().into_iter().filter_map(|(_, r, _)| r).collect()
}

/// Series Prometheus itself writes for every target.
const PROMETHEUS_NAMES: &[&str] = &["up", "scrape_duration_seconds"];

/// Keywords, and the aggregations (which a `by (...)` may part from their
/// parenthesis).
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];

/// The metric names a PromQL expression selects: identifiers outside
/// strings, label matchers (`{...}`), ranges (`[...]`), the label lists of
/// by/without/on/ignoring/group_left/group_right, that are not functions,
/// aggregations (followed by `(`) or keywords.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let b = expr.as_bytes();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == b'{' || c == b'[' {
            let close = if c == b'{' { b'}' } else { b']' };
            while i < b.len() && b[i] != close {
                if b[i] == b'"' {
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        i += 1;
                    }
                }
                i += 1;
            }
            i += 1;
        } else if c.is_ascii_digit() || c == b'.' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            let word = &expr[start..i];
            let mut j = i;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let lower = word.to_ascii_lowercase();
            if [
                "by",
                "without",
                "on",
                "ignoring",
                "group_left",
                "group_right",
            ]
            .contains(&lower.as_str())
            {
                if j < b.len() && b[j] == b'(' {
                    while j < b.len() && b[j] != b')' {
                        j += 1;
                    }
                    i = j + 1;
                }
            } else if KEYWORDS.contains(&lower.as_str()) || (j < b.len() && b[j] == b'(') {
                // A keyword, a function or an aggregation.
            } else {
                names.insert(word.to_string());
            }
        } else {
            i += 1;
        }
    }
    names
}

/// Fails naming every selected metric that is neither exported, recorded
/// nor one of Prometheus's.
fn check_names(what: &str, exprs: &[(String, String)]) {
    let exported = exported_names();
    let recorded = recorded_names();
    let mut unknown = Vec::new();
    let mut used = BTreeSet::new();
    for (place, expr) in exprs {
        let names = metric_names(expr);
        assert!(
            !names.is_empty(),
            "{what}: {place} selects no metric: {expr}"
        );
        for n in names {
            if !exported.contains(&n)
                && !recorded.contains(&n)
                && !PROMETHEUS_NAMES.contains(&n.as_str())
            {
                unknown.push(format!("{place}: {n} (in {expr})"));
            }
            used.insert(n);
        }
    }
    assert!(
        unknown.is_empty(),
        "{what} uses names the exporter does not write:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn the_name_extraction_finds_selectors_only() {
    let names = metric_names(
        r#"sum by (instance, job) (rate(chrony_a_total{job=~"chrony.*", x="up"}[$__rate_interval]))
           / on (instance) group_left (le) chrony:b:count offset 5m > bool 0.5 or absent(up)"#,
    );
    let want: BTreeSet<String> = ["chrony_a_total", "chrony:b:count", "up"]
        .map(String::from)
        .into();
    assert_eq!(names, want);
}

#[test]
fn promtool_check_rules_passes() {
    let (ok, out) = promtool(
        &crate_dir().join("rules"),
        &["check", "rules", "chrony.rules.yml"],
    );
    assert!(ok, "promtool check rules failed:\n{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn promtool_test_rules_passes() {
    let (ok, out) = promtool(
        &crate_dir().join("rules"),
        &["test", "rules", "chrony.rules.test.yml"],
    );
    assert!(ok, "promtool test rules failed:\n{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

/// Each alert of the rule file is tested firing (a non-empty exp_alerts)
/// and not firing (an empty one), and the recording rules' values are
/// checked.
#[test]
fn every_alert_has_a_firing_and_a_quiet_case() {
    let text = std::fs::read_to_string(crate_dir().join("rules/chrony.rules.test.yml")).unwrap();
    let tests: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let mut firing = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    let mut exprs = BTreeSet::new();
    for t in tests["tests"].as_sequence().unwrap() {
        for a in t["alert_rule_test"].as_sequence().into_iter().flatten() {
            let name = a["alertname"].as_str().unwrap().to_string();
            if a["exp_alerts"].as_sequence().unwrap().is_empty() {
                quiet.insert(name);
            } else {
                firing.insert(name);
            }
        }
        for e in t["promql_expr_test"].as_sequence().into_iter().flatten() {
            exprs.insert(e["expr"].as_str().unwrap().to_string());
        }
    }
    let alerts: BTreeSet<String> = rule_exprs()
        .into_iter()
        .filter(|(_, r, _)| r.is_none())
        .map(|(n, _, _)| n)
        .collect();
    for wanted in [
        "ChronyDown",
        "ChronyExporterDown",
        "ChronyMetricsAbsent",
        "ChronyNotSynchronized",
        "ChronyClockOffsetHigh",
        "ChronyClockErrorBoundHigh",
        "ChronyTooFewReachableSources",
        "ChronyServerDroppingRequests",
    ] {
        assert!(alerts.contains(wanted), "no alert {wanted} in the rules");
    }
    for a in &alerts {
        assert!(firing.contains(a), "alert {a} is never tested firing");
        assert!(quiet.contains(a), "alert {a} is never tested not firing");
    }
    for r in recorded_names() {
        assert!(
            exprs.contains(&r),
            "recording rule {r} has no promql_expr_test"
        );
    }
}

#[test]
fn rules_use_only_exported_names() {
    let exprs: Vec<(String, String)> = rule_exprs().into_iter().map(|(n, _, e)| (n, e)).collect();
    assert!(exprs.len() >= 10);
    check_names("rules/chrony.rules.yml", &exprs);
}

/// Every `expr` of the dashboard's panels and the queries of its template
/// variables, with Grafana's variables replaced by values.
fn dashboard_exprs() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dashboard_file()).unwrap();
    let d: Value = serde_json::from_str(&text).expect("the dashboard is valid JSON");
    let mut out = Vec::new();
    fn walk(v: &Value, title: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                let title = m.get("title").and_then(Value::as_str).unwrap_or(title);
                if let Some(e) = m.get("expr").and_then(Value::as_str) {
                    out.push((format!("panel {title:?}"), e.to_string()));
                }
                for v in m.values() {
                    walk(v, title, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, title, out)),
            _ => {}
        }
    }
    walk(&d["panels"], "", &mut out);
    for var in d["templating"]["list"].as_array().unwrap() {
        if var["type"] == "query" {
            let q = var["query"]["query"].as_str().unwrap();
            // label_values(SELECTOR, label): the selector is PromQL.
            let inner = q
                .strip_prefix("label_values(")
                .and_then(|s| s.rsplit_once(','))
                .map(|(sel, _)| sel)
                .unwrap_or_else(|| {
                    panic!("variable query {q:?} is not label_values(selector, label)")
                });
            out.push((format!("variable {}", var["name"]), inner.to_string()));
        }
    }
    out.into_iter()
        .map(|(p, e)| {
            let e = e
                .replace("$__rate_interval", "5m")
                .replace("$__interval", "1m")
                .replace("$job", ".*")
                .replace("$instance", ".*");
            assert!(
                !e.contains('$'),
                "{p}: a Grafana variable this test does not know: {e}"
            );
            (p, e)
        })
        .collect()
}

#[test]
fn dashboard_uses_only_exported_names() {
    let exprs = dashboard_exprs();
    assert!(exprs.len() >= 20, "{} expressions", exprs.len());
    check_names("dashboards/chrony.json", &exprs);
}

/// promtool parses PromQL in rule files: every expression of the
/// dashboard becomes a recording rule of a temporary file.
#[test]
fn every_dashboard_expr_parses_with_promtool() {
    let exprs = dashboard_exprs();
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, (_, e)) in exprs.iter().enumerate() {
        yaml.push_str(&format!(
            "      - record: dashboard:expr_{i}\n        expr: {}\n",
            serde_json::to_string(e).unwrap()
        ));
    }
    std::fs::write(dir.path().join("dashboard.rules.yml"), &yaml).unwrap();
    let (ok, out) = promtool(dir.path(), &["check", "rules", "dashboard.rules.yml"]);
    assert!(ok, "a dashboard expression does not parse:\n{out}\n{yaml}");
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", exprs.len())),
        "{out}"
    );

    // The check itself catches a broken expression.
    std::fs::write(
        dir.path().join("broken.rules.yml"),
        "groups:\n  - name: b\n    rules:\n      - record: b:x\n        expr: \"rate(chrony_up[5m]\"\n",
    )
    .unwrap();
    let (ok, _) = promtool(dir.path(), &["check", "rules", "broken.rules.yml"]);
    assert!(!ok, "promtool accepted a broken expression");
}

/// chrony_exporter's README records the clock's error bound under this name
/// with this formula; dashboards built for it (19186's "Maximum clock
/// error") read it.
#[test]
fn chrony_exporters_recording_rule_is_there_as_its_readme_defines_it() {
    let rule = rule_exprs()
        .into_iter()
        .find(|(_, r, _)| r.as_deref() == Some("instance:chrony_clock_error_seconds:abs"))
        .expect("no recording rule instance:chrony_clock_error_seconds:abs");
    let expr: String = rule.2.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        expr,
        "abs(chrony_tracking_last_offset_seconds) + chrony_tracking_root_dispersion_seconds \
         + (0.5 * chrony_tracking_root_delay_seconds)"
    );
    // Our own bound stays beside it.
    assert!(recorded_names().contains("chrony:clock_error_bound_seconds"));
}

/// (panel, expression with $instance filled in, labels read) of Grafana
/// dashboard 19186.
fn dashboard_19186() -> Vec<(String, String, Vec<String>)> {
    let text =
        std::fs::read_to_string(crate_dir().join("dashboards/grafana-19186.queries")).unwrap();
    let queries: Vec<_> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            assert_eq!(cells.len(), 3, "not PANEL<TAB>EXPR<TAB>LABELS: {l:?}");
            let labels = cells[2]
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            (
                cells[0].to_string(),
                cells[1].replace("$instance", "localhost:9123"),
                labels,
            )
        })
        .collect();
    assert!(queries.len() >= 15, "{} queries", queries.len());
    queries
}

/// The README's claim that dashboard 19186 works: each of its queries
/// selects only names the exporter writes or rules/chrony.rules.yml
/// records (its "Maximum clock error" reads the drop-in rule), parses, and
/// every label it reads is a label of a series it selects.
#[test]
fn dashboard_19186_finds_every_name_and_label_it_reads() {
    let queries = dashboard_19186();
    let exprs: Vec<(String, String)> = queries
        .iter()
        .map(|(p, e, _)| (p.clone(), e.clone()))
        .collect();
    check_names("dashboard 19186", &exprs);
    assert!(
        exprs
            .iter()
            .any(|(_, e)| e.contains("instance:chrony_clock_error_seconds:abs")),
        "the fixture lost the panel that reads the recording rule"
    );
    let reference = reference();
    for (panel, expr, labels) in &queries {
        let names = metric_names(expr);
        for label in labels {
            // Prometheus's own target labels are on every series.
            if label == "instance" || label == "job" {
                continue;
            }
            assert!(
                names
                    .iter()
                    .any(|n| reference.get(n).is_some_and(|r| r.labels.contains(label))),
                "19186's panel {panel:?} reads the label {label}, which {names:?} do not carry"
            );
        }
    }
    // Every expression parses.
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("groups:\n  - name: d19186\n    rules:\n");
    for (i, (_, e)) in exprs.iter().enumerate() {
        yaml.push_str(&format!(
            "      - record: d19186:expr_{i}\n        expr: {}\n",
            serde_json::to_string(e).unwrap()
        ));
    }
    std::fs::write(dir.path().join("d.rules.yml"), &yaml).unwrap();
    let (ok, out) = promtool(dir.path(), &["check", "rules", "d.rules.yml"]);
    assert!(
        ok,
        "a query of dashboard 19186 does not parse:\n{out}\n{yaml}"
    );
}

/// The Grafana unit of a series: from the reference's unit column, or, for
/// the drop-in names without a unit suffix, from their help text.
fn grafana_unit(
    name: &str,
    reference: &std::collections::BTreeMap<String, Reference>,
) -> &'static str {
    match name {
        "up" | "chrony:sources_reachable:count" => return "none",
        "scrape_duration_seconds"
        | "chrony:clock_error_bound_seconds"
        | "instance:chrony_clock_error_seconds:abs" => return "s",
        "chrony:serverstats_dropped:rate5m" => return "reqps",
        _ => {}
    }
    let r = reference
        .get(name)
        .unwrap_or_else(|| panic!("{name} is not in the metrics reference"));
    match r.unit.as_str() {
        "seconds" => "s",
        "ratio" => "percentunit",
        "bytes" => "bytes",
        _ if r.help.contains("in seconds") => "s",
        _ if r.help.contains("in ppm") => "ppm",
        _ => "none",
    }
}

/// Each panel shows one kind of value, with its unit: every series of a
/// panel has the panel's unit (a per-second rate of a counter is reqps),
/// so 0/1 values never share an axis with seconds.
#[test]
fn every_dashboard_panel_has_the_unit_of_its_series() {
    let text = std::fs::read_to_string(dashboard_file()).unwrap();
    let d: Value = serde_json::from_str(&text).unwrap();
    let reference = reference();
    let mut checked = 0;
    for panel in d["panels"].as_array().unwrap() {
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().unwrap();
        let unit = panel["fieldConfig"]["defaults"]["unit"]
            .as_str()
            .unwrap_or_else(|| panic!("panel {title:?} has no unit"));
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for name in metric_names(expr) {
                let want = if expr.contains("rate(") {
                    "reqps"
                } else {
                    grafana_unit(&name, &reference)
                };
                assert_eq!(
                    unit, want,
                    "panel {title:?}: {name} (in {expr}) is {want}, the panel {unit}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "{checked} series checked");
}
