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
