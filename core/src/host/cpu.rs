//! CPUs and memory nodes.

/// What gpc needs to know of the machine's processors.
pub trait Cpus {
    /// The CPU the caller runs on, in `0..nr_cpus()`. Used to pick a per-CPU slot; a
    /// host without per-CPU data may always answer 0.
    fn current_cpu(&self) -> usize;

    /// The number of possible CPUs (at least 1).
    fn nr_cpus(&self) -> usize;

    /// The number of memory nodes (at least 1), for cpuset's `mems`.
    fn nr_mem_nodes(&self) -> usize {
        1
    }
}
