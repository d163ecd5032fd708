//! Quoted-printable for the bodies the bot writes: byte for byte what
//! `quoted_printable::encode` (0.5, text mode, 76-character lines, the
//! encoder lettre and email-encoding use) writes, without its cost.
//!
//! That encoder pushes a `char` at a time into a `String` and was 11 % of
//! all the inbox's instructions; this one copies each run of bytes that
//! need no encoding whole, and writes straight into the caller's buffer.
//! It keeps the reference's state machine as it is — where a soft line
//! break goes, including its one quirk (a line already 76 long gets its
//! break inserted before the last thing appended), trailing space and tab
//! encoded before a line break, a CR not followed by LF encoded as `=0D` —
//! and the proptest below holds it to the reference on every kind of input.
//!
//! [`choose`] is email-encoding's `Encoding::choose(text, false)` (the
//! transfer encoding lettre picks for a text body without SMTPUTF8), with
//! its count of bytes to escape written so the compiler vectorizes it.

/// The longest encoded line, not counting its CRLF (RFC 2045).
const LIMIT: usize = 76;

use email_encoding::body::Encoding;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Whether a byte must be written `=XX`: all but tab and printable ASCII
/// other than `=` (a table: this is asked of every byte).
fn needs_encoding(b: u8) -> bool {
    static NEEDS: [bool; 256] = {
        let mut t = [true; 256];
        let mut b = b' ';
        while b <= b'~' {
            t[b as usize] = b == b'=';
            b += 1;
        }
        t[b'\t' as usize] = false;
        t
    };
    NEEDS[usize::from(b)]
}

/// How many bytes at the start of `window` need no encoding: eight at a
/// time while a whole word is plain, then a byte at a time. The word test
/// may call a plain word not plain (a tab), never the other way round.
fn plain_run(window: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES * 0x80;
    let mut n = 0;
    while let Some(word) = window.get(n..n + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_le_bytes(bytes);
        // Some byte below a space, above '~', or an '=' (the classic
        // "has less / has more / has zero" word tricks: each is exact as
        // a yes or no for the word).
        let below = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let above = (x.wrapping_add(ONES) | x) & HIGH;
        let eq = x ^ (ONES * u64::from(b'='));
        let equals = eq.wrapping_sub(ONES) & !eq & HIGH;
        if below | above | equals != 0 {
            break;
        }
        n += 8;
    }
    n + window[n..].iter().position(|&b| needs_encoding(b)).unwrap_or(window.len() - n)
}

/// The transfer encoding email-encoding chooses for `text` when the server
/// does not take UTF-8 (`Encoding::choose(text, false)`): 7bit for ASCII
/// in lines under 76, else quoted-printable unless more than a third of
/// the bytes would be escaped (then base64). Never 8bit.
pub(super) fn choose(text: &str) -> Encoding {
    let bytes = text.as_bytes();
    if text.is_ascii() && !line_too_long(bytes) {
        return Encoding::SevenBit;
    }
    // Printable ASCII and tab pass as they are; every other byte (CR and
    // LF included, as email-encoding counts them) is escaped.
    // Counted in u8 lanes 255 bytes at a time, which the compiler turns
    // into vector instructions (a byte at a time was 2.5 per byte).
    let escaped: usize = bytes
        .chunks(255)
        .map(|chunk| {
            let n = chunk.iter().fold(0u8, |n, &b| n + u8::from((b.wrapping_sub(b' ') > b'~' - b' ') & (b != b'\t')));
            usize::from(n)
        })
        .sum();
    if escaped <= bytes.len() / 3 { Encoding::QuotedPrintable } else { Encoding::Base64 }
}

/// Whether a line (between LFs, the LF counted) is 76 bytes or longer:
/// email-encoding's own test.
fn line_too_long(b: &[u8]) -> bool {
    let mut last = 0;
    memchr::memchr_iter(b'\n', b).any(|i| {
        let before = std::mem::replace(&mut last, i);
        (i - before) >= 76
    }) || (b.len() - last) >= 76
}

/// The encoder's state: the output, how long its last line is, and where
/// the last thing appended began (for the inserted soft break).
struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    /// Where this body begins in `out` (what is before it is not ours).
    start: usize,
    on_line: usize,
    backup_pos: usize,
}

impl Encoder<'_> {
    /// Appends one encoded unit (a byte, or `=XX`), breaking the line
    /// first when it would not fit.
    #[inline(always)]
    fn append(&mut self, unit: &[u8]) {
        if self.on_line + unit.len() > LIMIT {
            if self.on_line == LIMIT {
                // The '=' would not fit either: the break goes before the
                // last thing appended, which moves to the next line.
                self.on_line = self.out.len() - self.backup_pos;
                self.out.splice(self.backup_pos..self.backup_pos, *b"=\r\n");
            } else {
                self.out.extend_from_slice(b"=\r\n");
                self.on_line = 0;
            }
        }
        self.out.extend_from_slice(unit);
        self.on_line += unit.len();
        self.backup_pos = self.out.len() - unit.len();
    }

    fn append_hex(&mut self, b: u8) {
        self.append(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }

    /// A space or tab must not end an encoded line: written as `=20`/`=09`.
    fn encode_trailing_space_tab(&mut self) {
        if let Some(&last @ (b' ' | b'\t')) = self.out[self.start..].last() {
            self.on_line -= 1;
            self.out.pop();
            self.append_hex(last);
        }
    }
}

/// Appends `input` encoded as quoted-printable text to `out`.
pub(super) fn encode_into(input: &[u8], out: &mut Vec<u8>) {
    out.reserve(input.len() + input.len() / 4 + 16);
    let start = out.len();
    let mut e = Encoder { out, start, on_line: 0, backup_pos: start };
    let mut was_cr = false;
    let mut i = 0;
    while i < input.len() {
        let byte = input[i];
        i += 1;
        if was_cr {
            was_cr = false;
            if byte == b'\n' {
                e.encode_trailing_space_tab();
                e.out.extend_from_slice(b"\r\n");
                e.on_line = 0;
                continue;
            }
            e.append_hex(b'\r');
        }
        if byte == b'\r' {
            was_cr = true;
            continue;
        }
        if LIMIT - e.on_line >= 3 && !needs_encoding(byte) {
            // A run of bytes written as they are, up to two short of the
            // limit (room for a soft break's '=').
            let max_run = LIMIT - e.on_line - 2;
            let rest = &input[i - 1..];
            let window = &rest[..rest.len().min(max_run)];
            let run = plain_run(window);
            e.out.extend_from_slice(&rest[..run]);
            e.on_line += run;
            e.backup_pos = e.out.len();
            i += run - 1;
            continue;
        }
        if needs_encoding(byte) { e.append_hex(byte) } else { e.append(&[byte]) }
    }
    if was_cr {
        e.append_hex(b'\r');
    } else {
        e.encode_trailing_space_tab();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use email_encoding::body::Encoding;

    use super::{choose, encode_into};

    fn encode(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_into(input, &mut out);
        out
    }

    #[test]
    fn known_forms() {
        assert_eq!(encode("hello, \u{20ac} zone!".as_bytes()), b"hello, =E2=82=AC zone!");
        assert_eq!(encode(b"a = b \r\nc\t\r\n"), b"a =3D b=20\r\nc=09\r\n");
        assert_eq!(encode(b"lone\rcr\r"), b"lone=0Dcr=0D");
        assert_eq!(encode(b""), b"");
    }

    #[test]
    fn appends_to_what_is_there() {
        // A body starting with a line break leaves a space before it alone.
        let mut out = b"head ".to_vec();
        encode_into(b"\r\nx", &mut out);
        assert_eq!(out, b"head \r\nx");
        let mut out = b"head\r\n".to_vec();
        encode_into(&[b'x'; 100], &mut out);
        assert_eq!(out, [b"head\r\n".as_slice(), &quoted_printable::encode([b'x'; 100])].concat());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Every byte of the output is the reference encoder's, on text
        /// (lines near and over 76, spaces and tabs at line ends, `=`,
        /// non-ASCII, bare CR and LF) and on any bytes at all.
        #[test]
        fn writes_what_quoted_printable_writes(
            input in prop_oneof![
                "([a-z]{0,90}|[ \t]{1,3}|=|é|\u{1F600}|\r\n|\r|\n|<>){0,40}",
                "[a-z =\t\r\n]{0,400}",
                proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            ],
        ) {
            prop_assert_eq!(encode(input.as_bytes()), quoted_printable::encode(input.as_bytes()));
        }

        /// The same choice as email-encoding's, on ASCII and non-ASCII
        /// text, short and long lines, few and many bytes to escape.
        #[test]
        fn chooses_what_email_encoding_chooses(
            text in prop_oneof![
                "([a-z ]{0,90}|\r\n|\n|\t|é|\u{1F600}|=){0,20}",
                "[a-z]{70,80}(\n[a-z]{0,80}){0,3}",
                "[éa\n]{0,200}",
                "\\PC{0,300}",
            ],
        ) {
            prop_assert_eq!(choose(&text), Encoding::choose(text.as_str(), false));
        }

        /// The word-at-a-time scan finds the first byte to encode where a
        /// byte-at-a-time scan does.
        #[test]
        fn plain_run_is_the_bytewise_scan(input in proptest::collection::vec(any::<u8>(), 0..40), plain in "[ -<>-~\t]{0,40}") {
            let text = [plain.as_bytes(), &input].concat();
            let bytewise = text.iter().position(|&b| super::needs_encoding(b)).unwrap_or(text.len());
            prop_assert_eq!(super::plain_run(&text), bytewise);
        }

        #[test]
        fn raw_bytes_too(input in proptest::collection::vec(any::<u8>(), 0..400)) {
            prop_assert_eq!(encode(&input), quoted_printable::encode(&input));
        }

        /// Lines of every length around the limit, with what ends them.
        #[test]
        fn around_the_line_limit(
            lines in proptest::collection::vec((60usize..90, "[ \t=é]?", "[ \t]{0,2}"), 1..6),
        ) {
            let text: String = lines
                .iter()
                .map(|(n, mid, end)| format!("{}{mid}{}{end}\r\n", "a".repeat(*n / 2), "b".repeat(*n - *n / 2)))
                .collect();
            prop_assert_eq!(encode(text.as_bytes()), quoted_printable::encode(text.as_bytes()));
        }
    }
}
