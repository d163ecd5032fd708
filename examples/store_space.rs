//! Where a store's bytes are: the live bytes (keys and values) of each sled
//! tree beside the size of sled's file, and, with `COPY_TO=DIR`, the size of
//! a fresh store holding the same data (sled's export and import).
//!
//! Run: `cargo run --release --example store_space -- DATA_DIR` (the store
//! must not be open elsewhere).

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: store_space DATA_DIR");
        std::process::exit(2);
    };
    let db = match sled::Config::new().path(&dir).open() {
        Ok(db) => db,
        Err(e) => {
            eprintln!("cannot open the store at {dir}: {e}");
            std::process::exit(1);
        }
    };
    if let Some(secs) = std::env::var("SETTLE").ok().and_then(|s| s.parse().ok()) {
        // sled's flusher cleans segments in the background while open.
        std::thread::sleep(std::time::Duration::from_secs(secs));
        db.flush().expect("flush");
    }
    let mut total = 0u64;
    println!("| tree | records | live bytes (keys + values) | largest value |");
    println!("| --- | --- | --- | --- |");
    for name in db.tree_names() {
        let Ok(tree) = db.open_tree(&name) else { continue };
        let (mut n, mut bytes, mut largest) = (0u64, 0u64, 0usize);
        for (k, v) in tree.iter().flatten() {
            n += 1;
            bytes += (k.len() + v.len()) as u64;
            largest = largest.max(v.len());
        }
        total += bytes;
        println!("| {} | {n} | {bytes} | {largest} |", String::from_utf8_lossy(&name));
    }
    let on_disk = db.size_on_disk().unwrap_or(0);
    println!(
        "live bytes in all trees: {total}; sled's files: {on_disk} ({:.1}×)",
        on_disk as f64 / total.max(1) as f64
    );
    if let Ok(to) = std::env::var("COPY_TO") {
        let copy = sled::Config::new().path(&to).open().expect("fresh store");
        copy.import(db.export());
        copy.flush().expect("flush");
        println!("a fresh store with the same data: {} bytes", copy.size_on_disk().unwrap_or(0));
    }
}
