//! Debug subsystems for testing the framework on its own.

use crate::error::{Error, Result};
use crate::files::{CfFlags, CfType, FileCtxOf, Out};
use crate::primitive::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::subsys::{Css, Hooks, Subsystem, TaskInfo};

/// A subsystem with every hook: counts tasks hierarchically and can refuse forks past a
/// limit (like pids) and attaches (when `deny_attach` is set on the destination).
pub struct Probe;

/// [`Probe`]'s state.
pub struct ProbeState {
    /// Tasks charged here (this container and below).
    pub count: AtomicUsize,
    /// Fork limit (`u64::MAX`: none).
    pub limit: AtomicU64,
    /// Refuse attaches into this container with `EPERM`.
    pub deny_attach: AtomicBool,
    /// Hooks called, for tests.
    pub calls: AtomicUsize,
}

fn read_count(_: &Probe, ctx: &FileCtxOf<'_, Probe>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", ctx.css().count.load(Ordering::Relaxed))
}

fn read_limit(_: &Probe, ctx: &FileCtxOf<'_, Probe>, out: &mut Out<'_>) -> Result {
    match ctx.css().limit.load(Ordering::Relaxed) {
        u64::MAX => out.bytes(b"max\n"),
        v => writeln!(out, "{v}"),
    }
}

fn write_limit(_: &Probe, ctx: &FileCtxOf<'_, Probe>, data: &[u8]) -> Result {
    let v = if crate::parse::strstrip(data) == b"max" {
        u64::MAX
    } else {
        crate::parse::write_u64_input(data)?
    };
    ctx.css().limit.store(v, Ordering::Relaxed);
    Ok(())
}

fn read_deny(_: &Probe, ctx: &FileCtxOf<'_, Probe>, out: &mut Out<'_>) -> Result {
    writeln!(
        out,
        "{}",
        u8::from(ctx.css().deny_attach.load(Ordering::Relaxed))
    )
}

fn write_deny(_: &Probe, ctx: &FileCtxOf<'_, Probe>, data: &[u8]) -> Result {
    let v = crate::parse::write_u64_input(data)?;
    ctx.css().deny_attach.store(v != 0, Ordering::Relaxed);
    Ok(())
}

// On both hierarchies (as pids shares its files), so the probe is on v2 when no v1
// hierarchy holds it.
static PROBE_FILES: [CfType<Probe>; 3] = [
    CfType::ro("count", read_count).with_flags(CfFlags::ON_DFL),
    CfType::rw("limit", read_limit, write_limit).with_flags(CfFlags::ON_DFL),
    CfType::rw("deny_attach", read_deny, write_deny).with_flags(CfFlags::ON_DFL),
];

fn charge(css: Css<'_, Probe>) -> Result {
    let mut done = 0;
    for c in css.ancestors_and_self() {
        let new = c.count.fetch_add(1, Ordering::AcqRel) + 1;
        done += 1;
        if new as u64 > c.limit.load(Ordering::Relaxed) {
            for u in css.ancestors_and_self().take(done) {
                u.count.fetch_sub(1, Ordering::AcqRel);
            }
            return Err(Error::EAGAIN);
        }
    }
    Ok(())
}

fn uncharge(css: Css<'_, Probe>) {
    for c in css.ancestors_and_self() {
        c.count.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Subsystem for Probe {
    type State = ProbeState;
    const NAME: &'static str = "probe";
    const HOOKS: Hooks = Hooks::FORK.union(Hooks::EXIT);

    fn files(&self) -> &'static [CfType<Self>] {
        &PROBE_FILES
    }

    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<ProbeState> {
        Ok(ProbeState {
            count: AtomicUsize::new(0),
            limit: AtomicU64::new(u64::MAX),
            deny_attach: AtomicBool::new(false),
            calls: AtomicUsize::new(0),
        })
    }

    fn can_attach(&self, _t: &TaskInfo, _from: Css<'_, Self>, to: Css<'_, Self>) -> Result {
        to.calls.fetch_add(1, Ordering::Relaxed);
        if to.deny_attach.load(Ordering::Relaxed) {
            return Err(Error::EPERM);
        }
        Ok(())
    }

    fn attach(&self, _t: &TaskInfo, from: Css<'_, Self>, to: Css<'_, Self>) {
        uncharge(from);
        for c in to.ancestors_and_self() {
            c.count.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn can_fork(&self, _child: &TaskInfo, css: Css<'_, Self>) -> Result {
        charge(css)
    }

    fn cancel_fork(&self, _child: &TaskInfo, css: Css<'_, Self>) {
        uncharge(css);
    }

    fn exit(&self, _task: &TaskInfo, css: Css<'_, Self>) {
        uncharge(css);
    }
}

/// A subsystem with no hooks and one value file.
pub struct Plain;

/// [`Plain`]'s state.
pub struct PlainState {
    /// `plain.value`.
    pub value: AtomicU64,
}

fn read_value(_: &Plain, ctx: &FileCtxOf<'_, Plain>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", ctx.css().value.load(Ordering::Relaxed))
}

fn write_value(_: &Plain, ctx: &FileCtxOf<'_, Plain>, data: &[u8]) -> Result {
    ctx.css()
        .value
        .store(crate::parse::write_u64_input(data)?, Ordering::Relaxed);
    Ok(())
}

/// `plain.subtree`: the values of every descendant, pre-order, one per line.
fn read_subtree(_: &Plain, ctx: &FileCtxOf<'_, Plain>, out: &mut Out<'_>) -> Result {
    for d in ctx.descendants() {
        writeln!(out, "{}", d.value.load(Ordering::Relaxed))?;
    }
    Ok(())
}

// `value` on both hierarchies; `subtree` only on v1, so that both kinds are tested.
static PLAIN_FILES: [CfType<Plain>; 2] = [
    CfType::rw("value", read_value, write_value).with_flags(CfFlags::ON_DFL),
    CfType::ro("subtree", read_subtree),
];

impl Subsystem for Plain {
    type State = PlainState;
    const NAME: &'static str = "plain";
    // No hooks, nothing per task: a v2 enable re-points its state in place.
    const NO_TASK_STATE: bool = true;

    fn files(&self) -> &'static [CfType<Self>] {
        &PLAIN_FILES
    }

    fn create(&self, parent: Option<Css<'_, Self>>) -> Result<PlainState> {
        // Children start with the parent's value, like net_cls.classid.
        let v = parent.map_or(0, |p| p.value.load(Ordering::Relaxed));
        Ok(PlainState {
            value: AtomicU64::new(v),
        })
    }

    fn post_clone(&self, css: Css<'_, Self>) {
        if let Some(p) = css.parent() {
            css.value
                .store(p.value.load(Ordering::Relaxed) + 1000, Ordering::Relaxed);
        }
    }
}

/// The probe subsystems, as `Gpc::new` takes them.
pub static PROBE: Probe = Probe;
/// See [`Plain`].
pub static PLAIN: Plain = Plain;
