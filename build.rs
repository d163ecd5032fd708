//! Compiles the decision phrase table and refusal model into the statics
//! `mail::decision` includes (see `src/mail/decision/compile.rs`): no
//! process parses them at run time, and a mistake in either file fails the
//! build with its line.

#[path = "src/mail/decision/compile.rs"]
#[allow(dead_code)]
mod compile;

fn main() {
    let phrases = "src/mail/decision_phrases.txt";
    let model = "src/mail/decision_model.txt";
    for path in [phrases, model, "src/mail/decision/compile.rs"] {
        println!("cargo::rerun-if-changed={path}");
    }
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("cannot read {path}: {e}")));
    let source = compile::compile(&read(phrases), &read(model))
        .and_then(|compiled| compiled.to_rust())
        .unwrap_or_else(|e| fail(&format!("src/mail/{e}")));
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| fail("cargo sets no OUT_DIR")))
        .join("decision_tables.rs");
    std::fs::write(&out, source).unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", out.display())));
}

/// Stops the build with one line that names the file and line at fault
/// (rather than a panic's backtrace).
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    println!("cargo::error={message}");
    std::process::exit(1);
}
