//! Realistic intro requests, written the way connectors and requesters
//! write them, run through the binary in local mode (`run --once`, a
//! Maildir in, `.eml` files out), as a new user would try it. Each case
//! asserts who the bot thinks the people are (through `inspect request`)
//! and what they read: the greeting and subject of each consent note, what
//! the target sees of the summary and of the connector's note, and what
//! the connector is shown. Every email of every case is snapshotted
//! (`tests/snapshots/tests__requests__*.snap`), and its HTML is written for
//! `scripts/render-emails` when `INTROBOT_REVIEW_DIR` is set.

use std::path::Path;

use super::*;

const CONFIG: &str = r#"
[bot]
address = "intros@example.com"
name = "Intro Bot"
data_dir = "state"
[connectors]
allow = ["carol@example.com", "connie@example.com"]
contacts = "contacts.csv"
[maildir]
path = "inbox"
[outbox_dir]
path = "sent"
"#;

const CONTACTS: &str = "name,email\nBob Martin,bob.martin@bank.example\nBobby Tables,bobby@school.example\n";

/// One email the bot wrote, as its reader sees it.
struct Email {
    to: String,
    subject: String,
    reply_to: String,
    text: String,
    html: String,
}

impl std::fmt::Debug for Email {
    // The text is what a failure needs; the HTML only buries it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "To: {}\nSubject: {}\n\n{}", self.to, self.subject, self.text)
    }
}

/// What the bot made of one request.
#[derive(Debug)]
struct Outcome {
    /// `inspect request`'s reading.
    read: serde_json::Value,
    /// Everything it sent, ordered by recipient and subject.
    emails: Vec<Email>,
    /// Whether it showed the connector a preview first (then answered
    /// with "send", as the connector would).
    previewed: bool,
}

impl Outcome {
    fn to(&self, address: &str) -> Vec<&Email> {
        self.emails.iter().filter(|e| e.to.contains(address)).collect()
    }

    /// The one email to `address`.
    fn one_to(&self, address: &str) -> &Email {
        let all = self.to(address);
        assert_eq!(all.len(), 1, "one email to {address}: {:#?}", self.emails);
        all[0]
    }

    fn person(&self, role: &str) -> (String, String) {
        let p = &self.read[role];
        (p["name"].as_str().unwrap_or_default().to_owned(), p["email"].as_str().unwrap_or_default().to_owned())
    }

    fn summary(&self) -> &str {
        self.read["summary"].as_str().unwrap_or_default()
    }
}

/// Delivers `raw` to a fresh bot, runs it once, and reads what it sent.
fn run_request(name: &str, raw: &str) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("introbot.toml"), CONFIG).expect("config");
    std::fs::write(d.join("contacts.csv"), CONTACTS).expect("contacts");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(d.join("inbox").join(sub)).expect("maildir");
    }
    let file = d.join("request.eml");
    std::fs::write(&file, raw).expect("request");
    let inspect = run(&["inspect", "request", "request.eml"], d);
    let read: serde_json::Value = serde_json::from_str(stdout(&inspect).trim()).expect("one json line");
    std::fs::write(d.join("inbox/new/request.eml"), raw).expect("deliver");
    let out = run(&["run", "--once", "--config", "introbot.toml"], d);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    // When the bot had to guess, it asks the connector first: say "send".
    let preview = read_sent(&d.join("sent")).into_iter().find(|e| e.subject.ends_with(PREVIEW));
    if let Some(preview) = &preview {
        let send = format!(
            "From: Carol Connor <carol@example.com>\r\nTo: {}\r\nSubject: Re: {}\r\nMessage-ID: <send@example.com>\r\n\r\nsend\r\n",
            preview.reply_to, preview.subject
        );
        std::fs::write(d.join("inbox/new/send.eml"), send).expect("deliver");
        let out = run(&["run", "--once", "--config", "introbot.toml"], d);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
    }
    let emails = read_sent(&d.join("sent"));
    let outcome = Outcome { read, emails, previewed: preview.is_some() };
    snapshot(name, &outcome);
    outcome
}

fn read_sent(dir: &Path) -> Vec<Email> {
    let mut emails = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).expect("readable");
        let msg = mail_parser::MessageParser::default().parse(&raw).expect("our mail parses");
        emails.push(Email {
            to: msg.header_raw("To").unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" "),
            subject: msg.subject().unwrap_or_default().to_owned(),
            reply_to: msg.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned(),
            text: msg.body_text(0).unwrap_or_default().replace("\r\n", "\n"),
            html: msg.body_html(0).unwrap_or_default().into_owned(),
        });
    }
    emails.sort_by(|a, b| (&a.to, &a.subject).cmp(&(&b.to, &b.subject)));
    emails
}

/// The reading and every email, with reply tokens and ids made stable.
fn snapshot(name: &str, outcome: &Outcome) {
    let token = regex::Regex::new(r"intros\+[A-Za-z0-9_-]+@").expect("regex");
    let mut out = format!(
        "read: requester {:?}, target {:?}\nguesses: {}\npreviewed: {}\n",
        outcome.person("requester"),
        outcome.person("target"),
        outcome.read["guesses"],
        outcome.previewed
    );
    for (n, e) in outcome.emails.iter().enumerate() {
        out.push_str(&format!("\n=== To: {}\nSubject: {}\n\n{}", e.to, e.subject, e.text.trim_end()));
        out.push('\n');
        if let Some(dir) = std::env::var_os("INTROBOT_REVIEW_DIR") {
            let path = Path::new(&dir).join(format!("requests-{name}-{n}.html"));
            std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &e.html)).expect("review html");
        }
    }
    let out = token.replace_all(&out, "intros+TOKEN@").into_owned();
    // The preview's deadline is days after the real clock's today (these
    // tests run the binary): a snapshot with the date would change daily.
    let date = regex::Regex::new(
        r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) \d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December)\b",
    )
    .expect("regex");
    let out = date.replace_all(&out, "[WEEKDAY DAY MONTH]").into_owned();
    insta::assert_snapshot!(name.to_owned(), out);
}

/// A Gmail-style inline forward from Carol: her note, then the original.
fn gmail(note: &str, from: &str, subject: &str, original: &str) -> String {
    format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: {subject}\r\n\
         Message-ID: <req@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{note}\r\n\r\n\
         ---------- Forwarded message ---------\r\nFrom: {from}\r\nDate: Mon, 23 Nov 2026 at 09:00\r\n\
         Subject: {subject}\r\nTo: Carol Connor <carol@example.com>\r\n\r\n{original}\r\n"
    )
}

/// An HTML-only forward from Carol: `html` is the whole body.
fn html_only(subject: &str, html: &str) -> String {
    format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: {subject}\r\n\
         Message-ID: <req@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    )
}

/// How the preview's subject ends.
const PREVIEW: &str = ": please check first";

const PRIYA: &str = "Priya Shah <priya@startup.io>";
const SUBJECT: &str = "Intro: Priya Shah <> Bob Martin";
/// The blurb as people really send it: a greeting to the connector,
/// chatter about forwarding, a sign-off and a signature.
const CHATTY_BLURB: &str = "Hi Carol,\r\n\r\nThanks so much for offering! Here's a short blurb you can forward:\r\n\r\n\
    I'm the founder of Ledgerly, a payments API for small banks. We're raising a seed round and I'd love 20 minutes of Bob's time on how banks pick their fintech partners.\r\n\r\n\
    Thanks,\r\nPriya\r\n\r\nPriya Shah\r\nCEO, Ledgerly\r\n+1 415 555 0199 | priya@startup.io";
const BLURB: &str = "I'm the founder of Ledgerly, a payments API for small banks. We're raising a seed round and I'd love 20 minutes of Bob's time on how banks pick their fintech partners.";

/// What every consent note to the target must get right, whatever the
/// request looked like: one greeting by first name, the requester's name
/// (never an address) and the blurb, and nothing private.
fn assert_target_note(o: &Outcome, target: &str, greeting: &str, requester_name: &str) {
    let note = o.one_to(target);
    assert!(note.text.starts_with(&format!("{greeting}\n")), "greeting {greeting:?}:\n{}", note.text);
    assert!(note.subject.contains(requester_name), "subject names {requester_name}: {}", note.subject);
    let requester = o.person("requester").1;
    for (what, text) in [("subject", &note.subject), ("text", &note.text), ("html", &note.html)] {
        assert!(requester.is_empty() || !text.contains(&requester), "the target's {what} shows {requester}: {text}");
        assert!(!text.contains("@startup.io"), "no address of the requester: {text}");
    }
}

#[test]
fn bobs_email_is_in_the_note() {
    let raw = gmail("Bob's email is bob@x.com - he ran partnerships at a bank", PRIYA, SUBJECT, CHATTY_BLURB);
    let o = run_request("bobs_email_is", &raw);
    assert_eq!(o.person("requester"), ("Priya Shah".into(), "priya@startup.io".into()));
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    assert_eq!(o.summary(), BLURB);
    assert_target_note(&o, "bob@x.com", "Hi Bob,", "Priya Shah");
    assert!(o.one_to("bob@x.com").text.contains("20 minutes of Bob's time"));
    assert!(!o.one_to("bob@x.com").text.contains("ran partnerships"), "the note is private");
    assert_target_note(&o, "priya@startup.io", "Hi Priya,", "Bob Martin");
}

#[test]
fn hey_opener_and_a_private_aside() {
    let raw = gmail(
        "Hey, Bob's email is bob@x.com. He honestly owes me a favour. He can be a bit slow to reply.",
        PRIYA,
        SUBJECT,
        CHATTY_BLURB,
    );
    let o = run_request("hey_opener", &raw);
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    let bob = o.one_to("bob@x.com");
    assert!(!bob.text.contains("favour") && !bob.text.contains("slow to reply"), "{}", bob.text);
    assert!(!bob.text.contains("Hi Hey"), "{}", bob.text);
}

#[test]
fn you_can_reach_bob_at() {
    let raw = gmail("You can reach Bob at b.martin@bank.example, he's expecting this.", PRIYA, SUBJECT, BLURB);
    let o = run_request("you_can_reach", &raw);
    assert_eq!(o.person("target"), ("Bob Martin".into(), "b.martin@bank.example".into()));
    assert_target_note(&o, "b.martin@bank.example", "Hi Bob,", "Priya Shah");
}

#[test]
fn please_introduce_priya_to_bob() {
    let raw = gmail("Please introduce Priya to Bob: bm1@bank.example", PRIYA, SUBJECT, BLURB);
    let o = run_request("please_introduce", &raw);
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bm1@bank.example".into()));
    assert_eq!(o.person("requester"), ("Priya Shah".into(), "priya@startup.io".into()));
}

#[test]
fn a_note_that_is_only_an_address() {
    let raw = "From: Connie Connector <connie@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: Intro: Priya Shah <> Carol Diaz\r\n\
        Message-ID: <req@example.com>\r\n\r\nCarol: carol.diaz@ngo.example\r\n\r\n---------- Forwarded message ---------\r\n\
        From: Priya Shah <priya@startup.io>\r\nTo: connie@example.com\r\nSubject: Intro: Priya Shah <> Carol Diaz\r\n\r\n\
        I run Ledgerly and would love Carol's advice on grants for fintech literacy programmes.\r\n";
    let o = run_request("note_only_address", raw);
    assert_eq!(o.person("target"), ("Carol Diaz".into(), "carol.diaz@ngo.example".into()));
    let carol = o.one_to("carol.diaz@ngo.example");
    assert!(!carol.text.contains("> Carol:"), "{}", carol.text);
    assert!(!carol.text.contains("Why Connie thought of you"), "nothing marked, nothing quoted: {}", carol.text);
}

#[test]
fn the_target_address_under_the_forward() {
    let raw = format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: {SUBJECT}\r\nMessage-ID: <req@example.com>\r\n\r\n\
         ---------- Forwarded message ---------\r\nFrom: {PRIYA}\r\nSubject: {SUBJECT}\r\nTo: carol@example.com\r\n\r\n{BLURB}\r\n\r\nBest,\r\nPriya\r\n\r\n\
         Bob's address: bob@x.com\r\n"
    );
    let o = run_request("address_below_forward", &raw);
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    assert_eq!(o.summary(), BLURB);
}

#[test]
fn a_note_above_and_a_marked_line_below() {
    let raw = format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: {SUBJECT}\r\nMessage-ID: <req@example.com>\r\n\r\n\
         Bob Martin <bob@x.com>\r\n\r\n---------- Forwarded message ---------\r\nFrom: {PRIYA}\r\nSubject: {SUBJECT}\r\nTo: carol@example.com\r\n\r\n\
         {BLURB}\r\n\r\nThanks!\r\nPriya\r\n\r\nFor Bob: Priya is the sharpest founder I've met this year.\r\n"
    );
    let o = run_request("note_above_and_below", &raw);
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    assert!(o.one_to("bob@x.com").text.contains("Priya is the sharpest founder I've met this year."));
    assert!(!o.one_to("priya@startup.io").text.contains("sharpest"), "marked for Bob only");
}

#[test]
fn marked_lines_and_private_asides() {
    let raw = gmail(
        "Bob Martin <bob@x.com>\r\nWhy: you built the partner programme Priya is trying to crack.\r\n\
         For Priya: Bob is slow to reply, be patient.\r\nHe honestly owes me a favour.",
        PRIYA,
        SUBJECT,
        BLURB,
    );
    let o = run_request("marked_and_private", &raw);
    let bob = &o.one_to("bob@x.com").text;
    assert!(bob.contains("you built the partner programme Priya is trying to crack."), "{bob}");
    assert!(!bob.contains("favour") && !bob.contains("slow to reply"), "{bob}");
    let priya = &o.one_to("priya@startup.io").text;
    assert!(priya.contains("Bob is slow to reply, be patient."), "{priya}");
    assert!(!priya.contains("favour") && !priya.contains("partner programme"), "{priya}");
}

#[test]
fn hi_bot_opener() {
    let raw = gmail("Hi bot,\r\nplease do your thing. Bob: bob@x.com\r\nThanks!\r\nCarol", PRIYA, SUBJECT, BLURB);
    let o = run_request("hi_bot", &raw);
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    assert!(!o.one_to("bob@x.com").text.contains("do your thing"));
}

#[test]
fn titles_are_not_first_names() {
    let subject = "Intro: Dr. Priya Shah <> Prof. Bob Martin";
    let raw = gmail("bob@x.com", "Dr. Priya Shah <priya@startup.io>", subject, BLURB);
    let o = run_request("titles", &raw);
    assert_eq!(o.person("requester").0, "Dr. Priya Shah");
    assert_target_note(&o, "bob@x.com", "Hi Bob,", "Priya Shah");
    assert_target_note(&o, "priya@startup.io", "Hi Priya,", "Bob Martin");
    assert!(!o.one_to("bob@x.com").text.contains("Dr.'s"), "{}", o.one_to("bob@x.com").text);
}

#[test]
fn a_requester_known_only_by_address() {
    let subject = "Intro: ps1987@startup.io <> Bob Martin";
    let raw = gmail("Bob: bob@x.com", "ps1987@startup.io", subject, "I build payments software for small banks.");
    let o = run_request("requester_only_address", &raw);
    assert_eq!(o.person("requester"), (String::new(), "ps1987@startup.io".into()));
    let priya = o.one_to("ps1987@startup.io");
    assert!(priya.text.starts_with("Hi there,\n"), "{}", priya.text);
    let bob = o.one_to("bob@x.com");
    assert!(!bob.subject.contains('@') && !bob.text.contains("ps1987"), "{}\n{}", bob.subject, bob.text);
}

#[test]
fn non_ascii_names() {
    let subject = "Intro: Zoë Müller <> Jürgen Groß";
    let raw = gmail("Jürgen: j.gross@bank.example", "Zoë Müller <zoe.mueller@startup.example>", subject, BLURB);
    let o = run_request("non_ascii", &raw);
    assert_eq!(o.person("target"), ("Jürgen Groß".into(), "j.gross@bank.example".into()));
    assert_target_note(&o, "j.gross@bank.example", "Hi Jürgen,", "Zoë Müller");
}

#[test]
fn cjk_names() {
    let subject = "Intro: 王伟 <> 佐藤健";
    let raw = gmail(
        "佐藤健 <sato@example.jp>",
        "王伟 <wang.wei@example.cn>",
        subject,
        "我在做跨境支付，想请教佐藤先生银行合作的经验。",
    );
    let o = run_request("cjk", &raw);
    assert_eq!(o.person("target"), ("佐藤健".into(), "sato@example.jp".into()));
    assert!(o.one_to("sato@example.jp").text.contains("跨境支付"));
}

#[test]
fn html_only_gmail_forward_with_a_list_and_a_link() {
    let html = "<div dir=\"ltr\"><div>Bob&#39;s email is <a href=\"mailto:bob@x.com\">bob@x.com</a></div><br><div class=\"gmail_quote gmail_quote_container\"><div dir=\"ltr\" class=\"gmail_attr\">---------- Forwarded message ---------<br>From: <strong class=\"gmail_sendername\" dir=\"auto\">Priya Shah</strong> <span dir=\"auto\">&lt;<a href=\"mailto:priya@startup.io\">priya@startup.io</a>&gt;</span><br>Date: Mon, Nov 23, 2026 at 9:00 AM<br>Subject: Intro: Priya Shah &lt;&gt; Bob Martin<br>To: Carol Connor &lt;<a href=\"mailto:carol@example.com\">carol@example.com</a>&gt;<br></div><br><br><div dir=\"ltr\">Hi Carol,<div><br></div><div>I run Ledgerly, a payments API for small banks. What we&#39;d love Bob&#39;s view on:</div><ul><li>how banks pick fintech partners</li><li>what a pilot should prove</li></ul><div>Deck: <a href=\"https://ledgerly.example/deck\">our deck</a></div><div><br></div><div>Thanks,</div><div>Priya</div></div></div></div>";
    let o = run_request("html_gmail", &html_only(SUBJECT, html));
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    let s = o.summary();
    assert!(s.starts_with("I run Ledgerly"), "{s}");
    assert!(s.contains("how banks pick fintech partners\n") || s.contains("- how banks pick fintech partners"), "{s}");
    assert!(!s.contains("Thanks") && !s.contains("Hi Carol"), "{s}");
}

#[test]
fn html_only_outlook_forward() {
    let html = "<html><head><style>p {margin:0}</style></head><body><div dir=\"ltr\"><div>Bob Martin &lt;bob@x.com&gt;, worth a chat.</div></div>\n<div id=\"appendonsend\"></div><hr style=\"display:inline-block;width:98%\" tabindex=\"-1\">\n<div id=\"divRplyFwdMsg\" dir=\"ltr\"><font face=\"Calibri, sans-serif\" style=\"font-size:11pt\" color=\"#000000\"><b>From:</b> Priya Shah &lt;priya@startup.io&gt;<br><b>Sent:</b> Monday, November 23, 2026 9:00 AM<br><b>To:</b> Carol Connor &lt;carol@example.com&gt;<br><b>Subject:</b> Intro: Priya Shah &lt;&gt; Bob Martin</font><div>&nbsp;</div></div>\n<div><div>Hi Carol,</div><div><br></div><div>I run Ledgerly, a payments API for small banks, and I&#39;d love Bob&#39;s advice on bank partnerships.</div><div><br></div><div>Best regards,</div><div>Priya Shah</div><div>CEO | Ledgerly</div></div></body></html>";
    let o = run_request("html_outlook", &html_only(SUBJECT, html));
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    assert_eq!(
        o.summary(),
        "I run Ledgerly, a payments API for small banks, and I'd love Bob's advice on bank partnerships."
    );
}

#[test]
fn html_only_apple_mail_forward() {
    let html = "<html><head><meta http-equiv=\"content-type\" content=\"text/html; charset=utf-8\"></head><body style=\"overflow-wrap: break-word;\"><div>For Bob: she's the real deal.</div><div>bob@x.com</div><div><br><blockquote type=\"cite\"><div>Begin forwarded message:</div><br class=\"Apple-interchange-newline\"><div style=\"margin: 0px;\"><span><b>From: </b></span><span>Priya Shah &lt;<a href=\"mailto:priya@startup.io\">priya@startup.io</a>&gt;<br></span></div><div style=\"margin: 0px;\"><span><b>Subject: </b></span><span><b>Intro: Priya Shah &lt;&gt; Bob Martin</b><br></span></div><div style=\"margin: 0px;\"><span><b>Date: </b></span><span>23 November 2026 at 09:00:00 GMT<br></span></div><div style=\"margin: 0px;\"><span><b>To: </b></span><span>Carol Connor &lt;<a href=\"mailto:carol@example.com\">carol@example.com</a>&gt;<br></span></div><br><div><div>Hey Carol!</div><div><br></div><div>I run Ledgerly, a payments API for small banks, and I&#39;d love Bob&#39;s advice on bank partnerships.</div><div><br></div><div>Cheers,</div><div>Priya</div></div></blockquote></div></body></html>";
    let o = run_request("html_apple", &html_only(SUBJECT, html));
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    assert_eq!(
        o.summary(),
        "I run Ledgerly, a payments API for small banks, and I'd love Bob's advice on bank partnerships."
    );
    assert!(o.one_to("bob@x.com").text.contains("she's the real deal."));
}

#[test]
fn a_thousand_word_blurb() {
    let paragraph = "Ledgerly helps small banks offer modern payments without rebuilding their core systems, and we have spent two years learning how partnerships between banks and fintechs actually get made. ";
    let long = paragraph.repeat(34);
    let raw = gmail("Bob: bob@x.com", PRIYA, SUBJECT, &format!("{long}\r\n\r\nThanks,\r\nPriya"));
    let o = run_request("thousand_words", &raw);
    let words = o.summary().split_whitespace().count();
    assert!(words > 900, "kept whole: {words} words");
    let bob = o.one_to("bob@x.com");
    assert_eq!(bob.text.matches("Ledgerly helps small banks").count(), 34, "quoted once, not twice");
}

#[test]
fn chatter_and_a_signature() {
    let raw = gmail("bob@x.com", PRIYA, SUBJECT, CHATTY_BLURB);
    let o = run_request("chatter_and_signature", &raw);
    assert_eq!(o.summary(), BLURB);
    let bob = &o.one_to("bob@x.com").text;
    for gone in ["Thanks so much for offering", "blurb you can forward", "Hi Carol", "+1 415", "CEO, Ledgerly"] {
        assert!(!bob.contains(gone), "{gone:?} in:\n{bob}");
    }
}

#[test]
fn outlook_plain_forward_with_the_target_in_cc() {
    let raw = format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: FW: {SUBJECT}\r\nMessage-ID: <req@example.com>\r\n\r\n\
         See below.\r\n\r\n-----Original Message-----\r\nFrom: {PRIYA}\r\nSent: Monday, November 23, 2026 9:00 AM\r\n\
         To: Carol Connor <carol@example.com>\r\nCc: Bob Martin <bob@x.com>\r\nSubject: {SUBJECT}\r\n\r\n{BLURB}\r\n"
    );
    let o = run_request("outlook_cc", &raw);
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    assert!(o.read["guesses"].to_string().contains("address_from_mail"), "{}", o.read["guesses"]);
}

#[test]
fn forwarded_as_an_attachment() {
    let raw = format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: {SUBJECT}\r\nMessage-ID: <req@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
         You can reach Bob at bob@x.com\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: {PRIYA}\r\nTo: carol@example.com\r\n\
         Subject: {SUBJECT}\r\n\r\nDear Carol,\r\n\r\n{BLURB}\r\n\r\nWarm regards,\r\nPriya\r\n--b--\r\n"
    );
    let o = run_request("attachment", &raw);
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    assert_eq!(o.summary(), BLURB);
}

#[test]
fn a_forward_of_a_forward() {
    let raw = format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: Fwd: {SUBJECT}\r\nMessage-ID: <req@example.com>\r\n\r\n\
         Bob: bob@x.com\r\n\r\n---------- Forwarded message ---------\r\nFrom: Dan Middle <dan@example.net>\r\nTo: carol@example.com\r\n\
         Subject: Fwd: {SUBJECT}\r\n\r\nPassing this on, Carol knows Bob.\r\n\r\n---------- Forwarded message ---------\r\n\
         From: {PRIYA}\r\nTo: dan@example.net\r\nSubject: {SUBJECT}\r\n\r\nHi Dan,\r\n\r\n{BLURB}\r\n"
    );
    let o = run_request("forward_of_forward", &raw);
    assert_eq!(o.person("requester"), ("Priya Shah".into(), "priya@startup.io".into()));
    assert_eq!(o.summary(), BLURB);
}

#[test]
fn a_fresh_email_naming_both() {
    let raw = format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: {SUBJECT}\r\nMessage-ID: <req@example.com>\r\n\r\n\
         Priya (priya@startup.io) would love to meet Bob (bob@x.com).\r\nFor Bob: Priya runs Ledgerly and wants your view on bank partnerships.\r\n"
    );
    let o = run_request("fresh_email", &raw);
    assert_eq!(o.person("requester"), ("Priya Shah".into(), "priya@startup.io".into()));
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    let bob = &o.one_to("bob@x.com").text;
    assert!(bob.contains("Priya runs Ledgerly and wants your view on bank partnerships."), "{bob}");
    assert!(!bob.contains("would love to meet Bob ("), "the rest of the note is private: {bob}");
    // Bob would read nothing in Priya's words: Carol sees that first.
    assert!(o.previewed);
    let preview = o.to("carol@example.com").into_iter().find(|e| e.subject.ends_with(PREVIEW)).expect("a preview");
    assert!(preview.text.contains("I found no summary in Priya's own words"), "{}", preview.text);
}

#[test]
fn the_target_from_the_contacts_file() {
    let raw = gmail("Would be great.", PRIYA, SUBJECT, BLURB);
    let o = run_request("contacts", &raw);
    // `inspect` reads no config, so only the daemon knows the contacts.
    assert_eq!(
        o.read["error"],
        "I couldn't find an address for Bob Martin. Add a line like \"Bob Martin <their@address>\" to your note and send it again."
    );
    assert_target_note(&o, "bob.martin@bank.example", "Hi Bob,", "Priya Shah");
}

#[test]
fn companies_in_the_subject() {
    let raw = gmail("bob@x.com", PRIYA, "Intro: Priya (Ledgerly) <> Bob (First Bank)", BLURB);
    let o = run_request("companies", &raw);
    assert_eq!(o.person("requester"), ("Priya Shah".into(), "priya@startup.io".into()), "completed by the header");
    assert_target_note(&o, "bob@x.com", "Hi Bob,", "Priya");
}

#[test]
fn a_german_blurb() {
    let raw = gmail(
        "Bob: bob@x.com",
        PRIYA,
        SUBJECT,
        "Hallo Carol,\r\n\r\nich baue Ledgerly, eine Zahlungs-API für kleine Banken, und würde Bob gern zu Bankpartnerschaften befragen.\r\n\r\nViele Grüße\r\nPriya",
    );
    let o = run_request("german", &raw);
    assert_eq!(
        o.summary(),
        "Ich baue Ledgerly, eine Zahlungs-API für kleine Banken, und würde Bob gern zu Bankpartnerschaften befragen."
    );
}

#[test]
fn a_blurb_addressed_to_the_target_keeps_its_greeting() {
    let raw = gmail(
        "Bob: bob@x.com",
        PRIYA,
        SUBJECT,
        "Hi Bob,\r\n\r\nI run Ledgerly and would value your view on bank partnerships.\r\n\r\nPriya",
    );
    let o = run_request("blurb_to_target", &raw);
    assert_eq!(o.summary(), "Hi Bob,\n\nI run Ledgerly and would value your view on bank partnerships.");
}

#[test]
fn a_mobile_forward() {
    let raw = format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: {SUBJECT}\r\nMessage-ID: <req@example.com>\r\n\r\n\
         bob@x.com\r\n\r\nSent from my iPhone\r\n\r\nBegin forwarded message:\r\n\r\nFrom: {PRIYA}\r\nDate: 23 November 2026 at 09:00:00 GMT\r\n\
         To: Carol Connor <carol@example.com>\r\nSubject: {SUBJECT}\r\n\r\n{BLURB}\r\n\r\nSent from my iPhone\r\n"
    );
    let o = run_request("mobile", &raw);
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    assert_eq!(o.summary(), BLURB);
}

#[test]
fn quoted_history_under_the_blurb() {
    let raw = gmail(
        "Bob: bob@x.com",
        PRIYA,
        SUBJECT,
        &format!(
            "{BLURB}\r\n\r\nOn Sun, 22 Nov 2026 at 18:00, Carol Connor <carol@example.com> wrote:\r\n> Send me a short blurb and I'll ask Bob.\r\n"
        ),
    );
    let o = run_request("quoted_history", &raw);
    assert_eq!(o.summary(), BLURB);
    assert!(!o.one_to("bob@x.com").text.contains("I'll ask Bob"));
}

#[test]
fn two_unnamed_addresses_are_a_question_for_the_connector() {
    let raw = gmail("bm@bank.example or maybe b2@bank.example?", PRIYA, SUBJECT, BLURB);
    let o = run_request("two_addresses", &raw);
    assert_eq!(o.emails.len(), 1, "only the connector hears: {:#?}", o.emails);
    let note = o.one_to("carol@example.com");
    assert!(note.text.contains("bm@bank.example, b2@bank.example"), "{}", note.text);
}

#[test]
fn a_long_link_in_the_blurb() {
    let link = "https://docs.example.com/presentation/d/1aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefghijk/edit?usp=sharing&ouid=1234567890";
    let raw =
        gmail("Bob: bob@x.com", PRIYA, SUBJECT, &format!("{BLURB}\r\n\r\nOur deck: {link}\r\n\r\nBest,\r\nPriya"));
    let o = run_request("long_link", &raw);
    assert!(o.summary().ends_with(&format!("Our deck: {link}")), "{}", o.summary());
    let bob = o.one_to("bob@x.com");
    assert!(bob.html.contains(&format!("<a href=\"{}\">", link.replace('&', "&amp;"))), "a link: {}", bob.html);
    assert!(bob.html.contains("overflow-wrap:anywhere"), "and it wraps on a phone");
}

/// Regression: a `For Bob:` line long enough to look hard-wrapped ran on
/// over the private aside under it, and Bob read "Between us, …".
#[test]
fn a_marked_line_ends_where_its_sentence_ends() {
    let raw = gmail(
        "Bob: bob@x.com\r\nFor Bob: you built the partner programme she's trying to crack.\r\n\
         Between us, she can be a bit pushy - keep it short if you can.",
        PRIYA,
        SUBJECT,
        BLURB,
    );
    let o = run_request("marked_then_aside", &raw);
    let bob = &o.one_to("bob@x.com").text;
    assert!(bob.contains("> you built the partner programme she's trying to crack."), "{bob}");
    assert!(!bob.contains("pushy") && !bob.contains("Between us"), "{bob}");
    let carol = &o.one_to("carol@example.com").text;
    assert!(carol.contains("Bob will see this line of your note") && !carol.contains("> Between us"), "{carol}");
}

/// Connectors mark lines in their own language.
#[test]
fn markers_in_german_and_spanish() {
    let raw = "From: Connie Weber <connie@example.com>\r\nTo: intros@example.com\r\nSubject: WG: Intro: Priya Shah <> Jürgen Groß\r\n\
        Message-ID: <req@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
        Hallo,\r\nbitte stell Priya und Jürgen einander vor. Jürgens Adresse ist juergen.gross@firma.example.\r\n\
        Für Jürgen: du kennst den Bankenmarkt wie kein anderer.\r\nUnter uns: er antwortet oft spät.\r\n\r\nDanke!\r\nConnie\r\n\r\n\
        -----Ursprüngliche Nachricht-----\r\nVon: Priya Shah <priya@startup.io>\r\nGesendet: Montag, 30. November 2026 08:12\r\n\
        An: Connie Weber <connie@example.com>\r\nBetreff: Intro: Priya Shah <> Jürgen Groß\r\n\r\n\
        Hi Connie,\r\n\r\nI run Ledgerly and would love 20 minutes of Jürgen's time on the German banking market.\r\n\r\nThanks,\r\nPriya\r\n";
    let o = run_request("marker_german", raw);
    assert_eq!(o.person("target"), ("Jürgen Groß".into(), "juergen.gross@firma.example".into()));
    let juergen = &o.one_to("juergen.gross@firma.example").text;
    assert!(juergen.contains("> du kennst den Bankenmarkt wie kein anderer."), "{juergen}");
    assert!(!juergen.contains("spät"), "the rest of the note is private: {juergen}");

    let raw = "From: Connie Weber <connie@example.com>\r\nTo: intros@example.com\r\nSubject: RV: Intro: Lucía Fernández <> Javier Ruiz\r\n\
        Message-ID: <req@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
        Hola,\r\nte reenvío lo de Lucía. El correo de Javier es javier.ruiz@ejemplo.example.\r\n\
        Para Javier: tú montaste las alianzas con bancos en BBVA.\r\n\r\nGracias,\r\nConnie\r\n\r\n\
        ________________________________\r\nDe: Lucía Fernández <lucia@startup.example>\r\nEnviado: lunes, 30 de noviembre de 2026 8:12\r\n\
        Para: Connie Weber <connie@example.com>\r\nAsunto: Intro: Lucía Fernández <> Javier Ruiz\r\n\r\n\
        Hola Connie,\r\n\r\nSoy cofundadora de Cuadra, software de conciliación para bancos medianos.\r\n\r\nUn abrazo,\r\nLucía\r\n";
    let o = run_request("marker_spanish", raw);
    assert_eq!(o.summary(), "Soy cofundadora de Cuadra, software de conciliación para bancos medianos.");
    let javier = &o.one_to("javier.ruiz@ejemplo.example").text;
    assert!(javier.contains("> tú montaste las alianzas con bancos en BBVA."), "{javier}");
    assert!(!javier.contains("abrazo") && !javier.contains("te reenvío"), "{javier}");
}

/// Regression: what the connector wrote under the forward, after the
/// requester's bare name and a rule, reached Bob as part of the blurb
/// ("he still owes me lunch, ha").
#[test]
fn a_note_under_the_forward_after_a_rule() {
    let raw = format!(
        "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: {SUBJECT}\r\nMessage-ID: <req@example.com>\r\n\r\n\
         ---------- Forwarded message ---------\r\nFrom: {PRIYA}\r\nSubject: {SUBJECT}\r\nTo: carol@example.com\r\n\r\n{BLURB}\r\n\r\nPriya\r\n\r\n\
         ---\r\n\r\nBob's email is bob@x.com - tell him I said hi. Also he still owes me\r\nlunch, ha.\r\n"
    );
    let o = run_request("note_under_a_rule", &raw);
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob@x.com".into()));
    assert_eq!(o.summary(), BLURB);
    assert!(o.previewed, "the cut is shown to Carol first");
    let bob = &o.one_to("bob@x.com").text;
    assert!(!bob.contains("lunch") && !bob.contains("said hi"), "{bob}");
}

/// The blurb as a reply buried under the thread that asked for it, with
/// chatter ("Sure, here you go:") and an initial for a signature.
#[test]
fn a_blurb_under_its_thread_with_chatter_and_an_initial() {
    let original = "Sure, here you go:\r\n\r\nLedgerly builds reconciliation software for mid-sized banks. I'd love to\r\n\
        ask Bob how he set up Northbank's partner programme.\r\n\r\nP.\r\n\r\n\
        On Sun, Nov 29, 2026 at 6:40 PM Carol Connor <carol@example.com> wrote:\r\n\
        > Happy to connect you with Bob! Can you send me a short blurb I can\r\n> forward?\r\n";
    let o = run_request("buried_blurb", &gmail("Bob: bob@x.com", PRIYA, SUBJECT, original));
    assert_eq!(
        o.summary(),
        "Ledgerly builds reconciliation software for mid-sized banks. I'd love to\nask Bob how he set up Northbank's partner programme."
    );
    let bob = &o.one_to("bob@x.com").text;
    assert!(!bob.contains("here you go") && !bob.contains("> P.") && !bob.contains("Happy to connect"), "{bob}");
}

/// A requester who signs with a nickname and opens with the connector's
/// name: "Carol - thank you! Blurb below." … "Cheers, Sasha".
#[test]
fn a_nickname_and_thanks_to_the_connector() {
    let original = "Carol - thank you! Blurb below.\r\n\r\nI'm an engineer at a payments startup thinking about moving into\r\n\
        partnerships; I'd love Bob's honest take.\r\n\r\nCheers,\r\nSasha\r\n";
    let raw = gmail(
        "You can reach Bob at bob@x.com.",
        "Alexander Petrov <apetrov@fast.example>",
        "Intro: Alexander Petrov <> Bob Martin",
        original,
    );
    let o = run_request("nickname", &raw);
    assert_eq!(
        o.summary(),
        "I'm an engineer at a payments startup thinking about moving into\npartnerships; I'd love Bob's honest take."
    );
    assert_target_note(&o, "bob@x.com", "Hi Bob,", "Alexander Petrov");
    assert!(o.one_to("bob@x.com").text.contains("In Alexander's words:"));
}

/// A one-line note from a phone, and a blurb signed with kisses.
#[test]
fn a_phone_note_and_kisses() {
    let raw = "From: Carol Connor <carol@example.com>\r\nTo: intros@example.com\r\nSubject: Fwd: Intro: Priya Shah <> Bob Martin\r\n\
        Message-ID: <req@example.com>\r\n\r\npls intro priya to bob - bob.martin@mail.example thx\r\n\r\nSent from my iPhone\r\n\r\n\
        Begin forwarded message:\r\n\r\n> From: Priya Shah <priya@startup.io>\r\n> Date: 30 November 2026 at 08:12:44 CET\r\n\
        > To: Carol Connor <carol@example.com>\r\n> Subject: Intro: Priya Shah <> Bob Martin\r\n>\r\n> Hi Carol! As promised:\r\n>\r\n\
        > Priya runs Ledgerly, reconciliation software for mid-sized banks.\r\n>\r\n> xx P\r\n";
    let o = run_request("phone_and_kisses", raw);
    assert_eq!(o.person("target"), ("Bob Martin".into(), "bob.martin@mail.example".into()));
    assert_eq!(o.summary(), "Priya runs Ledgerly, reconciliation software for mid-sized banks.");
}
