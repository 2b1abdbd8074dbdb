//! The `patchbay` binary: parses the command line and wires the crates together.

fn main() {
    println!("patchbay");
}
