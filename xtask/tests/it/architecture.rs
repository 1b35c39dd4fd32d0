//! The shape of xtask's source: tasks stand beside each other, never on each other. What two
//! tasks share lives in a module that is no task (`plan/`, `follow.rs`, `terminal.rs`, ...),
//! so a task can change without another one changing with it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The task modules: every `<module>::run(args)` that `main.rs` dispatches to.
fn tasks() -> BTreeSet<String> {
    let main = std::fs::read_to_string(src().join("main.rs")).unwrap();
    main.match_indices("::run(args)")
        .map(|(at, _)| {
            let before = &main[..at];
            // The task is the top module of the path: `deploy::rollback::run` is `deploy`'s.
            let start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(0, |i| i + 1);
            let path = &before[start..];
            path.split("::").next().unwrap_or(path).to_owned()
        })
        .collect()
}

/// The `.rs` files of module `name`: `src/<name>.rs` and everything under `src/<name>/`.
fn files_of(name: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let single = src().join(format!("{name}.rs"));
    if single.is_file() {
        files.push(single);
    }
    let mut dirs = vec![src().join(name)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.map(|e| e.unwrap().path()) {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The top-level modules `text` names through `crate::`: `crate::deploy::run`,
/// `use crate::{build, env}`.
fn crate_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        let names = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .map(|item| item.trim().to_owned())
                .collect(),
            None => vec![rest.to_owned()],
        };
        for name in names {
            let end = name
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(name.len());
            found.insert(name[..end].to_owned());
        }
    }
    found
}

#[test]
fn main_dispatches_to_every_task() {
    let tasks = tasks();
    for task in [
        "synth", "build", "diff", "cost", "diagram", "deploy", "rotate", "destroy", "outputs",
        "dev", "test", "bench", "logs", "smoke",
    ] {
        assert!(tasks.contains(task), "{task} in {tasks:?}");
    }
}

#[test]
fn no_task_imports_another_task() {
    let tasks = tasks();
    let mut found = Vec::new();
    for task in &tasks {
        let files = files_of(task);
        assert!(!files.is_empty(), "task {task} has no source file");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for other in crate_modules(&text).intersection(&tasks) {
                if other != task {
                    found.push(format!(
                        "{} uses crate::{other}",
                        file.strip_prefix(src()).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "a task module imports another task module; move what they share into a module of \
         its own:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_import_scan_sees_paths_and_groups() {
    let text = "use crate::{build, env::Environment};\nlet x = crate::deploy::run(args);";
    assert_eq!(
        crate_modules(text),
        BTreeSet::from(["build".to_owned(), "deploy".to_owned(), "env".to_owned()])
    );
}

/// The service's top modules (`app/src/X.rs` or `app/src/X/`) and the top modules each one's
/// files name through `crate::`, outside comments and test modules.
fn service_uses() -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src");
    let mut uses = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&app).unwrap().map(|e| e.unwrap().path()) {
        let name = entry.file_stem().unwrap().to_string_lossy().into_owned();
        if matches!(name.as_str(), "lib" | "main" | "bin") {
            continue;
        }
        let files = if entry.is_dir() {
            let mut files = Vec::new();
            let mut dirs = vec![entry.clone()];
            while let Some(dir) = dirs.pop() {
                for path in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
                    if path.is_dir() {
                        dirs.push(path);
                    } else if path.extension().is_some_and(|e| e == "rs") {
                        files.push(path);
                    }
                }
            }
            files
        } else {
            vec![entry.clone()]
        };
        let mut named = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: String = code
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            named.extend(crate_modules(&code).into_iter().filter(|m| *m != name));
        }
        uses.insert(name, named);
    }
    uses
}

#[test]
fn no_service_module_uses_one_that_uses_it_back() {
    let uses = service_uses();
    assert!(uses["http"].contains("chat") && uses["chat"].contains("store"));
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::from([from.to_owned()]);
        let mut next = vec![from.to_owned()];
        while let Some(module) = next.pop() {
            for used in uses.get(&module).into_iter().flatten() {
                if used == to {
                    return true;
                }
                if seen.insert(used.clone()) {
                    next.push(used.clone());
                }
            }
        }
        false
    };
    let cycles: Vec<String> = uses
        .iter()
        .flat_map(|(module, used)| used.iter().map(move |u| (module, u)))
        .filter(|(module, used)| reaches(used, module))
        .map(|(module, used)| format!("{module} uses {used}, which leads back to {module}"))
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles in app/src:\n{}",
        cycles.join("\n")
    );
}
