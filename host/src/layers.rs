//! The modules' layering, checked: each top-level module uses only those before it in
//! [`LAYERS`], and no two source files use each other, directly or around a circle.
//!
//! Without it, the modules drift back into the circle they were taken out of (app, call,
//! container, function and pool each importing the others), and nothing can be built or
//! tested apart. The check reads the sources: every `crate::a::b` path outside comments is an
//! edge from the file it is in to the file of the longest module path it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules, lowest first.
const LAYERS: [&str; 11] = [
    "error",
    "storage",
    "options",
    "schedule",
    "info",
    "dispatch",
    "runtime",
    "container",
    "load",
    "pool",
    "api",
];

/// What the crate root re-exports from the lowest layer, usable as `crate::Error`.
const ROOT_NAMES: [(&str, &str); 3] = [
    ("Error", "error"),
    ("ErrorKind", "error"),
    ("LoadError", "error"),
];

/// Every source file, by module path (`pool::autoscale`), with its text.
fn sources() -> BTreeMap<String, String> {
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
    let mut found = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut found,
    );
    found.remove("lib");
    found.remove("layers");
    found
}

/// The modules `text` names through `crate::` paths, resolved to files of `modules`.
fn uses(text: &str, modules: &BTreeSet<&str>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let code = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths: Vec<&str> = Vec::new();
    for (start, _) in code.match_indices("crate::") {
        let rest = &code[start + "crate::".len()..];
        match rest.strip_prefix('{') {
            // `crate::{a, b::c}`: each item is a path (groups nest no deeper here).
            Some(group) => paths.extend(group[..group.find('}').unwrap()].split(',')),
            None => paths.push(rest),
        }
    }
    for rest in paths {
        let rest = rest.trim_start();
        let mut segments = Vec::new();
        for segment in rest.split("::") {
            let name: String = segment
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                break;
            }
            segments.push(name);
        }
        if let Some(first) = segments.first()
            && let Some((_, module)) = ROOT_NAMES.iter().find(|(name, _)| name == first)
        {
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

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    let sources = sources();
    let modules: BTreeSet<&str> = sources.keys().map(String::as_str).collect();
    for module in &modules {
        assert!(LAYERS.contains(&top(module)), "{module} is in no layer");
    }
    for (module, text) in &sources {
        let rank = LAYERS
            .iter()
            .position(|layer| *layer == top(module))
            .unwrap();
        for used in uses(text, &modules) {
            let used_rank = LAYERS
                .iter()
                .position(|layer| *layer == top(&used))
                .unwrap();
            assert!(
                used_rank <= rank,
                "{module} uses {used}, a layer above it ({} is above {})",
                top(&used),
                top(module)
            );
        }
    }
}

#[test]
fn no_file_uses_one_that_uses_it_back() {
    let sources = sources();
    let modules: BTreeSet<&str> = sources.keys().map(String::as_str).collect();
    let edges: BTreeMap<&str, BTreeSet<String>> = sources
        .iter()
        .map(|(module, text)| {
            let mut used = uses(text, &modules);
            used.remove(module);
            (module.as_str(), used)
        })
        .collect();
    // Depth-first search for a path back to where it started.
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
    for module in &modules {
        if let Some(path) = path_back(module, module, &edges, &mut BTreeSet::new()) {
            panic!("a circle of uses: {} → {module}", path.join(" → "));
        }
    }
}
