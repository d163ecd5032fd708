//! Composing never panics and never writes a broken header, whatever the
//! names, subjects, summaries and replies are made of: random strings with
//! CR, LF, NUL, bidi controls and addresses in them, and huge ones. The
//! checks are [`fuzz::compose_anything`]'s; the `compose` fuzz target runs
//! them on raw bytes.

use proptest::prelude::*;

use super::fuzz::compose_anything;
use super::samples;
use crate::core::{Decision, Email};

/// The poison name, and the pieces it is made of, in every place.
#[test]
fn the_poison_name_composes_into_clean_headers() {
    let long = "x".repeat(5000);
    for name in ["Connie\r\nBcc: evil@x.example", "\0", "\u{202E}", long.as_str(), ""] {
        let composed = compose_anything(name, name, "Hello\r\nBcc: evil@x.example\n").expect("well formed");
        assert!(composed > 15, "every kind: {composed}");
    }
}

#[test]
fn the_samples_cover_every_kind_of_decline() {
    // Keeps the sample list honest: compose_anything composes every sample.
    let kinds: Vec<_> = samples::all().into_iter().map(|(_, o)| o.email).collect();
    assert!(kinds.contains(&Email::ThankYou { decision: Decision::Stop }));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_names_and_texts_compose_into_well_formed_mail(
        name in prop_oneof!["\\PC{0,80}", "[\\x00-\\x7f]{0,80}", "[a-z @<>()\"\\r\\n\\u{202e}]{0,2000}"],
        subject in prop_oneof!["\\PC{0,80}", "[a-z@<> \\r\\n]{0,1200}"],
        text in prop_oneof!["\\PC{0,400}", "[\\x00-\\x7f]{0,400}", "[a-z\\r\\n ]{0,30000}"],
    ) {
        if let Err(broken) = compose_anything(&name, &subject, &text) {
            prop_assert!(false, "{broken}");
        }
    }
}
