//! The Lambda entry point (`bootstrap`).

fn main() {
    eprintln!("the chat service is not built yet");
    std::process::exit(1);
}
