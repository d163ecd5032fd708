//! A red team's second pass over the bot in local mode (after issue 10's
//! defences landed): each test plays one attacker and asserts what happened
//! and what did not. Tests named after an attack the bot already resisted
//! are regression guards; the others failed on `main` before their fix.

use super::attacks::{LocalBot, Sent, message_id_of, reply, request, started};
use super::*;

/// Mail sent since `before`, as (to, subject).
fn new_mail(bot: &LocalBot, before: usize) -> Vec<(String, String)> {
    bot.sent().into_iter().skip(before).map(|m| (m.to, m.subject)).collect()
}

/// The suppression list, one canonical address per entry.
fn suppressed(bot: &LocalBot) -> Vec<String> {
    let out = run(&["suppress", "list", "--config", "introbot.toml"], bot.path());
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().filter_map(|l| l.split('\t').next()).map(str::to_owned).collect()
}

/// Forged held reply: the requester knows the Message-ID of her own consent
/// note. Threaded under it with the target's From ("Please never contact
/// me again"), it was held as the target's reply, and the note to the
/// connector said it "answered my note to Bob". The connector, answering
/// "yes" to the separate note about Bob's own unclear reply (meaning: take
/// it as a yes), then made the forgery Bob's answer: Bob was put on the
/// suppression list and the intro declined. Now a thread counts for a party
/// only through mail the bot sent to that party: the forgery is filed,
/// nobody hears of it, and the connector's yes decides Bob's own reply.
#[test]
fn a_requester_cannot_answer_for_the_target_through_her_own_thread() {
    let (mut bot, id) = started("");
    let alice_note = message_id_of(&bot, "alice@a.example");
    let bob = bot.reply_address_of("bob@b.example");
    bot.deliver(reply("Bob Busy <bob@b.example>", &bob, "b1@b.example", "", "Who is Alice, and why me?"));
    bot.run_once();
    assert_eq!(bot.show(&id)["target"]["state"], "unclear");
    let unclear_note = message_id_of(&bot, "carol@conn.example");
    let before = bot.sent().len();
    let thread = format!("In-Reply-To: <{alice_note}>\r\nReferences: <{alice_note}>\r\n");
    bot.deliver(reply(
        "Bob Busy <bob@b.example>",
        "intros@bot.example",
        "forged-stop@a.example",
        &thread,
        "Please never contact me again.",
    ));
    bot.run_once();
    assert_eq!(new_mail(&bot, before), [], "the forgery is not passed on");
    assert_eq!(bot.filed("ignored"), 1);
    assert_eq!(bot.show(&id)["target"]["state"], "unclear", "Bob's own reply stands");

    // The connector answers the unclear-reply note: "yes" for Bob.
    let carol = bot.reply_address_of("carol@conn.example");
    let answer = format!("In-Reply-To: <{unclear_note}>\r\n");
    bot.deliver(reply("Carol Connor <carol@conn.example>", &carol, "c1@conn.example", &answer, "Yes"));
    bot.run_once();
    let intro = bot.show(&id);
    assert_eq!(intro["target"]["state"], "yes", "{intro}");
    assert_eq!(intro["state"], "awaiting_consent");
    assert!(suppressed(&bot).is_empty(), "Bob suppressed by a forgery: {:?}", suppressed(&bot));

    // Bob's own reply without his token, in the thread of his own note, is
    // still held for the connector as before.
    let bob_note = message_id_of(&bot, "bob@b.example");
    let before = bot.sent().len();
    let thread = format!("In-Reply-To: <{bob_note}>\r\n");
    bot.deliver(reply("bob@b.example", "intros@bot.example", "b2@b.example", &thread, "Sorry, no."));
    bot.run_once();
    let new = new_mail(&bot, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(new[0].0 == "carol@conn.example" && new[0].1.contains("can't vouch for"), "{new:?}");
}

/// Flood through one's own token: every unclear reply was passed on to the
/// connector, so a requester writing "hmm?" a hundred times through her own
/// reply address sent the connector a hundred notes. Now at most
/// `held_replies_per_intro` unclear notes per intro; later unclear replies
/// are filed, and a clear answer still counts.
#[test]
fn a_party_repeating_unclear_replies_reaches_the_connector_a_limited_number_of_times() {
    let (mut bot, id) = started("");
    let alice = bot.reply_address_of("alice@a.example");
    for n in 0..10 {
        bot.deliver(reply("alice@a.example", &alice, &format!("a{n}@a.example"), "", &format!("Hmm, what about {n}?")));
    }
    bot.run_once();
    let to_carol: Vec<Sent> = bot.sent().into_iter().filter(|m| m.to == "carol@conn.example").collect();
    assert_eq!(
        to_carol.len(),
        4,
        "the acknowledgement and three unclear notes: {:?}",
        to_carol.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert_eq!(bot.filed("ignored"), 7);
    assert_eq!(bot.show(&id)["requester"]["state"], "unclear");
    bot.deliver(reply("alice@a.example", &alice, "a-yes@a.example", "", "Yes, happy to."));
    bot.run_once();
    assert_eq!(bot.show(&id)["requester"]["state"], "yes");
}

/// Flood by alternating: the cap above counted only unclear replies from a
/// party already unclear, so a requester answering "yes", then "hmm?", then
/// "yes" again sent the connector a note for every "hmm?". Now the cap
/// counts every unclear note of the intro; past it an unclear reply after a
/// yes still sets the yes aside (it may be a retraction), silently.
#[test]
fn a_party_alternating_yes_and_unclear_reaches_the_connector_a_limited_number_of_times() {
    let (mut bot, id) = started("");
    let alice = bot.reply_address_of("alice@a.example");
    for n in 0..6 {
        bot.deliver(reply("alice@a.example", &alice, &format!("y{n}@a.example"), "", "Yes, happy to."));
        bot.run_once();
        assert_eq!(bot.show(&id)["requester"]["state"], "yes", "round {n}");
        bot.deliver(reply(
            "alice@a.example",
            &alice,
            &format!("u{n}@a.example"),
            "",
            &format!("Hmm, wait, what about {n}?"),
        ));
        bot.run_once();
        assert_eq!(bot.show(&id)["requester"]["state"], "unclear", "round {n}: the yes is in doubt");
    }
    let to_carol: Vec<Sent> = bot.sent().into_iter().filter(|m| m.to == "carol@conn.example").collect();
    assert_eq!(
        to_carol.len(),
        4,
        "the acknowledgement and three unclear notes: {:?}",
        to_carol.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    // Bob's own first unclear reply still reaches Carol: the cap is Alice's.
    let bob = bot.reply_address_of("bob@b.example");
    bot.deliver(reply("bob@b.example", &bob, "b-hmm@b.example", "", "Hmm, who is Alice?"));
    bot.run_once();
    assert_eq!(bot.sent().into_iter().filter(|m| m.to == "carol@conn.example").count(), 5, "Bob's unclear note");
    // Bob's yes now introduces nobody: Alice's last word was unclear.
    bot.deliver(reply("bob@b.example", &bob, "b-yes@b.example", "", "Yes, happy to."));
    bot.run_once();
    assert_eq!(bot.show(&id)["state"], "awaiting_consent");
}

/// Loop: a connector's auto-responder that ignores `Auto-Submitted` and
/// answers the envelope sender with a fresh subject and no thread ("Ticket
/// 7 received") looked like new mail each time: each answer got a "that's
/// not a request" note, which it answered again, for ever. Now mail that is
/// no request gets at most one note an hour per address; a real request
/// with a problem is still answered.
#[test]
fn an_unthreaded_auto_responder_cannot_loop_with_the_bot() {
    let mut bot = LocalBot::new("");
    let ticket = |n: usize| {
        format!(
            "From: Carol Connor <carol@conn.example>\r\nTo: intros@bot.example\r\nSubject: Ticket {n} received\r\n\
             Message-ID: <ticket-{n}@conn.example>\r\n\r\nThank you for contacting us. Your ticket {n} was received.\r\n"
        )
    };
    for round in 0..5 {
        bot.deliver(ticket(round));
        bot.run_once();
    }
    assert_eq!(bot.sent().len(), 1, "{:?}", bot.sent().iter().map(|m| &m.subject).collect::<Vec<_>>());
    assert_eq!(bot.filed("ignored"), 4);
    // A request the bot cannot use is still explained, in the same hour.
    bot.deliver(request("bad@conn.example").replace("Bob Busy <bob@b.example> is great.", "Bob is great."));
    bot.run_once();
    let sent = bot.sent();
    assert_eq!(sent.len(), 2);
    assert!(sent[1].text.contains("address for Bob"), "{}", sent[1].text);
}

/// Forged connector without `[security]`: anyone can put a connector's
/// address (or any address at an allowed domain) in `From` and ask for
/// `help`. Each such mail was answered, so the bot mailed the connector as
/// often as a stranger liked (intros are capped by `[limits]`; notes outside
/// an intro were not). Now `notes_per_connector_per_day` (30) caps them;
/// later ones are filed, and a real request still starts its intro.
#[test]
fn forged_help_requests_get_a_limited_number_of_notes() {
    let mut bot = LocalBot::new("");
    for n in 0..40 {
        bot.deliver(format!(
            "From: Carol <carol@conn.example>\r\nTo: intros@bot.example\r\nSubject: help\r\nMessage-ID: <h{n}@evil.example>\r\n\r\nhelp\r\n"
        ));
    }
    bot.run_once();
    let notes = bot.mail_counts().get("carol@conn.example").copied().unwrap_or_default();
    assert_eq!(notes, 30, "notes to the connector");
    assert_eq!(bot.filed("ignored"), 10);
    bot.deliver(request("real@conn.example"));
    bot.run_once();
    assert_eq!(bot.intros().len(), 1, "a real request still starts its intro");
    assert!(bot.mail_counts().contains_key("bob@b.example"), "and Bob is asked");
}

/// Replay: Bob said yes, then no (honoured: a no after a yes counts while
/// the intro is open). His old yes delivered again (the same message) or
/// resent (a new Message-ID) changes nothing; the resend is a late answer,
/// told to the connector alone. Resisted on `main`.
#[test]
fn an_old_yes_replayed_after_a_no_changes_nothing() {
    let (mut bot, id) = started("");
    let bob = bot.reply_address_of("bob@b.example");
    let yes = reply("bob@b.example", &bob, "b-yes@b.example", "", "Yes, happy to meet Alice.");
    bot.deliver(&yes);
    bot.deliver(reply("bob@b.example", &bob, "b-no@b.example", "", "No, sorry."));
    bot.run_once();
    assert_eq!(bot.show(&id)["state"], "declined");
    let before = bot.sent().len();
    bot.deliver(&yes);
    bot.deliver(yes.replace("b-yes@b.example", "b-yes-again@b.example"));
    bot.run_once();
    let intro = bot.show(&id);
    assert_eq!((intro["state"].as_str(), intro["target"]["state"].as_str()), (Some("declined"), Some("no")));
    let new = new_mail(&bot, before);
    assert!(new.len() <= 1 && new.iter().all(|(to, _)| to == "carol@conn.example"), "{new:?}");
    assert!(!bot.sent().iter().any(|m| m.to.contains(", ")), "an introduction went out");
}

/// A yes withdrawn in words the bot cannot read: Bob says yes, then "Sorry,
/// on second thought no." (unclear: hedged). An unclear reply after a yes
/// changed nothing and was shown to nobody, so Alice's yes then introduced
/// them: Bob's retraction was lost. Now it makes Bob unclear again: the
/// connector reads his words (told he had said yes first) and the
/// introduction waits for their answer.
#[test]
fn an_unclear_retraction_after_a_yes_reaches_the_connector_before_anyone_is_introduced() {
    let (mut bot, id) = started("");
    let (alice, bob) = (bot.reply_address_of("alice@a.example"), bot.reply_address_of("bob@b.example"));
    bot.deliver(reply("bob@b.example", &bob, "b-yes@b.example", "", "Yes, happy to meet Alice."));
    bot.deliver(reply("bob@b.example", &bob, "b-back@b.example", "", "Sorry, on second thought no."));
    bot.deliver(reply("alice@a.example", &alice, "a-yes@a.example", "", "Yes!"));
    bot.run_once();
    let intro = bot.show(&id);
    assert_eq!(
        (intro["state"].as_str(), intro["target"]["state"].as_str()),
        (Some("awaiting_consent"), Some("unclear"))
    );
    assert!(!bot.sent().iter().any(|m| m.to.contains(", ")), "an introduction went out");
    let note = bot.sent().into_iter().find(|m| m.to == "carol@conn.example" && m.text.contains("on second thought"));
    let note = note.expect("the connector never saw Bob's words");
    assert!(note.text.contains("had said yes, then wrote this"), "{}", note.text);
    // A clear no after a yes stays a no.
    let (mut bot, id) = started("");
    let bob = bot.reply_address_of("bob@b.example");
    bot.deliver(reply("bob@b.example", &bob, "b-yes@b.example", "", "Yes, happy to meet Alice."));
    bot.deliver(reply("bob@b.example", &bob, "b-no@b.example", "", "No, sorry."));
    bot.run_once();
    assert_eq!(bot.show(&id)["target"]["state"], "no");
}

/// Bob's own reply is unclear and another reply through his address, from
/// another sender, is held: two notes to the connector, one reply address.
/// (The connector's reply address, and so the bot's intro, is the same for
/// both.)
fn unclear_and_held_for_bob() -> (LocalBot, String, String, String) {
    let (mut bot, id) = started("");
    let bob = bot.reply_address_of("bob@b.example");
    bot.deliver(reply("Bob Busy <bob@b.example>", &bob, "b1@b.example", "", "Who is Alice, and why me?"));
    bot.run_once();
    let unclear_note = message_id_of(&bot, "carol@conn.example");
    bot.deliver(reply("bob.busy@home.example", &bob, "h1@home.example", "", "No, thanks."));
    bot.run_once();
    let held_note = message_id_of(&bot, "carol@conn.example");
    assert_ne!(unclear_note, held_note);
    let intro = bot.show(&id);
    assert_eq!(intro["target"]["state"], "unclear", "{intro}");
    (bot, id, unclear_note, held_note)
}

/// The connector's "yes" to the intro's reply address for them (the one
/// the notes about Bob carry), in the thread of `note`.
fn connector_yes(bot: &mut LocalBot, id: &str, note: Option<&str>) {
    let carol = bot.sent().into_iter().find(|m| m.to == "carol@conn.example").expect("acknowledged").reply_to;
    let thread =
        note.map_or(String::new(), |n| format!("In-Reply-To: <{n}>\r\nReferences: <req-1@conn.example> <{n}>\r\n"));
    bot.deliver(reply("Carol Connor <carol@conn.example>", &carol, id, &thread, "Yes"));
    bot.run_once();
}

/// Which note a connector's "yes" answers: with Bob's unclear reply and a
/// held one both waiting, a "yes" to the note about Bob's own words was
/// taken as vouching for the held reply ("No, thanks." from another
/// address), and the intro was declined on words nobody confirmed. Now the
/// note it answers (`In-Reply-To`, `References`) says which.
#[test]
fn a_connectors_yes_counts_for_the_note_it_answers() {
    let (mut bot, id, unclear_note, _) = unclear_and_held_for_bob();
    connector_yes(&mut bot, "c1@conn.example", Some(&unclear_note));
    let intro = bot.show(&id);
    assert_eq!((intro["state"].as_str(), intro["target"]["state"].as_str()), (Some("awaiting_consent"), Some("yes")));
    let last = intro["timeline"].as_array().and_then(|t| t.last()).map(|t| t["what"].clone());
    assert_eq!(last, Some("target connector decided: yes".into()), "{intro}");

    let (mut bot, id, _, held_note) = unclear_and_held_for_bob();
    connector_yes(&mut bot, "c1@conn.example", Some(&held_note));
    let intro = bot.show(&id);
    assert_eq!((intro["state"].as_str(), intro["target"]["state"].as_str()), (Some("declined"), Some("no")));
}

/// The same, when the "yes" answers neither note (a fresh email to the
/// connector's reply address): nothing is guessed; the connector is asked
/// which, and nothing changes.
#[test]
fn a_connectors_yes_that_answers_no_note_is_asked_about_not_guessed() {
    let (mut bot, id, _, held_note) = unclear_and_held_for_bob();
    let before = bot.sent().len();
    connector_yes(&mut bot, "c1@conn.example", None);
    let new: Vec<Sent> = bot.sent().into_iter().skip(before).collect();
    assert_eq!(new.len(), 1, "{:?}", new.iter().map(|m| &m.subject).collect::<Vec<_>>());
    assert!(
        new[0].to == "carol@conn.example" && new[0].text.contains("Two replies for Bob are waiting"),
        "{}",
        new[0].text
    );
    let intro = bot.show(&id);
    assert_eq!(
        (intro["state"].as_str(), intro["target"]["state"].as_str()),
        (Some("awaiting_consent"), Some("unclear"))
    );
    // The held reply still waits: answering its note decides it.
    connector_yes(&mut bot, "c2@conn.example", Some(&held_note));
    let intro = bot.show(&id);
    assert_eq!(intro["state"], "declined", "{intro}");
}

/// A message nested far deeper than any client writes (multipart in
/// multipart 20,000 times, message/rfc822 in message/rfc822 5,000 times, HTML
/// quotes 200,000 deep) neither crashes the bot (a stack overflow cannot be
/// caught and would stall the inbox for ever) nor holds up the next
/// message. Resisted on `main`.
#[test]
fn deeply_nested_mail_is_handled_and_the_inbox_moves_on() {
    let mut bot = LocalBot::new("");
    let head = |id: &str, content_type: &str| {
        format!(
            "From: Carol <carol@conn.example>\r\nTo: intros@bot.example\r\nSubject: Fwd: Intro: Alice <> Bob\r\n\
             Message-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
        )
    };
    let depth = 20_000;
    let mut multipart = head("deep-1@conn.example", "multipart/mixed; boundary=\"b0\"");
    for i in 0..depth {
        multipart.push_str(&format!("--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n", i + 1));
    }
    multipart.push_str(&format!("--b{depth}\r\nContent-Type: text/plain\r\n\r\nhi\r\n"));
    for i in (0..=depth).rev() {
        multipart.push_str(&format!("--b{i}--\r\n"));
    }
    let mut attached = "From: Alice <alice@a.example>\r\nSubject: Intro: Alice <> Bob\r\n\r\nhi\r\n".to_owned();
    for i in 0..5_000 {
        attached =
            format!("From: x{i}@x.example\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n{attached}");
    }
    let attached = format!("{}{attached}", head("deep-2@conn.example", "message/rfc822"));
    let html = format!(
        "{}{}hi{}",
        head("deep-3@conn.example", "text/html"),
        "<blockquote>".repeat(200_000),
        "</blockquote>".repeat(200_000)
    );
    for raw in [multipart, attached, html] {
        bot.deliver(raw);
    }
    bot.deliver(request("after@conn.example"));
    bot.run_once();
    assert_eq!(bot.waiting(), 0);
    assert_eq!(bot.filed("failed"), 0);
    assert_eq!(bot.intros().len(), 1, "the request after them started");
    assert!(bot.sent().iter().all(|m| m.to != "x0@x.example"), "nobody from inside the nesting is written to");
}

/// Consent through a forwarded copy: Bob forwards his consent note (with
/// its "reply yes" wording) to a colleague, copying his reply address. The
/// forwarded words are not his answer: unclear, passed to the connector,
/// nobody introduced. Resisted on `main`.
#[test]
fn a_forwarded_consent_note_is_not_a_yes() {
    let (mut bot, id) = started("");
    let bob = bot.reply_address_of("bob@b.example");
    let note = bot.sent().into_iter().find(|m| m.to == "bob@b.example").expect("Bob's note");
    let forward = format!(
        "From: Bob Busy <bob@b.example>\r\nTo: Dave <dave@b.example>\r\nCc: {bob}\r\nSubject: Fwd: {}\r\n\
         Message-ID: <fwd-1@b.example>\r\n\r\nDave, thoughts?\r\n\r\n---------- Forwarded message ---------\r\n\
         From: Intro Bot <intros@bot.example>\r\nSubject: {}\r\nTo: Bob Busy <bob@b.example>\r\n\r\n{}\r\n",
        note.subject,
        note.subject,
        note.text.replace('\n', "\r\n")
    );
    bot.deliver(forward);
    bot.run_once();
    assert_eq!(bot.show(&id)["target"]["state"], "unclear");
    assert!(!bot.mail_counts().contains_key("dave@b.example"));
}

/// Each person's mail carries their own reply token and nobody else's, all
/// the way to the introduction (which carries none): a party cannot answer
/// for the other or for the connector with a token read in their own mail.
/// Resisted on `main`.
#[test]
fn each_persons_mail_carries_only_their_own_token() {
    let (mut bot, id) = started("");
    let token = |who: &str| {
        let address = bot.reply_address_of(who);
        address.trim_start_matches("intros+").split('@').next().expect("a token").to_owned()
    };
    let tokens = [
        ("alice@a.example", token("alice@a.example")),
        ("bob@b.example", token("bob@b.example")),
        ("carol@conn.example", token("carol@conn.example")),
    ];
    let (alice, bob) = (bot.reply_address_of("alice@a.example"), bot.reply_address_of("bob@b.example"));
    bot.deliver(reply("alice@a.example", &alice, "a1@a.example", "", "Yes!"));
    bot.deliver(reply("bob@b.example", &bob, "b1@b.example", "", "Yes, gladly."));
    bot.run_once();
    assert_eq!(bot.show(&id)["state"], "introduced");
    for m in bot.sent() {
        for (owner, token) in &tokens {
            let theirs = m.to == *owner;
            assert!(theirs || !m.raw.contains(token.as_str()), "{owner}'s token in mail to {}: {}", m.to, m.subject);
        }
    }
}
