fn main() {
    let args: Vec<String> = std::env::args().collect();
    let d = plenum_gate::Dialect::from_name(&args[1]).unwrap();
    for sql in &args[2..] {
        match plenum_gate::classify(sql, d) {
            Ok(v) => { for s in v { println!("{:<6} {:<22} {:?}", s.tier.as_str(), s.kind, s.sql) } }
            Err(e) => println!("ERR[{}] {e}", e.code()),
        }
    }
}
