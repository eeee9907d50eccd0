//! Every control-file write parser of gpc (`gpc_subsystems::parse`, the Linux ports the
//! controllers use, which re-exports the core's own, `gpc_core::parse`) on arbitrary
//! bytes, with their invariants: no panic, the C-string and strip rules, and that what a
//! parser accepts prints back to something it parses to the same value (the formatters
//! the read side uses).
#![no_main]

use gpc_subsystems::parse::*;
use libfuzzer_sys::fuzz_target;

/// Whether `part` is empty or lies inside `whole` (a parser's "rest" points into its input).
fn within(whole: &[u8], part: &[u8]) -> bool {
    part.is_empty() || whole.as_ptr_range().contains(&part.as_ptr()) && part.len() <= whole.len()
}

fuzz_target!(|data: &[u8]| {
    // C strings and white space.
    let c = cstr(data);
    assert!(!c.contains(&0));
    assert!(data.starts_with(c));
    let s = strstrip(data);
    assert!(!s.first().is_some_and(|b| is_space(*b)));
    assert!(!s.last().is_some_and(|b| is_space(*b)));
    assert!(s.len() <= c.len());

    // kstrtox in every base the kernel uses, and their write_u64/write_s64/pid users.
    for base in [0, 8, 10, 16] {
        if let Ok(v) = kstrtoull(data, base) {
            assert_eq!(kstrtoull(format!("{v}").as_bytes(), 10), Ok(v));
            assert_eq!(kstrtoull(format!("{v:#x}\n").as_bytes(), 0), Ok(v));
        }
        if let Ok(v) = kstrtoll(data, base) {
            assert_eq!(kstrtoll(format!("{v}").as_bytes(), 10), Ok(v));
        }
        if let Ok(v) = kstrtouint(data, base) {
            assert_eq!(kstrtoull(data, base), Ok(u64::from(v)));
        }
        if let Ok(v) = kstrtoint(data, base) {
            assert_eq!(kstrtoll(data, base), Ok(i64::from(v)));
        }
        let (_, rest) = simple_strtoull(data, base);
        assert!(within(data, rest));
    }
    let _ = kstrtobool(data);
    if let Ok(v) = write_u64_input(data) {
        assert_eq!(kstrtoull(data, 0), Ok(v));
    }
    if let Ok(v) = write_s64_input(data) {
        assert_eq!(kstrtoll(data, 0), Ok(v));
    }
    if let Ok(p) = parse_procs_pid(data) {
        assert!(p >= 0);
        assert_eq!(parse_procs_pid(format!(" {p}\n").as_bytes()), Ok(p));
    }

    // Memory sizes.
    let (_, rest) = memparse(data);
    assert!(within(data, rest));
    let _ = page_counter_memparse(data, b"-1");
    let _ = page_counter_memparse(data, b"max");
    // A limit (in pages) reads back as bytes (memory.limit_in_bytes), which parse back to
    // the same pages.
    if let Ok(pages) = parse_memory_limit(data) {
        assert!(pages <= PAGE_COUNTER_MAX);
        let shown = memory_limit_bytes(pages);
        assert!(shown <= UNLIMITED_MEMORY_BYTES);
        assert_eq!(
            parse_memory_limit(format!("{shown}\n").as_bytes()),
            Ok(pages)
        );
    }

    // pids.max: accepted values print back as themselves.
    if let Ok(limit) = parse_pids_max(data) {
        if let Some(n) = limit {
            assert!(n < PIDS_MAX);
        }
        let shown = format!("{}\n", pids_max_display(limit));
        assert_eq!(parse_pids_max(shown.as_bytes()), Ok(limit));
    }

    // cpuset masks: the list format round-trips (bitmap_list_string / bitmap_parselist).
    let nr_cpus = usize::from(data.first().copied().unwrap_or(4)) % (NR_CPUS + 1);
    for mask in [
        cpulist_parse(data, nr_cpus),
        parse_cpuset_cpus(data, nr_cpus),
    ]
    .into_iter()
    .flatten()
    {
        assert!(mask.iter().all(|b| b < nr_cpus));
        assert_eq!(
            cpulist_parse(mask.to_string().as_bytes(), nr_cpus),
            Ok(mask)
        );
    }
    for mask in [nodelist_parse(data), parse_cpuset_mems(data)]
        .into_iter()
        .flatten()
    {
        assert_eq!(nodelist_parse(mask.to_string().as_bytes()), Ok(mask));
    }
    let _ = parse_bitmap_list::<1>(data, 64);

    // devices.allow / devices.deny: a rule prints (devices.list) as a rule that parses
    // back to itself; except one with no access letter (only from odd writes such as
    // "c 1:3 \nr"), which prints with a trailing blank that the strip removes (EINVAL, as
    // in Linux).
    if let Ok(rule) = parse_dev_rule(data).map_err(|_| ()).and_then(|r| {
        if r.access.is_empty() {
            Err(())
        } else {
            Ok(r)
        }
    }) {
        let shown = rule.to_string();
        assert_eq!(parse_dev_rule(shown.as_bytes()), Ok(rule), "{shown:?}");
    }
});
