//! The connector's contacts file (`[connectors] contacts`): people whose
//! address a request may lack. vCards (`FN:` and `EMAIL…:` lines) or CSV
//! (`name,email` per line; a header line and `#` comments are skipped).
//! Pure: the loader reads the file.

use crate::core::{Address, Person};

/// The people in a contacts file's text; entries without a valid address
/// are skipped.
pub(super) fn parse_contacts(text: &str) -> Vec<Person> {
    let mut out = Vec::new();
    if text.contains("BEGIN:VCARD") {
        let (mut name, mut emails) = (String::new(), Vec::new());
        for line in text.lines().map(str::trim) {
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("BEGIN:VCARD") {
                name.clear();
                emails.clear();
            } else if upper.starts_with("FN:") || upper.starts_with("FN;") {
                name = line.split_once(':').map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
            } else if upper.starts_with("EMAIL") {
                if let Some((_, v)) = line.split_once(':') {
                    emails.push(v.trim().to_owned());
                }
            } else if upper.starts_with("END:VCARD") {
                out.extend(emails.drain(..).filter_map(|e| Person::parse(&name, &e).ok()));
            }
        }
        return out;
    }
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let fields: Vec<&str> = line.split([',', ';', '\t']).map(|f| f.trim().trim_matches('"')).collect();
        if let Some(email) = fields.iter().find_map(|f| Address::parse(f).ok()) {
            let name = fields.iter().filter(|f| !f.contains('@')).copied().collect::<Vec<_>>().join(" ");
            out.push(Person::new(name.trim(), email));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, email: &str) -> Person {
        Person::parse(name, email).expect("valid")
    }

    #[test]
    fn contacts_from_csv_and_vcard() {
        let csv = parse_contacts("name,email\n# mine\nBob Busy, bob@example.org\n\"Eve\";eve@example.net\n");
        assert_eq!(csv, [person("Bob Busy", "bob@example.org"), person("Eve", "eve@example.net")]);
        let vcf = parse_contacts("BEGIN:VCARD\nVERSION:3.0\nFN:Bob Busy\nEMAIL;TYPE=work:bob@example.org\nEND:VCARD\n");
        assert_eq!(vcf, [person("Bob Busy", "bob@example.org")]);
    }

    #[test]
    fn entries_without_a_valid_address_are_skipped() {
        assert!(parse_contacts("Bob, bob@\nEve, not an address\n").is_empty());
    }
}
