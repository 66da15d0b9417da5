//! The modules' layering of a crate, checked from its sources: each top-level module uses only
//! those before it in the crate's list of layers, and no two source files use each other,
//! directly or around a circle.
//!
//! Invariant: every `crate::a::b` path outside comments is an edge from the file it is in to
//! the file of the longest module path it names (or, for a name the crate root re-exports, to
//! the module it comes from), and a path that names no file fails the check. Without it a
//! module could drift back into a circle with the modules it was taken out of, unseen, and
//! nothing could be built or tested apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Panics unless the crate at `manifest_dir` is layered: each top-level module of its `src`
/// (but `lib.rs` and `layers.rs`, the check's own file) uses only the `layers` up to its own,
/// and no file uses one that uses it back. `root_names` are the crate root's re-exports, each
/// with the module it comes from.
pub fn assert_layered(
    manifest_dir: &str,
    layers: &[&str],
    root_names: &'static [(&'static str, &'static str)],
) {
    let sources = Sources::read(
        &Path::new(manifest_dir).join("src"),
        &["layers"],
        root_names,
    );
    sources.assert_layers(layers);
    sources.assert_no_circle();
}

/// A crate's source files, by module path (`pool::autoscale`), with their text.
struct Sources {
    files: BTreeMap<String, String>,
    /// What the crate root re-exports, usable as `crate::Name`: (name, module).
    root_names: &'static [(&'static str, &'static str)],
}

impl Sources {
    /// The files under `src` (a crate's `src` directory) but `lib.rs` and `skip`; `root_names`
    /// are the crate root's re-exports, each with the module it comes from.
    fn read(
        src: &Path,
        skip: &[&str],
        root_names: &'static [(&'static str, &'static str)],
    ) -> Sources {
        let mut files = BTreeMap::new();
        walk(src, "", &mut files);
        files.remove("lib");
        for module in skip {
            files.remove(*module);
        }
        Sources { files, root_names }
    }

    /// Panics unless each top-level module is in `layers` (lowest first) and uses only the
    /// layers up to its own.
    fn assert_layers(&self, layers: &[&str]) {
        let modules = self.modules();
        let rank = |module: &str| {
            layers
                .iter()
                .position(|layer| *layer == top(module))
                .unwrap_or_else(|| panic!("{module} is in no layer"))
        };
        for (module, text) in &self.files {
            for used in self.uses(text, &modules) {
                assert!(
                    rank(&used) <= rank(module),
                    "{module} uses {used}, a layer above it ({} is above {})",
                    top(&used),
                    top(module)
                );
            }
        }
    }

    /// Panics when a file uses another that uses it back, directly or around a circle.
    fn assert_no_circle(&self) {
        let modules = self.modules();
        let edges: BTreeMap<&str, BTreeSet<String>> = self
            .files
            .iter()
            .map(|(module, text)| {
                let mut used = self.uses(text, &modules);
                used.remove(module);
                (module.as_str(), used)
            })
            .collect();
        for module in &modules {
            if let Some(path) = path_back(module, module, &edges, &mut BTreeSet::new()) {
                panic!("a circle of uses: {} → {module}", path.join(" → "));
            }
        }
    }

    fn modules(&self) -> BTreeSet<&str> {
        self.files.keys().map(String::as_str).collect()
    }

    /// The modules `text` names through `crate::` paths, resolved to files of `modules`.
    fn uses(&self, text: &str, modules: &BTreeSet<&str>) -> BTreeSet<String> {
        let code = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut used = BTreeSet::new();
        for path in crate_paths(&code) {
            let segments = segments(path);
            let Some(first) = segments.first() else {
                continue;
            };
            if let Some((_, module)) = self.root_names.iter().find(|(name, _)| name == first) {
                used.insert((*module).to_owned());
                continue;
            }
            // The longest prefix that is a file.
            let resolved = (1..=segments.len())
                .rev()
                .map(|len| segments[..len].join("::"))
                .find(|path| modules.contains(path.as_str()));
            match resolved {
                Some(module) => used.insert(module),
                None => panic!("`crate::{}` names no module file", segments.join("::")),
            };
        }
        used
    }
}

/// Every source file under `dir`, by module path after `prefix`.
fn walk(dir: &Path, prefix: &str, found: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() {
            walk(&path, &format!("{prefix}{stem}::"), found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            found.insert(format!("{prefix}{stem}"), text);
        }
    }
}

/// What follows each `crate::` of `code`: a path, or each item of a `crate::{a, b::c}` group
/// (groups nest no deeper in these crates).
fn crate_paths(code: &str) -> Vec<&str> {
    let mut paths = Vec::new();
    for (start, _) in code.match_indices("crate::") {
        let rest = &code[start + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => paths.extend(group[..group.find('}').unwrap()].split(',')),
            None => paths.push(rest),
        }
    }
    paths
}

/// The names of a path's segments, up to the first that is not a name.
fn segments(path: &str) -> Vec<String> {
    let mut segments = Vec::new();
    for segment in path.trim_start().split("::") {
        let name: String = segment
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            break;
        }
        segments.push(name);
    }
    segments
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

/// A path of uses from `from` back to `to`, depth first.
fn path_back<'a>(
    from: &'a str,
    to: &str,
    edges: &'a BTreeMap<&str, BTreeSet<String>>,
    seen: &mut BTreeSet<&'a str>,
) -> Option<Vec<&'a str>> {
    for next in &edges[from] {
        if next == to {
            return Some(vec![from]);
        }
        if seen.insert(next.as_str())
            && let Some(mut path) = path_back(next.as_str(), to, edges, seen)
        {
            path.insert(0, from);
            return Some(path);
        }
    }
    None
}
