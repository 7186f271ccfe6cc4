//! The `microvm bench` measurements as criterion benchmarks, so that
//! regressions show (`cargo bench`, `make bench`; HTML report under
//! target/criterion/report/index.html).
//!
//! Each iteration is one operation of a row; criterion picks the counts and
//! the measurement reuses `microvm::bench::Bencher::run_once` (guest rows
//! are differential: n iterations minus an empty run of the same VM).

use criterion::{criterion_group, criterion_main, Criterion};
use microvm::bench::{Bencher, Row};
use std::path::Path;
use std::time::Duration;

fn transitions(c: &mut Criterion) {
    if !Path::new("/dev/kvm").exists() {
        eprintln!("skipped: /dev/kvm is missing on this host");
        return;
    }
    let bencher = Bencher::new(Path::new(env!("CARGO_BIN_EXE_microvm"))).expect("bench setup");
    let mut group = c.benchmark_group("transition");
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(10);
    let startup = [Row::Startup, Row::StartupFloor, Row::Process];
    for row in Row::ALL.into_iter().filter(|r| !startup.contains(r)) {
        group.bench_function(format!("{row:?}"), |b| {
            b.iter_custom(|n| bencher.run_once(row, n).expect("measurement"))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("startup");
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(10);
    for row in startup {
        group.bench_function(format!("{row:?}"), |b| {
            b.iter_custom(|n| bencher.run_once(row, n).expect("measurement"))
        });
    }
    group.finish();
}

criterion_group!(benches, transitions);
criterion_main!(benches);
