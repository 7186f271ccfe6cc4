//! Smoke test of `microvm bench`: the JSON report is complete and every
//! figure positive. No test asserts a speed.

mod common;

use common::{run, stderr};
use serde_json::Value;

#[test]
fn quick_bench_reports_every_row_and_ratio() {
    require_kvm!();
    let o = run(&["bench", "--quick", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    let rows = report["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["row"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "forwarded",
            "forwarded-traced",
            "null-forwarded",
            "in-guest",
            "bare-exit",
            "host-syscall",
            "ptrace",
            "startup",
            "startup-floor",
            "process"
        ]
    );
    for r in rows {
        for key in ["median_ns", "min_ns", "max_ns", "ops_per_sec"] {
            let v = r[key].as_f64().unwrap_or(f64::NAN);
            assert!(v.is_finite() && v > 0.0, "{key} of {}: {v}", r["row"]);
        }
        assert!(r["min_ns"].as_f64() <= r["median_ns"].as_f64());
        assert!(r["median_ns"].as_f64() <= r["max_ns"].as_f64());
        assert!(r["iterations"].as_u64().unwrap() >= 1);
        assert!(r["repetitions"].as_u64().unwrap() >= 1);
    }
    let ratios = report["ratios"].as_array().unwrap();
    assert_eq!(ratios.len(), 6);
    for r in ratios {
        let v = r["value"].as_f64().unwrap_or(f64::NAN);
        assert!(v.is_finite() && v > 0.0, "{r}");
    }
    assert_eq!(report["kvm_module"], microvm::info::kvm_module().0);
}

#[test]
fn bench_table_names_each_row() {
    require_kvm!();
    let o = run(&["bench", "--quick"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    for label in [
        "forwarded syscall",
        "null-forwarded",
        "ptrace",
        "start-up floor",
        "forwarded / null-forwarded",
    ] {
        assert!(text.contains(label), "{label} missing in\n{text}");
    }
}
