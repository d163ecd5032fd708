//! Property (issue 10): with the token rule, no sequence of forged
//! messages introduces anyone. The forger knows everything but the
//! parties' tokens: every address, every Message-ID the bot sent, the old
//! guessable id format, even the connector's reply token. They write as
//! anyone, to any address, threaded under anything, with any words, and
//! time passes; no party ever counts as a yes, no introduction is queued.
//!
//! The forger is not the connector: they may hold the connector's reply
//! address or write with the connector's `From`, never both at once. Both
//! together *are* the connector, who may vouch for a held reply (that is
//! the connector's to decide, and `SECURITY.md` says so).

use proptest::prelude::*;

use super::*;

/// One forged message, as indexes into the forger's knowledge.
#[derive(Clone, Debug)]
struct Forgery {
    from: usize,
    to: usize,
    thread: Option<usize>,
    words: usize,
    automatic: bool,
    wait: u64,
}

const FROM: [&str; 6] = [
    "alice@example.net",
    "Alice <ALICE@example.net>",
    "bob@example.org",
    "Bob <bob+intros@example.org>",
    "Carol Connor <carol@example.com>",
    "eve@evil.example",
];
const WORDS: [&str; 7] = ["yes", "Yes please!", "Sure, happy to.", "no", "cancel", "Who is this?", "status"];

fn forgery() -> impl Strategy<Value = Forgery> {
    (
        0..FROM.len(),
        0usize..6,
        proptest::option::of(0usize..8),
        0..WORDS.len(),
        any::<bool>(),
        prop_oneof![Just(0u64), Just(60), Just(150)],
    )
        .prop_map(|(from, to, thread, words, automatic, wait)| Forgery {
            from,
            to,
            thread,
            words,
            automatic,
            wait,
        })
}

fn run(policy: &str, forgeries: &[Forgery]) -> Result<(), TestCaseError> {
    let mut h = harness_with(&format!("{CONFIG}{policy}"));
    h.handle(REQUEST);
    let intro = h.intro();
    // What the forger knows.
    let sent: Vec<String> =
        h.engine().store().outbox().expect("outbox").into_iter().map(|(_, e)| e.email.message_id.to_string()).collect();
    let mut threads = sent.clone();
    threads.push(format!("{}.target.consent_request@example.com", intro.id));
    threads.push(format!("{}.requester.consent_request@example.com", intro.id));
    let near_miss = {
        let mut t = intro.target.token.as_str().to_owned().into_bytes();
        t[0] = if t[0] == b'a' { b'b' } else { b'a' };
        String::from_utf8(t).expect("ascii")
    };
    let to = [
        "intros@example.com".to_owned(),
        format!("intros+{}@example.com", intro.connector_token.as_str()),
        format!("intros+{near_miss}@example.com"),
        format!("intros+{}@example.com", intro.id),
        "intros+aaaaaaaaaaaaaaaaaaaaaaaaaa@example.com".to_owned(),
        "bob@example.org".to_owned(),
    ];
    for (n, f) in forgeries.iter().enumerate() {
        let thread = f
            .thread
            .and_then(|t| threads.get(t % threads.len()))
            .map(|id| format!("In-Reply-To: <{id}>\r\nReferences: <{id}>\r\n"))
            .unwrap_or_default();
        let auto = if f.automatic { "Auto-Submitted: auto-replied\r\n" } else { "" };
        // Not the connector: their reply address only with another From.
        let from = if f.to == 1 && FROM[f.from].contains("carol@") { "eve@evil.example" } else { FROM[f.from] };
        let raw = format!(
            "From: {from}\r\nTo: {}\r\n{thread}{auto}Subject: Re: hello\r\nMessage-ID: <forged-{n}@evil.example>\r\n\r\n{}\r\n",
            to[f.to], WORDS[f.words]
        );
        h.handle(&raw);
        h.later(f.wait);
        h.engine().fire_due(h.now).expect("timers");
        let now = h.intro();
        prop_assert_ne!(now.state, IntroState::Introduced, "introduced after {:?}", &forgeries[..=n]);
        for party in [&now.requester, &now.target] {
            let implied = party.person.email.as_str() == "alice@example.net" && policy.contains("implied");
            prop_assert!(
                implied || party.state != PartyState::Yes,
                "{} counts as a yes after {:?}",
                party.person.email,
                &forgeries[..=n]
            );
        }
        let queued = h.engine().store().outbox().expect("outbox");
        prop_assert!(!queued.iter().any(|(_, e)| e.email.kind == EmailKind::Introduction));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_forged_sequence_introduces_anyone(forgeries in proptest::collection::vec(forgery(), 1..14)) {
        run("", &forgeries)?;
    }

    #[test]
    fn nor_with_the_requesters_consent_implied(forgeries in proptest::collection::vec(forgery(), 1..14)) {
        run("[consent]\nrequester = \"implied\"\n", &forgeries)?;
    }
}
