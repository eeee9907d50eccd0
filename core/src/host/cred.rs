//! Credentials: who is asking, and whose task is being moved.
//!
//! Capabilities are modelled as far as cgroup v1 asks for them: the effective
//! `CAP_SYS_ADMIN`, `CAP_DAC_OVERRIDE` and `CAP_SYS_NICE` of whoever acts, and the
//! permitted set of a task that is moved (cpuset's `security_task_setscheduler` compares
//! permitted sets, see [`Creds::may_setscheduler`]).

/// A user id.
pub type Uid = u32;
/// A group id.
pub type Gid = u32;

/// `CAP_SYS_NICE` (include/uapi/linux/capability.h).
pub const CAP_SYS_NICE: u32 = 23;
/// `CAP_LAST_CAP` of Linux 6.18 (`CAP_CHECKPOINT_RESTORE`).
pub const CAP_LAST_CAP: u32 = 40;

/// A capability set (Linux `kernel_cap_t`): capability `N` is bit `N`.
///
/// Kept as two 32-bit words, as Linux did before 6.3, so that [`Creds`] stays 4-byte
/// aligned: a task table holds one per task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSet {
    low: u32,
    high: u32,
}

impl CapSet {
    /// No capability.
    pub const EMPTY: CapSet = CapSet { low: 0, high: 0 };
    /// Every capability up to [`CAP_LAST_CAP`] (Linux `CAP_FULL_SET`): what a task of
    /// root has.
    pub const FULL: CapSet = CapSet::from_bits((1u64 << (CAP_LAST_CAP + 1)) - 1);

    /// The set whose bit `N` is capability `N`.
    pub const fn from_bits(bits: u64) -> CapSet {
        CapSet {
            low: bits as u32,
            high: (bits >> 32) as u32,
        }
    }

    /// Bit `N` is capability `N`.
    pub const fn bits(self) -> u64 {
        (self.high as u64) << 32 | self.low as u64
    }

    /// Whether capability `cap` is in the set (`false` past 63).
    pub const fn contains(self, cap: u32) -> bool {
        cap < 64 && self.bits() & (1u64 << cap) != 0
    }

    /// Linux `cap_issubset(self, of)`: every capability of `self` is in `of`.
    pub const fn is_subset(self, of: CapSet) -> bool {
        self.bits() & !of.bits() == 0
    }
}

/// The credentials gpc checks (the subset of Linux `struct cred` that cgroup v1 uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Creds {
    /// Real user id.
    pub uid: Uid,
    /// Effective user id: the one file permissions and the task-move rule test.
    pub euid: Uid,
    /// Saved set-user-id.
    pub suid: Uid,
    /// Effective group id.
    pub egid: Gid,
    /// `CAP_SYS_ADMIN` (administer cgroups: mount, release_agent).
    pub cap_sys_admin: bool,
    /// `CAP_DAC_OVERRIDE` (bypass file permission checks).
    pub cap_dac_override: bool,
    /// `CAP_SYS_NICE` in the effective set (change any task's scheduling).
    pub cap_sys_nice: bool,
    /// The permitted capability set.
    pub cap_permitted: CapSet,
}

impl Creds {
    /// Root with every capability (the kernel itself, or a script's default user).
    pub const ROOT: Creds = Creds {
        uid: 0,
        euid: 0,
        suid: 0,
        egid: 0,
        cap_sys_admin: true,
        cap_dac_override: true,
        cap_sys_nice: true,
        cap_permitted: CapSet::FULL,
    };

    /// An ordinary user: every id `uid`, group `gid`, no capabilities (none effective,
    /// none permitted; also for uid 0).
    pub const fn user(uid: Uid, gid: Gid) -> Creds {
        Creds {
            uid,
            euid: uid,
            suid: uid,
            egid: gid,
            cap_sys_admin: false,
            cap_dac_override: false,
            cap_sys_nice: false,
            cap_permitted: CapSet::EMPTY,
        }
    }

    /// The v1 rule for moving `target` by writing its pid to `tasks` or `cgroup.procs`
    /// (`__cgroup1_procs_write`, kernel/cgroup/cgroup-v1.c): the writer's euid is root,
    /// or equals the target's uid or suid.
    pub fn may_move(&self, target: &Creds) -> bool {
        self.euid == 0 || self.euid == target.uid || self.euid == target.suid
    }

    /// Whether these credentials may change the scheduling of a task with `target`'s:
    /// Linux `security_task_setscheduler` → `cap_task_setscheduler` → `cap_safe_nice`
    /// (security/commoncap.c): the target's permitted set is a subset of ours, or we
    /// have `CAP_SYS_NICE`; otherwise `EPERM`. (No LSM besides the capability module is
    /// modelled.)
    pub fn may_setscheduler(&self, target: &Creds) -> bool {
        target.cap_permitted.is_subset(self.cap_permitted) || self.cap_sys_nice
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_rule_is_linux_v1() {
        let alice = Creds::user(1000, 1000);
        let bob = Creds::user(1001, 1001);
        assert!(Creds::ROOT.may_move(&alice));
        assert!(alice.may_move(&alice));
        assert!(!alice.may_move(&bob));
        let setuid_bob = Creds { suid: 1000, ..bob };
        assert!(alice.may_move(&setuid_bob));
        // `as 0` in a script: uid 0 but no capabilities still passes (euid is root).
        assert!(Creds::user(0, 0).may_move(&bob));
    }

    #[test]
    fn capability_sets() {
        assert_eq!(CapSet::FULL.bits(), 0x1ff_ffff_ffff);
        assert!(CapSet::FULL.contains(CAP_SYS_NICE));
        assert!(CapSet::FULL.contains(CAP_LAST_CAP));
        assert!(!CapSet::FULL.contains(CAP_LAST_CAP + 1));
        assert!(!CapSet::FULL.contains(64));
        assert!(CapSet::EMPTY.is_subset(CapSet::EMPTY));
        assert!(CapSet::EMPTY.is_subset(CapSet::FULL));
        assert!(!CapSet::FULL.is_subset(CapSet::EMPTY));
        let nice = CapSet::from_bits(1 << CAP_SYS_NICE);
        let high = CapSet::from_bits(1 << 40);
        assert_eq!(nice.bits(), 1 << CAP_SYS_NICE);
        assert_eq!(high.bits(), 1 << 40);
        assert!(!high.is_subset(nice));
        assert!(nice.is_subset(CapSet::from_bits(nice.bits() | high.bits())));
    }

    #[test]
    fn setscheduler_rule_is_cap_safe_nice() {
        let root0 = Creds::user(0, 0);
        let alice = Creds::user(1000, 1000);
        // Linux security/commoncap.c cap_safe_nice: the target's permitted set must be a
        // subset of the caller's, unless the caller has CAP_SYS_NICE.
        assert!(Creds::ROOT.may_setscheduler(&Creds::ROOT));
        assert!(Creds::ROOT.may_setscheduler(&alice));
        assert!(
            !root0.may_setscheduler(&Creds::ROOT),
            "uid 0, no capabilities"
        );
        assert!(!alice.may_setscheduler(&Creds::ROOT));
        assert!(root0.may_setscheduler(&alice), "empty is a subset of empty");
        assert!(alice.may_setscheduler(&root0));
        let nice_only = Creds {
            cap_sys_nice: true,
            ..alice
        };
        assert!(nice_only.may_setscheduler(&Creds::ROOT));
        let some = Creds {
            cap_permitted: CapSet::from_bits(0b101),
            ..alice
        };
        let fewer = Creds {
            cap_permitted: CapSet::from_bits(0b100),
            ..alice
        };
        assert!(some.may_setscheduler(&fewer));
        assert!(!fewer.may_setscheduler(&some));
    }
}
