//! Credentials: who is asking, and whose task is being moved.

/// A user id.
pub type Uid = u32;
/// A group id.
pub type Gid = u32;

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
    };

    /// An ordinary user: every id `uid`, group `gid`, no capabilities.
    pub const fn user(uid: Uid, gid: Gid) -> Creds {
        Creds {
            uid,
            euid: uid,
            suid: uid,
            egid: gid,
            cap_sys_admin: false,
            cap_dac_override: false,
        }
    }

    /// The v1 rule for moving `target` by writing its pid to `tasks` or `cgroup.procs`
    /// (`__cgroup1_procs_write`, kernel/cgroup/cgroup-v1.c): the writer's euid is root,
    /// or equals the target's uid or suid.
    pub fn may_move(&self, target: &Creds) -> bool {
        self.euid == 0 || self.euid == target.uid || self.euid == target.suid
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
}
