//! Prints what a fuzz input decodes to: `cargo run -p rumpsp-fuzz-targets --example describe TARGET FILE`.
fn main() {
    let mut a = std::env::args().skip(1);
    let (Some(target), Some(file)) = (a.next(), a.next()) else {
        eprintln!("usage: describe server_session|kernel_syscalls FILE");
        std::process::exit(2);
    };
    let data = std::fs::read(&file).expect("reading the input");
    match target.as_str() {
        "server_session" => println!("{}", rumpsp_fuzz_targets::server_session::describe(&data)),
        "kernel_syscalls" => println!("{}", rumpsp_fuzz_targets::kernel_syscalls::describe(&data)),
        other => eprintln!("no description for {other}"),
    }
}
