//! Fuzz target: composing every kind of email from names, subjects,
//! summaries and replies made of any bytes must never panic, and every
//! email must be well formed (lines within 998 octets, no bare CR or LF, no
//! injected header, no address of one party in mail to the other).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Fields separated by 0xFF (never in UTF-8): name, subject, text.
    let mut fields = data.split(|b| *b == 0xFF).map(|f| String::from_utf8_lossy(f).into_owned());
    let name = fields.next().unwrap_or_default();
    let subject = fields.next().unwrap_or_default();
    let text = fields.next().unwrap_or_default();
    if let Err(broken) = introbot::compose_anything(&name, &subject, &text) {
        panic!("{broken}");
    }
});
