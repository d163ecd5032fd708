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
