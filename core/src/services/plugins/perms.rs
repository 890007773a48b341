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
    let accounts = Accounts::load();
    let me = rustix::process::geteuid().as_raw();
    if let Some(chain) = plain_chain(path) {
        // The file first, then its folder, then the folders above: as below.
        for (index, (folder, metadata)) in chain.iter().enumerate() {
            check_metadata(folder, metadata, me, &accounts, index > 1)?;
        }
        return Ok(());
    }
    let real = path
        .canonicalize()
        .map_err(|error| format!("cannot resolve {}: {error}", path.display()))?;
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

/// `path` and every folder above it with their metadata, when `path` is absolute, has no `.`
/// or `..` and no symbolic link anywhere along it: then it is its own resolved path, and the
/// checks need one `lstat` per level instead of resolving it first (a `readlink` per level)
/// and then a `stat` per level. `None` (resolve it) otherwise, or when a level cannot be read.
#[cfg(unix)]
fn plain_chain(path: &Path) -> Option<Vec<(std::path::PathBuf, std::fs::Metadata)>> {
    use std::path::Component;
    let plain = path.is_absolute()
        && path
            .components()
            .all(|part| matches!(part, Component::RootDir | Component::Normal(_)));
    if !plain {
        return None;
    }
    let real: std::path::PathBuf = path.components().collect();
    real.ancestors()
        .map(|level| {
            let metadata = std::fs::symlink_metadata(level).ok()?;
            (!metadata.file_type().is_symlink()).then(|| (level.to_path_buf(), metadata))
        })
        .collect()
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
    let metadata = std::fs::metadata(path)
        .map_err(|error| format!("cannot inspect {}: {error}", path.display()))?;
    check_metadata(path, &metadata, me, accounts, sticky_allowed)
}

#[cfg(unix)]
fn check_metadata(
    path: &Path,
    metadata: &std::fs::Metadata,
    me: u32,
    accounts: &Accounts,
    sticky_allowed: bool,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;

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
///
/// The files are read only when a group-writable file or folder needs the rule: the usual
/// installation (mode 755 folders) never does, and a cold start is cheaper without them.
#[cfg(unix)]
#[derive(Debug)]
pub struct Accounts {
    files: std::cell::OnceCell<(String, String)>,
}

/// No account files: no group is private.
#[cfg(unix)]
impl Default for Accounts {
    fn default() -> Self {
        Accounts {
            files: std::cell::OnceCell::from((String::new(), String::new())),
        }
    }
}

#[cfg(unix)]
impl Accounts {
    /// The local account files, read on first use.
    pub fn load() -> Self {
        Accounts {
            files: std::cell::OnceCell::new(),
        }
    }

    /// Accounts from the given file contents.
    #[cfg(test)]
    pub fn from_text(passwd: &str, group: &str) -> Self {
        Accounts {
            files: std::cell::OnceCell::from((passwd.to_owned(), group.to_owned())),
        }
    }

    fn files(&self) -> (&str, &str) {
        let (passwd, group) = self.files.get_or_init(|| {
            (
                std::fs::read_to_string("/etc/passwd").unwrap_or_default(),
                std::fs::read_to_string("/etc/group").unwrap_or_default(),
            )
        });
        (passwd, group)
    }

    /// Whether `gid` is `uid`'s private group: it is `uid`'s primary group, no other account
    /// has it as its primary group, and it lists no member but `uid`'s own name.
    pub fn is_private_group(&self, gid: u32, uid: u32) -> bool {
        let (passwd, group) = self.files();
        // name:password:uid:gid:…
        let users: Vec<(&str, u32, u32)> = passwd
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
        group.lines().any(|line| {
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

    #[test]
    fn a_library_reached_through_a_symbolic_link_is_judged_where_it_is() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().expect("temp dir");
        let real = dir.path().join("real");
        std::fs::create_dir(&real).expect("mkdir");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let library = real.join("libplenum_x.so");
        std::fs::write(&library, b"x").expect("write");
        std::fs::set_permissions(&library, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let through_link = link.join("libplenum_x.so");
        check(&through_link).expect("the real folder is only the owner's");

        // The folder the link leads to is judged.
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let refusal = check(&through_link).unwrap_err();
        assert!(refusal.contains("writable by every user"), "{refusal}");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).expect("chmod");

        // A path with `..` is resolved first, then judged.
        let dotted = real.join("..").join("real").join("libplenum_x.so");
        check(&dotted).expect("same library");
        assert!(check(&dir.path().join("missing.so"))
            .unwrap_err()
            .contains("cannot resolve"));
    }
}
