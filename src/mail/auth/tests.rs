use mail_parser::MessageParser;
use proptest::prelude::*;

use super::*;

const ID: &str = "mx.example.com";

fn policy(require: Require) -> AuthPolicy {
    AuthPolicy { authserv_id: Some(ID.into()), require }
}

fn message(headers: &str) -> String {
    format!("{headers}Subject: Intro: Alice <> Bob\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n")
}

fn verdict(raw: &str, require: Require) -> Verdict {
    let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
    let from = author(&msg).expect("one author").expect("an address");
    verify(&msg, &from, &policy(require))
}

const FROM: &str = "From: Carol <carol@conn.example>\r\n";

#[test]
fn parses_the_rfc_8601_examples() {
    let ar = parse_authentication_results(
        "example.com 1; (a comment) dkim/1=pass (good sig) header.d=conn.example header.s=sel;\r\n \
         spf=fail reason=\"not permitted; really\" smtp.mailfrom=x@conn.example; dmarc=pass header.from=conn.example",
    )
    .expect("parses");
    assert_eq!(ar.authserv_id, "example.com");
    assert_eq!(ar.results.len(), 3);
    assert_eq!(ar.results[0].method, "dkim");
    assert_eq!(ar.results[0].result, "pass");
    assert_eq!(ar.results[0].property("header.d"), Some("conn.example"));
    assert_eq!(ar.results[1].result, "fail");
    assert_eq!(ar.results[1].property("smtp.mailfrom"), Some("x@conn.example"));
    assert_eq!(ar.results[1].property("reason"), None, "a reason is not a property");
    assert_eq!(ar.results[2].method, "dmarc");

    let none = parse_authentication_results("mx.example.com; none").expect("parses");
    assert!(none.results.is_empty());
    assert_eq!(parse_authentication_results(" ; dkim=pass"), None, "no authserv-id");
    let spaced = parse_authentication_results("MX.Example.COM ; dmarc = PASS header.from = conn.example").expect("ok");
    assert_eq!((spaced.authserv_id.as_str(), spaced.results[0].result.as_str()), (ID, "pass"));
}

#[test]
fn dmarc_pass_from_the_trusted_server_passes() {
    let raw = message(&format!(
        "Authentication-Results: {ID}; dkim=pass header.d=conn.example; dmarc=pass header.from=conn.example\r\n\
         Received: from out.conn.example by {ID}\r\n{FROM}"
    ));
    assert_eq!(verdict(&raw, Require::Dmarc), Verdict::Pass);
    assert_eq!(verdict(&raw, Require::Dkim), Verdict::Pass);
    assert_eq!(verdict(&raw, Require::Spf), Verdict::Fail("no spf result".into()));
}

/// The forged connector: the trusted server says dmarc=fail.
#[test]
fn dmarc_fail_fails_and_names_the_result() {
    let raw = message(&format!(
        "Authentication-Results: {ID}; spf=softfail smtp.mailfrom=evil.example; dmarc=fail header.from=conn.example\r\n{FROM}"
    ));
    assert_eq!(verdict(&raw, Require::Dmarc), Verdict::Fail("dmarc=fail (conn.example)".into()));
}

#[test]
fn results_from_other_servers_or_below_the_trusted_hop_do_not_count() {
    // Nothing from our server at all; a pass from someone else's.
    let raw =
        message(&format!("Authentication-Results: mx.evil.example; dmarc=pass header.from=conn.example\r\n{FROM}"));
    assert_eq!(verdict(&raw, Require::Dmarc), Verdict::Fail(format!("no Authentication-Results from {ID}")));
    // Our server's fail on top; the sender's forged pass with our id under
    // a Received of their own, below our hop.
    let raw = message(&format!(
        "Authentication-Results: {ID}; dmarc=fail header.from=conn.example\r\n\
         Received: from evil by {ID}\r\n\
         Received: from laptop by evil\r\n\
         Authentication-Results: {ID}; dmarc=pass header.from=conn.example\r\n{FROM}"
    ));
    assert_eq!(verdict(&raw, Require::Dmarc), Verdict::Fail("dmarc=fail (conn.example)".into()));
    let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
    assert_eq!(trusted_results(&msg, ID).len(), 1, "only the field above the sender's Received");
    // The server added nothing: the sender's pass under their own Received
    // (as a copied header block has) is not read.
    let raw = message(&format!(
        "Received: from evil by {ID}\r\nReceived: from laptop by evil\r\n\
         Authentication-Results: {ID}; dmarc=pass header.from=conn.example\r\n{FROM}"
    ));
    assert_eq!(verdict(&raw, Require::Dmarc), Verdict::Fail(format!("no Authentication-Results from {ID}")));
    // Internal hops above the trusted one (LMTP to the mailbox) are ours too.
    let raw = message(&format!(
        "Received: from {ID} by store.internal with LMTP\r\n\
         Authentication-Results: {ID}; dmarc=pass header.from=conn.example\r\n\
         Received: from out.conn.example by {ID}\r\nReceived: from laptop by out.conn.example\r\n{FROM}"
    ));
    assert_eq!(verdict(&raw, Require::Dmarc), Verdict::Pass);
    // Gmail's layout: the hop's Received above the server's own result.
    let raw = message(&format!(
        "Received: by 10.0.0.1 with SMTP\r\nReceived: from out.conn.example by {ID}\r\n\
         Authentication-Results: {ID}; dmarc=pass header.from=conn.example\r\n\
         Received: from laptop by out.conn.example\r\nAuthentication-Results: {ID}; dmarc=fail\r\n{FROM}"
    ));
    assert_eq!(verdict(&raw, Require::Dmarc), Verdict::Pass);
}

/// Red team: the trusted server wrote results (above its own `Received`)
/// but none for DMARC; the sender put a DMARC pass with the server's id
/// just under that `Received`, with no `Received` of their own below it.
/// It was read as the server's and passed. A method the server gave no
/// result for now fails.
#[test]
fn a_result_the_sender_placed_under_the_servers_received_cannot_count() {
    let forged = format!("Authentication-Results: {ID}; dmarc=pass header.from=conn.example\r\n");
    let raw = message(&format!(
        "Authentication-Results: {ID}; spf=pass smtp.mailfrom=conn.example\r\n\
         Received: from evil by {ID}\r\n{forged}{FROM}"
    ));
    assert_eq!(verdict(&raw, Require::Dmarc), Verdict::Fail("no dmarc result".into()));
    // The same with the server's own result above an internal hop, and
    // with the forgery lower down among the sender's other fields.
    let raw = message(&format!(
        "Received: from {ID} by store.internal with LMTP\r\n\
         Authentication-Results: {ID}; spf=pass smtp.mailfrom=conn.example; dkim=none\r\n\
         Received: from evil by {ID}\r\nX-Mailer: evil\r\n{forged}{FROM}"
    ));
    assert_eq!(verdict(&raw, Require::Dmarc), Verdict::Fail("no dmarc result".into()));
    // The server's own pass above its Received still passes.
    let raw = message(&format!(
        "Authentication-Results: {ID}; spf=pass smtp.mailfrom=conn.example; dmarc=pass header.from=conn.example\r\n\
         Received: from evil by {ID}\r\n{FROM}"
    ));
    assert_eq!(verdict(&raw, Require::Dmarc), Verdict::Pass);
}

#[test]
fn a_forged_pass_right_beside_the_servers_fail_is_a_fail() {
    for order in [("fail", "pass"), ("pass", "fail")] {
        let raw = message(&format!(
            "Authentication-Results: {ID}; dmarc={} header.from=conn.example\r\n\
             Authentication-Results: {ID}; dmarc={} header.from=conn.example\r\n{FROM}",
            order.0, order.1
        ));
        assert!(!verdict(&raw, Require::Dmarc).allows(), "{order:?}");
    }
}

#[test]
fn dkim_and_spf_must_be_aligned_with_the_from_domain() {
    let with = |ar: &str| message(&format!("Authentication-Results: {ID}; {ar}\r\n{FROM}"));
    assert_eq!(verdict(&with("dkim=pass header.d=mail.conn.example"), Require::Dkim), Verdict::Pass);
    assert!(!verdict(&with("dkim=pass header.d=evil.example"), Require::Dkim).allows());
    assert!(!verdict(&with("dkim=pass header.d=example"), Require::Dkim).allows(), "a bare TLD never aligns");
    // A broken list signature beside the author's good one is fine.
    assert_eq!(
        verdict(&with("dkim=fail header.d=lists.example; dkim=pass header.d=conn.example"), Require::Dkim),
        Verdict::Pass
    );
    assert!(
        !verdict(&with("dkim=pass header.d=conn.example; dkim=fail header.d=conn.example"), Require::Dkim).allows()
    );
    assert_eq!(verdict(&with("spf=pass smtp.mailfrom=bounces@conn.example"), Require::Spf), Verdict::Pass);
    assert!(!verdict(&with("spf=pass smtp.mailfrom=bounces@evil.example"), Require::Spf).allows());
    assert!(!verdict(&with("spf=pass"), Require::Spf).allows(), "a pass for nobody in particular");
    assert!(!verdict(&with("dmarc=pass header.from=evil.example"), Require::Dmarc).allows());
    assert_eq!(verdict(&with("dmarc=pass"), Require::Dmarc), Verdict::Pass);
    assert!(!verdict(&with("dmarc=none"), Require::Dmarc).allows());
}

#[test]
fn no_policy_checks_nothing() {
    let raw = message(&format!("Authentication-Results: {ID}; dmarc=fail\r\n{FROM}"));
    let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
    assert_eq!(verify(&msg, "carol@conn.example", &AuthPolicy::default()), Verdict::NotChecked);
    assert_eq!(verify(&msg, "carol@conn.example", &policy(Require::None)), Verdict::NotChecked);
    assert!(!AuthPolicy::default().is_enforced());
}

/// The second forgery: a stranger's From first, the connector's second.
#[test]
fn two_from_fields_or_two_authors_are_refused() {
    let raw = message("From: stranger@evil.example\r\nFrom: Carol <carol@conn.example>\r\n");
    let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
    assert_eq!(author(&msg), Err(AuthorProblem::SeveralFromFields(2)));
    let raw = message("From: carol@conn.example, mallory@evil.example\r\n");
    let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
    assert_eq!(author(&msg), Err(AuthorProblem::SeveralAuthors(2)));
}

#[test]
fn a_sender_must_be_the_author() {
    let read = |headers: &str| {
        let raw = message(headers);
        let msg = MessageParser::default().parse(raw.as_bytes()).expect("parses");
        author(&msg)
    };
    assert_eq!(read(FROM), Ok(Some("carol@conn.example".into())));
    assert_eq!(read(&format!("{FROM}Sender: CAROL+x@Conn.Example\r\n")), Ok(Some("carol@conn.example".into())));
    assert_eq!(
        read(&format!("{FROM}Sender: mallory@evil.example\r\n")),
        Err(AuthorProblem::SenderMismatch { sender: "mallory@evil.example".into(), from: "carol@conn.example".into() })
    );
    assert_eq!(
        read(&format!("{FROM}Sender: carol@conn.example\r\nSender: carol@conn.example\r\n")),
        Err(AuthorProblem::SeveralSenderFields(2))
    );
    assert_eq!(read("From: nobody\r\n"), Ok(None));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any text is read without panicking.
    #[test]
    fn any_field_value_parses_without_panic(value in "\\PC{0,200}") {
        let _ = parse_authentication_results(&value);
    }

    /// Whatever a sender writes below the trusted server's own field (after
    /// its Received), a fail from that server stays a fail.
    #[test]
    fn nothing_below_the_trusted_hop_turns_a_fail_into_a_pass(
        forged in proptest::collection::vec(
            prop_oneof![
                Just(format!("Authentication-Results: {ID}; dmarc=pass header.from=conn.example\r\n")),
                Just(format!("Authentication-Results: {ID}; dkim=pass header.d=conn.example\r\n")),
                Just("Received: from a by b\r\n".to_owned()),
                Just("Authentication-Results: other.example; dmarc=pass\r\n".to_owned()),
                Just("X-Anything: dmarc=pass\r\n".to_owned()),
            ],
            0..8,
        ),
        require in prop_oneof![Just(Require::Dmarc), Just(Require::Dkim), Just(Require::Spf)],
    ) {
        let raw = message(&format!(
            "Authentication-Results: {ID}; dmarc=fail header.from=conn.example; dkim=fail header.d=conn.example; spf=fail smtp.mailfrom=conn.example\r\n\
             Received: from evil by {ID}\r\n{}{FROM}",
            forged.concat()
        ));
        prop_assert!(!verdict(&raw, require).allows());
    }
}
