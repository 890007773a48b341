//! Who could change a library between the host's checks and its use.
//!
//! A library (or the folder holding it, or any folder above) that another user can write to
//! could be swapped for different code after its hash was checked, so the host refuses it.
//! The rules follow OpenSSH's `StrictModes` with Debian's user-private-group relaxation:
//!
//! * the owner is the current user or root;
//! * nobody else may write: no write bit for others, and no group write bit unless the group
//!   is the owner's private group (its only member, as on Debian and Ubuntu with `umask 002`);
//! * a folder above the library's own folder may be writable by others only with the sticky
//!   bit set (like `/tmp`), which stops them renaming what they do not own.

use std::path::Path;

/// Checks the library at `path` (symbolic links resolved), its folder and every folder above.
#[cfg(unix)]
pub fn check(path: &Path) -> Result<(), String> {
    let real = path
        .canonicalize()
        .map_err(|error| format!("cannot resolve {}: {error}", path.display()))?;
    let accounts = Accounts::load();
    let me = rustix::process::geteuid().as_raw();
    check_one(&real, me, &accounts, false)?;
    // A symbolic link's own folder decides which file the name points at.
    if let Some(listed_dir) = path.parent() {
        if listed_dir != real.parent().unwrap_or(listed_dir) {
            check_one(listed_dir, me, &accounts, false)?;
        }
    }
    let mut ancestors = real.ancestors().skip(1);
    if let Some(folder) = ancestors.next() {
        check_one(folder, me, &accounts, false)?;
    }
    for folder in ancestors {
        check_one(folder, me, &accounts, true)?;
    }
    Ok(())
}

/// Permission checks are not implemented on this platform: libraries outside the
/// installation still need a manifest with a matching hash.
#[cfg(not(unix))]
pub fn check(_path: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(unix)]
fn check_one(
    path: &Path,
    me: u32,
    accounts: &Accounts,
    sticky_allowed: bool,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;

    let metadata = std::fs::metadata(path)
        .map_err(|error| format!("cannot inspect {}: {error}", path.display()))?;
    let mode = metadata.mode();
    let (owner, group) = (metadata.uid(), metadata.gid());
    if owner != me && owner != 0 {
        return Err(format!(
            "{} is owned by user {owner}, neither the current user nor root, who could replace it",
            path.display()
        ));
    }
    let sticky = mode & 0o1000 != 0;
    if mode & 0o002 != 0 && !(sticky_allowed && sticky && metadata.is_dir()) {
        return Err(format!(
            "{} is writable by every user (mode {:o}); run `chmod o-w` on it",
            path.display(),
            mode & 0o7777
        ));
    }
    if mode & 0o020 != 0
        && !(sticky_allowed && sticky && metadata.is_dir())
        && !accounts.is_private_group(group, owner)
    {
        return Err(format!(
            "{} is writable by its group (gid {group}), which has other members; run `chmod g-w` on it",
            path.display()
        ));
    }
    Ok(())
}

/// The local account database (`/etc/passwd`, `/etc/group`), for the private-group rule.
/// Accounts kept elsewhere (LDAP, …) are unknown, and their groups are never private.
#[cfg(unix)]
#[derive(Debug, Default)]
pub struct Accounts {
    passwd: String,
    group: String,
}

#[cfg(unix)]
impl Accounts {
    /// Reads the local account files.
    pub fn load() -> Self {
        Accounts {
            passwd: std::fs::read_to_string("/etc/passwd").unwrap_or_default(),
            group: std::fs::read_to_string("/etc/group").unwrap_or_default(),
        }
    }

    /// Accounts from the given file contents.
    #[cfg(test)]
    pub fn from_text(passwd: &str, group: &str) -> Self {
        Accounts {
            passwd: passwd.to_owned(),
            group: group.to_owned(),
        }
    }

    /// Whether `gid` is `uid`'s private group: it is `uid`'s primary group, no other account
    /// has it as its primary group, and it lists no member but `uid`'s own name.
    pub fn is_private_group(&self, gid: u32, uid: u32) -> bool {
        // name:password:uid:gid:…
        let users: Vec<(&str, u32, u32)> = self
            .passwd
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let user = fields.nth(1)?.parse().ok()?;
                let primary = fields.next()?.parse().ok()?;
                Some((name, user, primary))
            })
            .collect();
        let Some(&(name, _, primary)) = users.iter().find(|(_, user, _)| *user == uid) else {
            return false;
        };
        if primary != gid
            || users
                .iter()
                .any(|(_, user, group)| *group == gid && *user != uid)
        {
            return false;
        }
        // name:password:gid:member,member
        self.group.lines().any(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            fields.len() == 4
                && fields[2].parse() == Ok(gid)
                && fields[3]
                    .split(',')
                    .filter(|member| !member.is_empty())
                    .all(|member| member == name)
        })
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        ada:x:1000:1000:Ada:/home/ada:/bin/bash\n\
        bob:x:1001:100:Bob:/home/bob:/bin/bash\n\
        eve:x:1002:1002:Eve:/home/eve:/bin/bash\n\
        mallory:x:1003:1002::/home/m:/bin/sh\n";
    const GROUP: &str =
        "root:x:0:\nada:x:1000:\nusers:x:100:bob,ada\neve:x:1002:\nstaff:x:50:ada,bob\n";

    #[test]
    fn only_a_users_own_group_is_private() {
        let accounts = Accounts::from_text(PASSWD, GROUP);
        assert!(accounts.is_private_group(1000, 1000), "ada's own group");
        assert!(accounts.is_private_group(0, 0), "root's own group");
        assert!(
            !accounts.is_private_group(100, 1001),
            "users has several members"
        );
        assert!(
            !accounts.is_private_group(50, 1000),
            "staff is not ada's primary group"
        );
        assert!(
            !accounts.is_private_group(1002, 1002),
            "mallory shares eve's group"
        );
        assert!(!accounts.is_private_group(1000, 4242), "unknown user");
        assert!(
            !Accounts::default().is_private_group(0, 0),
            "no account files"
        );
    }

    #[test]
    fn writable_libraries_and_folders_are_refused() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().expect("temp dir");
        let folder = dir.path().join("plugins");
        std::fs::create_dir(&folder).expect("mkdir");
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let library = folder.join("libplenum_x.so");
        std::fs::write(&library, b"x").expect("write");
        std::fs::set_permissions(&library, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        check(&library).expect("a library only its owner can write passes");

        std::fs::set_permissions(&library, std::fs::Permissions::from_mode(0o757)).expect("chmod");
        assert!(check(&library)
            .unwrap_err()
            .contains("writable by every user"));
        std::fs::set_permissions(&library, std::fs::Permissions::from_mode(0o755)).expect("chmod");

        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let refusal = check(&library).unwrap_err();
        assert!(refusal.contains(&folder.display().to_string()), "{refusal}");
        // Even with the sticky bit, the library's own folder must not be writable by others.
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        assert!(check(&library).is_err());
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).expect("chmod");

        // A folder further up may be shared if it is sticky, like /tmp.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777))
            .expect("chmod");
        check(&library).expect("sticky ancestor passes");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        assert!(
            check(&library).is_err(),
            "a non-sticky shared ancestor fails"
        );
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
    }
}
