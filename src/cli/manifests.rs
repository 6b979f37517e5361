//! Reading the manifests given with `-f`: files as they are, directories as their `*.yaml` and
//! `*.yml` files (not recursive, in name order, so output is stable).

use std::path::{Path, PathBuf};

use super::CliError;
use super::preview::load_profiles;
use crate::api::IdentityProfile;

/// The files to read for `paths`: each directory replaced by its `*.yaml`/`*.yml` files, sorted.
pub fn manifest_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| CliError::Read {
                    path: path.clone(),
                    source,
                })?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| is_manifest_file(p))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn is_manifest_file(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "yaml" || x == "yml")
}

/// The `IdentityProfile` documents of every file of [`manifest_files`], in order.
pub fn load_manifests(paths: &[PathBuf]) -> Result<Vec<IdentityProfile>, CliError> {
    let mut manifests = Vec::new();
    for file in manifest_files(paths)? {
        let text = std::fs::read_to_string(&file).map_err(|source| CliError::Read {
            path: file.clone(),
            source,
        })?;
        let profiles = load_profiles(&text).map_err(|source| CliError::Manifest {
            path: file.clone(),
            source,
        })?;
        manifests.extend(profiles);
    }
    Ok(manifests)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\n\
        metadata: {name: NAME}\nspec:\n  tenantRef: {name: demo}\n  name: NAME\n  \
        authoritativeSource: {id: s1}\n";

    /// A fresh temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!(
                "isc-manifests-{tag}-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn directories_contribute_their_yaml_files_in_name_order() {
        let dir = TempDir::new("order");
        dir.write("b.yml", "");
        dir.write("a.yaml", "");
        dir.write("c.json", "{}");
        dir.write("README.md", "");
        std::fs::create_dir(dir.0.join("nested.yaml")).unwrap();
        let single = dir.write("z.txt", "");
        let files = manifest_files(&[dir.0.clone(), single.clone()]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        // A file given by name is read whatever its extension; subdirectories are not entered
        // (`nested.yaml` is listed like a file and fails when read).
        assert_eq!(names, ["a.yaml", "b.yml", "nested.yaml", "z.txt"]);
    }

    #[test]
    fn manifests_load_across_files_and_documents() {
        let dir = TempDir::new("load");
        dir.write("a.yaml", &PROFILE.replace("NAME", "one"));
        let two = format!(
            "{}---\n{}",
            PROFILE.replace("NAME", "two"),
            PROFILE.replace("NAME", "three")
        );
        dir.write("b.yaml", &two);
        let names: Vec<_> = load_manifests(std::slice::from_ref(&dir.0))
            .unwrap()
            .into_iter()
            .map(|m| m.spec.name)
            .collect();
        assert_eq!(names, ["one", "two", "three"]);
    }

    #[test]
    fn unreadable_and_invalid_files_are_named() {
        let dir = TempDir::new("errors");
        let missing = dir.0.join("missing.yaml");
        let err = load_manifests(std::slice::from_ref(&missing)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read {}: ", missing.display())),
            "{err}"
        );
        let bad = dir.write("bad.yaml", "kind: IdentityProfile\nspec: 3\n");
        let err = load_manifests(std::slice::from_ref(&bad)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: document 1:", bad.display())),
            "{err}"
        );
    }
}
