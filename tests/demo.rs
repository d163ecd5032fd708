//! `introbot demo`, the README's "run it" command, checked by what it
//! prints and by the emails it leaves on disk.

use super::*;

#[test]
fn demo_runs_the_three_stories_and_leaves_the_emails_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo_dir = dir.path().join("demo");
    let out = run(&["demo", "--dir", demo_dir.to_str().expect("utf-8 path")], dir.path());
    let text = stdout(&out);
    assert!(out.status.success(), "demo failed: {}\n{text}", stderr(&out));

    // The story, as printed.
    for expected in [
        "requester replied: yes",
        "target followed up",
        "target replied: yes",
        "introduced",
        "target replied: no",
        "declined",
        "expired",
        "Subject: Would you like to meet Alice Able?",
        "If you're busy or it's not for you, no worries",
        "Subject: Alice Able <> Bob Busy",
        "target away until 2027-01-01",
        "1 message(s) ignored",
    ] {
        assert!(text.contains(expected), "demo output lacks {expected:?}:\n{text}");
    }
    let ending = text.split("How it ended").nth(1).expect("a summary");
    assert!(ending.contains("Alice Able <> Bob Busy") && ending.contains("introduced"), "{ending}");
    assert!(ending.contains("Dan Dev <> Erin Example") && ending.contains("declined"), "{ending}");
    assert!(ending.contains("Frank Founder <> Grace Hopper-Smith") && ending.contains("expired"), "{ending}");

    // The emails on disk: who got what.
    let emails = emails_in(&demo_dir.join("sent"));
    assert_eq!(text.matches("  ✉ to ").count(), emails.len(), "every sent email is printed");
    let to = |addr: &str| emails.iter().filter(|(_, to, _, _)| to.contains(addr)).count();
    assert_eq!(to("bob@example.org"), 3, "Bob: consent, follow-up, introduction");
    assert_eq!(to("alice@example.net"), 2, "Alice: consent, introduction");
    assert_eq!(to("erin@example.org"), 2, "Erin: consent, thank-you");
    assert_eq!(to("dan@example.net"), 2, "Dan: consent, nothing more needed");
    assert_eq!(to("grace@example.org"), 2, "Grace: consent and one follow-up, nothing after silence");
    assert_eq!(to("frank@example.net"), 2, "Frank: consent, nothing more needed");
    assert_eq!(to("carol@example.com"), 7, "Carol: an acknowledgement and an outcome per intro, one preview");
    assert_eq!(to("mallory"), 0, "no backscatter");
    let intro = emails.iter().find(|(_, _, s, _)| s == "Alice Able <> Bob Busy").expect("the introduction");
    assert!(intro.1.contains("alice@example.net") && intro.1.contains("bob@example.org"));

    // The store is left for `list`.
    let config = demo_dir.join("introbot.toml");
    let list = run(&["list", "--json", "--config", config.to_str().expect("utf-8")], dir.path());
    assert!(list.status.success(), "{}", stderr(&list));
    let states: Vec<String> = stdout(&list)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["state"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(states, ["introduced", "declined", "expired"]);
}
