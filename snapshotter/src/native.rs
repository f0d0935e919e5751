//! `NativeSnapshotter`: snapshots as full copies, for filesystems without overlayfs.
//!
//! Layout: `<root>/snapshots/native/snapshots/<id>/fs`. `prepare` over a parent
//! copies the parent's whole tree (see `copy` for what is preserved) into the new
//! snapshot's `fs`, outside the metadata lock; `commit` only records it. Deleting a
//! file in an active snapshot simply removes it: there are no whiteouts.
//!
//! Mounts: an active snapshot is an `rbind,rw` bind of its own `fs`. A view is an
//! `rbind,ro` bind of its parent's `fs` — committed snapshots are immutable, so a
//! view needs no copy — or of its own empty `fs` when it has no parent.
//!
//! Layout ([`Snapshotter::layout`]): `own` is the snapshot's `fs`, holding its
//! whole tree ([`Contents::WholeTree`]); its parents' `fs` directories follow.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use crate::copy::copy_tree;
use crate::snapshot::{bind, path_str};
use crate::store::{Snap, Store, FS};
use crate::{Contents, Error, Info, Kind, Labels, Layout, Mount, Result, Snapshotter, Usage};

const NAME: &str = "native";

/// Snapshots as full copies; see the module docs for layout and mounts.
#[derive(Debug)]
pub struct NativeSnapshotter {
    store: Store,
}

impl NativeSnapshotter {
    /// Opens (creating if needed) the native snapshotter under `<root>/snapshots/native`.
    pub fn new(root: &Path) -> Result<Self> {
        let store = Store::open(root, NAME)?;
        path_str(store.dir())?;
        Ok(NativeSnapshotter { store })
    }
}

/// Creates an empty `fs` directory (0755).
fn empty_fs(dir: &Path) -> Result<()> {
    let path = dir.join(FS);
    DirBuilder::new()
        .mode(0o755)
        .create(&path)
        .map_err(Error::io("create directory", &path))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).map_err(Error::io("chmod", &path))
}

/// An active snapshot starts as a copy of its parent, or empty.
fn populate_active(dir: &Path, parent: Option<&Path>) -> Result<()> {
    match parent {
        Some(parent) => copy_tree(&parent.join(FS), &dir.join(FS)),
        None => empty_fs(dir),
    }
}

/// A view shows its parent directly; it only needs an empty tree for no parent.
fn populate_view(dir: &Path, _parent: Option<&Path>) -> Result<()> {
    empty_fs(dir)
}

fn mounts(snap: &Snap) -> Result<Vec<Mount>> {
    let mount = match (snap.kind, snap.parents.first()) {
        (Kind::View, Some(parent)) => bind(&parent.join(FS), true)?,
        (kind, _) => bind(&snap.dir.join(FS), kind == Kind::View)?,
    };
    Ok(vec![mount])
}

impl Snapshotter for NativeSnapshotter {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(&self, key: &str, parent: Option<&str>, labels: &Labels) -> Result<Vec<Mount>> {
        let snap = self
            .store
            .create(key, parent, Kind::Active, labels, &populate_active)?;
        mounts(&snap)
    }

    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        let labels = Labels::new();
        let snap = self
            .store
            .create(key, parent, Kind::View, &labels, &populate_view)?;
        mounts(&snap)
    }

    fn mounts(&self, key: &str) -> Result<Vec<Mount>> {
        mounts(&self.store.active(key)?)
    }

    fn commit(&self, name: &str, key: &str) -> Result<()> {
        self.store.commit(name, key)
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.store.remove(key)
    }

    fn stat(&self, key: &str) -> Result<Info> {
        self.store.stat(key)
    }

    fn list(&self) -> Result<Vec<Info>> {
        self.store.list()
    }

    fn layout(&self, key: &str) -> Result<Layout> {
        let (own, parents) = self.store.dirs(key)?;
        Ok(Layout {
            own,
            parents,
            contents: Contents::WholeTree,
        })
    }

    fn usage(&self, key: &str) -> Result<Usage> {
        self.store.usage(key)
    }

    fn collect(
        &self,
        roots: &dyn Fn(&[Info]) -> Result<std::collections::BTreeSet<String>>,
    ) -> Result<crate::Collected> {
        self.store.collect(roots)
    }
}
