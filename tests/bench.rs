//! Smoke test of `microvm bench`: the JSON report is complete and every
//! figure a number. No test asserts a speed.

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
            "forwarded-filtered",
            "null-forwarded",
            "in-guest",
            "bare-exit",
            "host-syscall",
            "vdso-clock",
            "host-clock",
            "ptrace",
            "startup",
            "startup-floor",
            "process",
            "startup-dynamic",
            "native-exec-dynamic"
        ]
    );
    // The guest rows are differential (a run of n iterations minus a run
    // of none), so noise on a loaded or emulated machine can make one
    // repetition, or even a quick run's median, 0: those figures must be
    // present, finite and ordered, and >= 0. The other rows time real work
    // directly and are > 0.
    const DIFFERENTIAL: [&str; 7] = [
        "forwarded",
        "forwarded-traced",
        "forwarded-filtered",
        "null-forwarded",
        "in-guest",
        "bare-exit",
        "vdso-clock",
    ];
    for r in rows {
        let differential = DIFFERENTIAL.contains(&r["row"].as_str().unwrap());
        for key in ["median_ns", "min_ns", "max_ns"] {
            let v = r[key].as_f64().unwrap_or(f64::NAN);
            assert!(v.is_finite() && v >= 0.0, "{key} of {}: {v}", r["row"]);
            assert!(differential || v > 0.0, "{key} of {}: {v}", r["row"]);
        }
        // 1e9 / a median of 0 is infinite, which JSON writes as null.
        let ops = r["ops_per_sec"].as_f64();
        assert!(
            ops.is_some_and(|v| v > 0.0) || (differential && r["median_ns"] == 0.0),
            "{r}"
        );
        assert!(r["min_ns"].as_f64() <= r["median_ns"].as_f64());
        assert!(r["median_ns"].as_f64() <= r["max_ns"].as_f64());
        assert!(r["iterations"].as_u64().unwrap() >= 1);
        assert!(r["repetitions"].as_u64().unwrap() >= 1);
    }
    // A ratio is reported when it is a number (a 0 denominator drops it);
    // the ones whose denominators are direct timings are always there.
    let ratios = report["ratios"].as_array().unwrap();
    let names: Vec<&str> = ratios.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for always in [
        "start-up / start-up floor",
        "forwarded / host getppid",
        "dynamic start-up / native exec",
        "guest vDSO clock / host vDSO clock",
    ] {
        assert!(names.contains(&always), "{always} missing: {names:?}");
    }
    assert!(ratios.len() <= 9, "{names:?}");
    for r in ratios {
        let v = r["value"].as_f64().unwrap_or(f64::NAN);
        assert!(v.is_finite() && v >= 0.0, "{r}");
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
        "start-up: dynamic /bin/true to exit",
        "native fork+exec of /bin/true",
        "forwarded / null-forwarded",
    ] {
        assert!(text.contains(label), "{label} missing in\n{text}");
    }
}
